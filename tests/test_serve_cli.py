"""``semsearch serve`` as a real process: it starts with every common flag and answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.cli import Cli
from tests.helpers.seed import SECOND_TITLE, build_seed_index

from .live_server import free_port

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 180  # model load on a busy machine


def _get(url: str, method: str = "GET") -> tuple[int, bytes]:
    try:
        request = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def test_serve_with_no_progress_starts_and_searches(cli: Cli, tmp_path: Path, model_dir: Path) -> None:
    # Issue 16 item 5: --no-progress used to crash at startup with a TypeError.
    index = build_seed_index(cli, tmp_path / "index", model_dir)
    port = free_port()
    argv = [sys.executable, "-m", "semsearch.service.cli", "serve", "--no-progress"]
    argv += ["--index", str(index), "--model-dir", str(model_dir), "--port", str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert server.poll() is None, server.communicate()[0].decode(errors="replace")
            try:
                status, _ = _get(base + "/readyz")
            except OSError:  # not listening yet
                status = 0
            if status == 200:
                break
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.5)
        status, body = _get(base + "/search?q=%E6%95%B0%E5%AD%97%E7%BB%8F%E6%B5%8E&k=1")
        assert status == 200
        assert json.loads(body)["results"][0]["article"]["title"] == SECOND_TITLE
        # Issue 16 item 12, through the real server: HEAD answers wherever GET does.
        for path in ("/", "/healthz", "/search?q=x", "/docs"):
            assert _get(base + path, "HEAD") == (200, b""), path
        # Issue 26 item 6: a query too long for any URL the server reads is a JSON 414.
        status, body = _get(base + "/search?q=" + "x" * 100_000)
        assert status == 414 and json.loads(body)["error"]["code"] == "too_long"
    finally:
        server.terminate()
        server.wait(timeout=30)
