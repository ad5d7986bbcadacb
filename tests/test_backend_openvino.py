"""The OpenVINO backend: agreement with fp32 torch, artefact rebuilds, the factory's fallbacks."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from semsearch.embedder.backends import factory, openvino_backend
from semsearch.embedder.backends.openvino_backend import (
    LENGTH_BUCKET,
    META_FILE,
    WEIGHTS_FILE,
    OpenVinoBackend,
    _groups,
    artefact_dir,
    build_openvino_model,
)
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import ModelFiles, resolve_model
from semsearch.embedder.settings import Settings

if TYPE_CHECKING:
    from semsearch.embedder.backends.torch_backend import TorchBackend

pytest.importorskip("openvino")

CHINESE = [
    "passage: 4月18日，市长何雄调研我市数字经济发展情况，全链条壮大数字核心产业。",
    "passage: 受冷空气影响，明天夜间到后天我市将出现一次降温降雨天气过程，最低气温降至8℃左右。",
    "query: 重大项目观摩活动",
]
ENGLISH = [
    "passage: The central bank kept interest rates unchanged on Thursday, citing slowing inflation.",
    "query: how does the city plan to grow its digital economy?",
    "passage: " + "A long English paragraph about the municipal budget and its priorities. " * 40,
]


def test_groups_share_one_padded_length_and_cover_every_text() -> None:
    lengths = [3, 40, 17, 16, 900, 5, 33, 32]
    groups = _groups(lengths)
    seen = sorted(i for _, indices in groups for i in indices)
    assert seen == list(range(len(lengths)))
    for padded, indices in groups:
        assert padded % LENGTH_BUCKET == 0
        assert all(padded - LENGTH_BUCKET < lengths[i] <= padded for i in indices)


def test_groups_respect_the_token_budget() -> None:
    groups = _groups([500] * 10)
    assert all(
        len(indices) * padded <= openvino_backend.MAX_GROUP_TOKENS for padded, indices in groups
    )


@pytest.fixture(scope="module")
def ov_settings(real_settings: Settings) -> Settings:
    return real_settings.model_copy(update={"backend": "openvino", "cache": False})


@pytest.fixture(scope="module")
def ov_backend(openvino_backend: OpenVinoBackend) -> OpenVinoBackend:
    return openvino_backend


@pytest.mark.slow
@pytest.mark.parametrize("texts", [CHINESE, ENGLISH], ids=["chinese", "english"])
def test_agrees_with_fp32_torch(
    ov_backend: OpenVinoBackend, fp32_backend: TorchBackend, texts: list[str]
) -> None:
    torch = fp32_backend
    for query in (False, True):
        fast = ov_backend.encode_batch(texts, query=query)
        assert fast.dtype == np.float32 and fast.shape == (len(texts), ov_backend.dimension)
        assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
        cosines = np.sum(fast * torch.encode_batch(texts, query=query), axis=1)
        assert cosines.min() >= 0.99


@pytest.mark.slow
def test_vector_does_not_depend_on_batch_mates(ov_backend: OpenVinoBackend) -> None:
    texts = [*CHINESE, *ENGLISH, "passage: 短", "passage: 数字经济"]
    together = ov_backend.encode_batch(texts)
    alone = np.vstack([ov_backend.encode_batch([t]) for t in texts])
    assert np.array_equal(together, alone)


@pytest.mark.slow
def test_lone_queries_at_once_get_their_own_vectors(ov_backend: OpenVinoBackend) -> None:
    # A lone short text runs on the one-text model; a second one arriving meanwhile takes a
    # stream instead. Either way each caller gets its own text's vector, bit for bit.
    short = ["数字经济", "人工智能 发展", "郑州 地铁 建设", "climate policy", "trade talks"]
    queries = [f"query: {text}" for text in short] * 8
    assert max(ov_backend.count_tokens(queries)) <= openvino_backend.LENGTH_BUCKET
    expected = {q: ov_backend.encode_batch([q], query=True)[0] for q in queries}
    grouped = ov_backend.encode_batch(queries, query=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        alone = list(pool.map(lambda q: ov_backend.encode_batch([q], query=True)[0], queries))
    for query, vector, in_group in zip(queries, alone, grouped, strict=True):
        assert np.array_equal(vector, expected[query])
        assert np.array_equal(vector, in_group)


def _fake_model(model_dir: Path) -> ModelFiles:
    # Its own fingerprint, so this test builds in its own artefact directory.
    model = resolve_model(str(model_dir))
    return ModelFiles(
        model.name, model.path, model.prompts, model.max_seq_length, "sha256:test-openvino"
    )


@pytest.mark.slow
def test_corrupt_artefacts_are_rebuilt(
    ov_backend: OpenVinoBackend, ov_settings: Settings, model_dir: Path, tmp_path: Path
) -> None:
    model = _fake_model(model_dir)
    common = {"threads": ov_settings.threads, "max_seq_length": ov_settings.max_seq_length}
    # Start from a copy of the session's verified build (ov_backend's): what is tested is
    # the two rebuilds below, and a first build of its own would cost as much as each.
    real = resolve_model(str(model_dir))
    built = artefact_dir(factory.artefact_root(ov_settings, real, artefact_dir), real)
    shutil.copytree(built, artefact_dir(tmp_path, model))
    directory = build_openvino_model(model, tmp_path, **common)
    assert directory == artefact_dir(tmp_path, model)
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    assert meta["ok"] and meta["min_cosine_vs_fp32"] >= 0.99

    # Truncated weights (a copy cut short): the size check notices and rebuilds.
    weights = directory / WEIGHTS_FILE
    with weights.open("r+b") as handle:
        handle.truncate(1000)
    build_openvino_model(model, tmp_path, **common)
    assert weights.stat().st_size == meta["sizes"][WEIGHTS_FILE]

    # Same size, garbage inside (the IR no longer parses): loading fails, the factory rebuilds.
    xml = directory / "model.xml"
    xml.write_bytes(b"\0" * xml.stat().st_size)
    settings = ov_settings.model_copy(update={"artefact_dir": tmp_path})
    backend = factory.create_backend(model, settings)
    assert backend.name == "openvino"
    assert backend.encode_batch(CHINESE[:1]).shape == (1, backend.dimension)


def _fail(*args: object, **kwargs: object) -> None:
    raise ModelError("simulated build failure")


@pytest.mark.slow
def test_auto_falls_back_to_onnx_int8_then_torch(
    real_settings: Settings, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from semsearch.embedder.backends import onnx_backend

    model = resolve_model(str(model_dir))
    auto = real_settings.model_copy(update={"backend": "auto"})
    monkeypatch.setattr(openvino_backend, "build_openvino_model", _fail)
    assert factory.create_backend(model, auto).name == "onnx-int8"
    with pytest.raises(ModelError, match="simulated"):
        factory.create_backend(model, real_settings.model_copy(update={"backend": "openvino"}))
    monkeypatch.setattr(onnx_backend, "build_int8_model", _fail)
    assert factory.create_backend(model, auto).name == "torch"


@pytest.mark.slow
def test_auto_skips_openvino_without_bf16(
    real_settings: Settings, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On CPUs without AMX / AVX-512 BF16 OpenVINO infers in fp32, no faster than onnx-int8.
    monkeypatch.setattr(OpenVinoBackend, "inference_precision", property(lambda self: "f32"))
    model = resolve_model(str(model_dir))
    auto = real_settings.model_copy(update={"backend": "auto"})
    assert factory.create_backend(model, auto).name == "onnx-int8"
    explicit = real_settings.model_copy(update={"backend": "openvino"})
    assert factory.create_backend(model, explicit).name == "openvino"


def test_missing_openvino_is_a_model_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_openvino(name: str, *args: object, **kwargs: object) -> object:
        if name == "openvino":
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    model = ModelFiles("m", tmp_path, {}, 512, "sha256:none")
    with pytest.raises(ModelError, match="openvino is not installed"):
        build_openvino_model(model, tmp_path, threads=1, max_seq_length=512)
