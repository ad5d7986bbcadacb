"""A small collection built with the fake embedder, and the app in a test client over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr

from semsearch.index import Collection
from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.fake_tagger import fake_extractor
from tests.fakes import FakeEmbedder, make_article

API_KEY = "test-key-123"
XSS = '<img src=x onerror="alert(1)">'


def corpus() -> list[Any]:
    return [
        make_article(
            "a1",
            ["数字经济 核心产业 发展迅速", "人工智能 区块链 云计算", "数据要素 市场"],
            title="数字经济发展新高地",
            date="2023-04-18",
            source="zzwb",
            section="要闻",
            metadata={"page": 1},
        ),
        make_article(
            "a2",
            ["重大项目 观摩 活动 举行", "项目为王 理念", "数字 技术 应用 项目"],
            title="重大项目观摩活动举行",
            date="2023-04-19",
            source="zzwb",
            section="要闻",
            metadata={"page": 2},
        ),
        make_article(
            "a3",
            ["The mayor visited digital economy companies in 2023", "Cloud computing and AI"],
            title="Mayor visits tech firms",
            date="2023-05-01",
            source="wire",
            section="english",
        ),
        make_article(
            "x1",
            [f"{XSS} 恶意 标记 测试 <b>bold</b>"],
            title="<script>alert(1)</script>",
            date="2023-06-01",
            source="evil",
        ),
    ]


def build_index(path: Path) -> Path:
    """A small collection built with the fake embedder."""
    with Collection.create(path, FakeEmbedder()) as collection:
        collection.upsert(corpus())
    return path


def make_client(
    path: Path, *, api_key: str | None = API_KEY, **limits: Any
) -> tuple[TestClient, Runtime]:
    """The app over ``path`` with the fake embedder; close the runtime when done."""
    settings = ServiceSettings(
        api_key=SecretStr(api_key) if api_key else None, batch_window_ms=0, **limits
    )
    runtime = Runtime(path, FakeEmbedder(), settings, extractor=lambda _: fake_extractor())
    return TestClient(create_app(runtime), raise_server_exceptions=False), runtime


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """``response`` is the documented error shape with ``status`` (and ``code``)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]
