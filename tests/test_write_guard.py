"""A write is given up cleanly at its time budget or on shutdown (issue 26, item 4).

A ``POST /articles`` of 1,000,000 unpunctuated characters once ran past 14 minutes and
SIGTERM did not stop the server. Now the write's embedding is checked every few passages:
past ``max_write_seconds`` it is rolled back (422), and on shutdown too (503).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from semsearch.service.write_guard import CHECK_EVERY_PASSAGES
from tests.fakes import FakeEmbedder
from tests.helpers.api import API_KEY, build_index
from tests.helpers.cli import Cli

KEY = {"X-API-Key": API_KEY}
# Many paragraphs: one passage each, several chunks of embedding.
LONG = {"id": "long", "title": "长", "text": "\n".join(f"第{i}段内容。" for i in range(200))}


def _client(index: Path, embedder: FakeEmbedder, **limits: float) -> tuple[TestClient, Runtime]:
    settings = ServiceSettings(api_key=SecretStr(API_KEY), batch_window_ms=0, **limits)
    runtime = Runtime(index, embedder, settings)
    return TestClient(create_app(runtime), raise_server_exceptions=False), runtime


def test_a_write_past_its_time_budget_is_rolled_back(tmp_path: Path) -> None:
    client, runtime = _client(
        build_index(tmp_path / "index"), FakeEmbedder(), max_write_seconds=1e-9
    )
    with client:
        before = client.get("/readyz").json()
        response = client.post("/articles", json={"articles": [LONG]}, headers=KEY)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "limit_exceeded"
        assert "longer than 1e-09 s" in response.json()["error"]["message"]
        assert client.get("/readyz").json() == before
        assert client.get("/articles/long").status_code == 404
    runtime.close()


class StopsAfterFirstChunk(FakeEmbedder):
    """Sets the runtime's stop flag once the first chunk is embedded: a SIGTERM mid-write."""

    runtime: Runtime | None = None
    chunks = 0

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        self.chunks += 1
        assert self.runtime is not None
        self.runtime.stopping.set()
        return super().embed_passages(texts, progress=progress)


def test_shutdown_during_a_write_rolls_it_back_within_one_chunk(tmp_path: Path) -> None:
    index = build_index(tmp_path / "index")
    embedder = StopsAfterFirstChunk()
    client, runtime = _client(index, embedder)
    embedder.runtime = runtime
    with client:
        before = client.get("/readyz").json()
        response = client.post("/articles", json={"articles": [LONG]}, headers=KEY)
        assert response.status_code == 503 and response.json()["error"]["code"] == "shutting_down"
        assert embedder.chunks == 1 and len(LONG["text"].split("\n")) > CHECK_EVERY_PASSAGES
        assert client.get("/readyz").json() == before
        assert client.get("/articles/long").status_code == 404
        # Once stopping, no write starts at all.
        again = client.post("/articles", json={"articles": [LONG]}, headers=KEY)
        assert again.status_code == 503 and embedder.chunks == 1
    runtime.close()


def test_a_write_within_its_budget_is_embedded_in_chunks(tmp_path: Path) -> None:
    client, runtime = _client(build_index(tmp_path / "index"), FakeEmbedder())
    with client:
        response = client.post("/articles", json={"articles": [LONG]}, headers=KEY)
        assert response.status_code == 200 and response.json()["passages_added"] == 200
        hits = client.get("/search", params={"q": "第150段内容", "k": 1}).json()["results"]
        assert hits[0]["article"]["id"] == "long"
    runtime.close()


@pytest.mark.slow
def test_serve_stops_on_the_first_sigterm_during_a_long_write(
    cli: Cli, tmp_path: Path, model_dir: Path
) -> None:
    import json
    import os
    import random
    import signal
    import subprocess
    import sys
    import threading
    import time
    import urllib.request

    from tests.helpers.paths import SEED
    from tests.live_server import free_port

    index = tmp_path / "index"
    assert cli(["ingest", str(SEED), "--index", str(index), "--model-dir", str(model_dir)]) == 0
    before = _state(index)
    port = free_port()
    binary = str(Path(sys.executable).with_name("semsearch"))
    env = {**os.environ, "SEMSEARCH_API_KEY": API_KEY}
    server = subprocess.Popen(
        [
            binary,
            "serve",
            "--index",
            str(index),
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        # 200,000 characters without punctuation: some 400 full passages, minutes of model.
        # Random characters, so the embedding cache of an earlier run cannot answer.
        rng = random.Random(time.time_ns())
        text = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(200_000))
        body = json.dumps({"articles": [{"id": "run-on", "text": text}]}).encode()
        request = urllib.request.Request(
            base + "/articles",
            data=body,
            headers={"X-API-Key": API_KEY, "content-type": "application/json"},
        )
        answers: list[int] = []

        def post() -> None:
            try:
                with urllib.request.urlopen(request, timeout=600) as response:
                    answers.append(response.status)
            except urllib.error.HTTPError as error:
                answers.append(error.code)
            except OSError:
                answers.append(0)

        writer = threading.Thread(target=post)
        writer.start()
        time.sleep(8)  # well into the embedding
        assert writer.is_alive(), answers
        stopped_at = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        took = time.monotonic() - stopped_at
        writer.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert took < 30 and answers in ([503], [0])
    assert _state(index) == before


def _state(index: Path) -> tuple[object, ...]:
    """Generation, counts and the soundness check of a collection (read-only)."""
    from semsearch.index import Collection

    with Collection.open(index, None, read_only=True) as collection:  # type: ignore[arg-type]
        info = collection.info()
        problems = collection.check()
        absent = collection.get_article("run-on") is None
    return info.generation, info.articles, info.passages, absent, problems.ok
