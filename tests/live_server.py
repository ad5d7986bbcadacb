"""A real uvicorn server for browser tests, on a free loopback port in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from semsearch.embedder.base import TextEmbedder
from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.helpers.cli import Cli
from tests.helpers.seed import build_seed_index

# How long a server may take to start before the test fails.
START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI, **options: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn until the block ends; yields its base URL.

    ``options`` go to ``uvicorn.Config`` (e.g. ``http=`` the protocol ``serve`` runs).
    """
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving_seed(cli: Cli, folder: Path, model_dir: Path, embedder: TextEmbedder) -> Iterator[str]:
    """The sample page ingested with the real model into ``folder`` and served read-only;
    yields the base URL (what the browser tests open)."""
    path = build_seed_index(cli, folder / "index", model_dir)
    runtime = Runtime(path, embedder, ServiceSettings())
    try:
        with serving(create_app(runtime)) as base:
            yield base
    finally:
        runtime.close()
