"""Child process of tests/test_index_backup_crash.py: a backup or restore to be killed.

Usage: ``python -m tests.backup_copy_child VERB SRC DEST`` (VERB ``backup`` or
``restore``). It opens SRC, prints ``ready``, waits for a line on stdin, then copies SRC to
DEST and prints ``done``; the parent kills it somewhere in between.
"""

from __future__ import annotations

import sys

from semsearch import Collection, restore_collection


def main() -> None:
    verb, src, dest = sys.argv[1:4]
    coll = Collection.open(src, None, read_only=True) if verb == "backup" else None
    print("ready", flush=True)
    sys.stdin.readline()
    if coll is not None:
        coll.backup(dest)
    else:
        restore_collection(src, dest)
    print("done", flush=True)


if __name__ == "__main__":
    main()
