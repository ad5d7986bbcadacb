"""Child process: ``semsearch ARGS`` under a file size limit, so writes fail as on a full disk.

Usage: ``python -m tests.cli_size_limited_child ARGS...`` (tests/test_index_backup_crash.py).
"""

from __future__ import annotations

import resource
import signal
import sys

from semsearch.service.cli import main

LIMIT_BYTES = 200_000

if __name__ == "__main__":
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, resource.RLIM_INFINITY))
    sys.exit(main(sys.argv[1:]))
