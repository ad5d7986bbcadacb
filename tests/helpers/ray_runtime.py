"""One local Ray for every test that needs it (tests/conftest.py's ``ray_runtime``).

Starting Ray costs seconds of the suite's two cores and a runtime left idle keeps several
processes busy, so the tests that use Ray run one after the other (conftest orders them and
puts them in one xdist group) on one runtime, stopped as soon as the last of them is done.
"""

from __future__ import annotations

import logging
from types import ModuleType

import pytest

# The name of the session fixture; the conftest hooks find Ray's tests by it.
FIXTURE = "ray_runtime"
XDIST_GROUP = "ray"
# More logical CPUs than the machine's two cores: the Serve test runs three mostly idle shard
# replicas and an ingress; the ingest tests ask for two embedding actors and some writes.
LOGICAL_CPUS = 4


class RayRuntime:
    """A local Ray started on first use and stopped on request (started again if needed)."""

    def __init__(self) -> None:
        self._ray: ModuleType | None = None

    def ensure(self) -> ModuleType:
        """The ``ray`` module, joined to a running local runtime; skips when Ray is absent."""
        if self._ray is None:
            ray = pytest.importorskip("ray")
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


def uses_ray(item: pytest.Item) -> bool:
    """Whether a collected test needs the runtime (directly or through its fixtures)."""
    return FIXTURE in getattr(item, "fixturenames", ())


def ray_tests_together(items: list[pytest.Item]) -> None:
    """Move the tests that use Ray, in their order, to where the first of them is.

    Run apart, they would start Ray once per stretch; together, once per session.
    """
    ray_items = [item for item in items if uses_ray(item)]
    if not ray_items:
        return
    first = items.index(ray_items[0])
    others = [item for item in items if not uses_ray(item)]
    items[:] = others[:first] + ray_items + others[first:]
