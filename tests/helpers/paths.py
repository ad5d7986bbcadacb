"""Where tests find the repository, the shared data folder, the sample page and Chromium."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SEED = REPO / "data" / "samples" / "zhengzhou-evening-news-2023-04-20.txt"

ARTIFACTS = REPO / "artifacts"
# Debian's Chromium (browser downloads do not work here); flags keep it off the network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def shared_path(*parts: str) -> Path:
    """Path under ../shared, skipping the calling test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


# Temporary files of a test run (tmp_path, tempfile, child processes, Ray's session): a
# RAM-backed folder when there is one. Collections fsync on every commit; on this 2-core
# machine's disk that was most of the fast tests' time (a property-test example: 0.98 s on
# disk, 0.15 s in /dev/shm). A killed process loses nothing the kernel holds either way, so
# no test's claim depends on the disk. SEMSEARCH_TEST_TMPDIR chooses another folder (a
# disk, to run the suite as it used to).
TEST_TMPDIR_VARIABLE = "SEMSEARCH_TEST_TMPDIR"
RAM_TMPDIR = Path("/dev/shm")


def test_tmpdir(environ: Mapping[str, str]) -> Path | None:
    """The folder temporary files of a test run go in; None keeps the system default."""
    chosen = environ.get(TEST_TMPDIR_VARIABLE)
    if chosen:
        return Path(chosen)
    if RAM_TMPDIR.is_dir() and os.access(RAM_TMPDIR, os.W_OK | os.X_OK):
        return RAM_TMPDIR
    return None
