"""Child of tests/test_index_backup_crash.py: a backup or restore to be killed.

:func:`copy_on_go` opens SRC, says ready, waits for "go", copies SRC to DEST (``backup``
or ``restore``) and says "done"; the parent kills it somewhere in between.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

from semsearch import Collection, restore_collection
from tests.helpers.processes import READY

GO = "go"
DONE = "done"


def copy_on_go(verb: str, src: str, dest: str, parent: Connection) -> None:
    """Back ``src`` up (or restore it) to ``dest`` once the parent says go."""
    coll = Collection.open(src, None, read_only=True) if verb == "backup" else None
    parent.send(READY)
    assert parent.recv() == GO
    if coll is not None:
        coll.backup(dest)
    else:
        restore_collection(src, dest)
    parent.send(DONE)
