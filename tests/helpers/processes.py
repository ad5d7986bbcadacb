"""Crash-test children: separate processes forked from a preloaded server, killed with SIGKILL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

PRELOAD = ["tests.crash_preload"]
# A child forked from the warm server says "ready" in well under a second; a loaded shared
# machine may take far longer.
READY_TIMEOUT_S = 120.0
READY = "ready"


def start_child(target: Callable[..., None], *args: object) -> tuple[BaseProcess, Connection]:
    """Run ``target(*args, conn)`` in a child and wait until it sends :data:`READY` on ``conn``.

    Args:
        target: A module-level function (it is pickled by name).
        *args: Its arguments before the connection (picklable).

    Returns:
        The child and the parent's end of the connection.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    parent, child_end = context.Pipe()
    child = context.Process(target=target, args=(*args, child_end), daemon=True)
    child.start()
    child_end.close()
    if not parent.poll(READY_TIMEOUT_S):
        kill(child)
        raise AssertionError(f"child {target.__name__} did not get ready")
    message = parent.recv()
    assert message == READY, message
    return child, parent


def kill(child: BaseProcess) -> None:
    """SIGKILL the child wherever it is (unless it has already finished) and wait for it."""
    child.kill()
    child.join()
