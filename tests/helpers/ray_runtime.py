"""One local Ray for every test that needs it (tests/conftest.py's ``ray_runtime``).

Starting Ray costs seconds of the suite's two cores, and a runtime left idle keeps a dozen
processes awake, so the tests that use Ray run one after the other at the front of the run on
one runtime, stopped as soon as the last of them is done. Under pytest-xdist they then all
land in the first worker's first batch (xdist's ``load`` hands out consecutive chunks of
about a quarter of each worker's share); the ``xdist_group`` mark that should say so is
ignored on pytest 9.2 (pytest-xdist issue 1386). Should they still be split, a lock keeps
two runtimes from running at once: the second worker waits for the first to stop its Ray.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import tempfile
from pathlib import Path
from types import ModuleType
from typing import IO

import pytest

from tests.helpers.paths import REPO

# The name of the session fixture; the conftest hooks find Ray's tests by it.
FIXTURE = "ray_runtime"
# More logical CPUs than the machine's two cores: the Serve test runs three mostly idle shard
# replicas and an ingress; the ingest tests ask for two embedding actors and some writes.
LOGICAL_CPUS = 4


def _lock_path() -> Path:
    """One lock per checkout: its parallel workers share it, other checkouts do not."""
    digest = hashlib.blake2b(str(REPO).encode(), digest_size=8).hexdigest()
    return Path(tempfile.gettempdir()) / f"semsearch-tests-ray-{digest}.lock"


class RayRuntime:
    """A local Ray started on first use and stopped on request (started again if needed)."""

    def __init__(self) -> None:
        self._ray: ModuleType | None = None
        self._lock: IO[bytes] | None = None

    def ensure(self) -> ModuleType:
        """The ``ray`` module, joined to a running local runtime; skips when Ray is absent."""
        if self._ray is None:
            ray = pytest.importorskip("ray")
            self._lock = _lock_path().open("ab")
            fcntl.flock(self._lock, fcntl.LOCK_EX)  # another worker's Ray: wait for its stop
            if not ray.is_initialized():
                ray.init(
                    num_cpus=LOGICAL_CPUS, include_dashboard=False, logging_level=logging.WARNING
                )
            self._ray = ray
        return self._ray

    @property
    def running(self) -> bool:
        """Whether this object started (or joined) a runtime not stopped since."""
        return self._ray is not None

    def stop(self) -> None:
        """Shut the runtime down (a later :meth:`ensure` starts another)."""
        if self._ray is not None:
            self._ray.shutdown()
            self._ray = None
        if self._lock is not None:
            self._lock.close()  # closing releases the lock
            self._lock = None


def uses_ray(item: pytest.Item) -> bool:
    """Whether a collected test needs the runtime (directly or through its fixtures)."""
    return FIXTURE in getattr(item, "fixturenames", ())


def ray_tests_first(items: list[pytest.Item]) -> None:
    """Move the tests that use Ray, in their order, to the front of the run.

    Together they start Ray once per session; first, they go to one xdist worker.
    """
    items[:] = [item for item in items if uses_ray(item)] + [
        item for item in items if not uses_ray(item)
    ]
