"""What commands take from their caller: the embedder pool, and where compiled models live."""

from __future__ import annotations

from pathlib import Path

import pytest

from semsearch.embedder.backends import onnx_backend, openvino_backend
from semsearch.embedder.backends.factory import artefact_root
from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import ModelFiles
from semsearch.embedder.settings import Settings
from semsearch.service.context import CommandContext, EmbedderPool, load_embedder
from tests.fakes import FakeEmbedder


class CountingLoader:
    """Loads fakes and counts the loads; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.loads = 0
        self.failures = failures

    def __call__(self, settings: Settings) -> TextEmbedder:
        self.loads += 1
        if self.failures:
            self.failures -= 1
            raise ModelError("no model there")
        return FakeEmbedder(name=f"fake-{settings.threads}")


def test_the_pool_loads_each_configuration_once(tmp_path: Path) -> None:
    loader = CountingLoader()
    pool = EmbedderPool(loader)
    settings = Settings(data_dir=tmp_path, threads=1)
    first = pool(settings)
    assert pool(Settings(data_dir=tmp_path, threads=1)) is first
    assert loader.loads == 1 and len(pool) == 1
    other = pool(settings.model_copy(update={"threads": 2}))
    assert other is not first and other.model_name == "fake-2" and loader.loads == 2


@pytest.mark.parametrize(
    "change",
    [
        {"model_dir": Path("elsewhere")},
        {"backend": "torch"},
        {"batch_size": 7},
        {"max_seq_length": 128},
        {"progress": False},
        {"cache_dir": Path("other-cache")},
        {"cache": False},
        {"artefact_dir": Path("other-artefacts")},
    ],
)
def test_every_setting_the_embedder_reads_makes_another_configuration(
    tmp_path: Path, change: dict[str, object]
) -> None:
    loader = CountingLoader()
    pool = EmbedderPool(loader)
    settings = Settings(data_dir=tmp_path, threads=1)
    first = pool(settings)
    assert pool(settings.model_copy(update=change)) is not first and loader.loads == 2


def test_settings_the_embedder_does_not_read_share_one(tmp_path: Path) -> None:
    loader = CountingLoader()
    pool = EmbedderPool(loader)
    settings = Settings(data_dir=tmp_path, threads=1)
    first = pool(settings)
    assert pool(settings.model_copy(update={"index": tmp_path / "ix"})) is first
    # With the cache off, where it would be does not matter.
    off = settings.model_copy(update={"cache": False})
    assert pool(off) is pool(off.model_copy(update={"cache_dir": tmp_path / "c"}))
    assert loader.loads == 2


def test_a_failed_load_is_not_kept(tmp_path: Path) -> None:
    loader = CountingLoader(failures=1)
    pool = EmbedderPool(loader)
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ModelError):
        pool(settings)
    assert pool(settings) is pool(settings) and loader.loads == 2


def test_an_added_embedder_is_handed_out_without_loading(tmp_path: Path) -> None:
    loader = CountingLoader()
    pool = EmbedderPool(loader)
    settings = Settings(data_dir=tmp_path)
    mine = FakeEmbedder()
    pool.add(settings, mine)
    assert pool(settings) is mine and loader.loads == 0


def test_the_default_context_loads_from_disk() -> None:
    assert CommandContext().load_embedder is load_embedder


def _model(tmp_path: Path) -> ModelFiles:
    return ModelFiles("m", tmp_path / "m", {}, 512, "sha256:abc")


def test_artefacts_live_apart_from_the_embedding_cache(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_artefact_dir() == tmp_path / "artefacts"
    assert settings.resolved_cache_dir() == tmp_path / "cache"
    fresh_cache = settings.model_copy(update={"cache_dir": tmp_path / "fresh"})
    model = _model(tmp_path)
    for backend in (onnx_backend, openvino_backend):
        built = backend.artefact_dir(settings.resolved_artefact_dir(), model)
        built.mkdir(parents=True)
        # A new embedding cache still finds the compiled model.
        assert artefact_root(fresh_cache, model, backend.artefact_dir) == tmp_path / "artefacts"


@pytest.mark.parametrize("backend", [onnx_backend, openvino_backend])
def test_a_build_left_in_the_cache_directory_is_still_used(tmp_path: Path, backend: object) -> None:
    settings = Settings(data_dir=tmp_path)
    model = _model(tmp_path)
    folder = backend.artefact_dir  # type: ignore[attr-defined]
    # Nothing built anywhere: builds go to the artefact directory.
    assert artefact_root(settings, model, folder) == tmp_path / "artefacts"
    # Built where earlier releases put it (in the embedding cache): used there.
    folder(settings.resolved_cache_dir(), model).mkdir(parents=True)
    assert artefact_root(settings, model, folder) == tmp_path / "cache"
    custom = Settings(data_dir=tmp_path / "d", cache_dir=tmp_path / "mine")
    folder(tmp_path / "mine", model).mkdir(parents=True)
    assert artefact_root(custom, model, folder) == tmp_path / "mine"
    # Also with another embedding cache configured since.
    moved = settings.model_copy(update={"cache_dir": tmp_path / "new-cache"})
    assert artefact_root(moved, model, folder) == tmp_path / "cache"
    # Once the artefact directory has its own build, that one wins.
    folder(settings.resolved_artefact_dir(), model).mkdir(parents=True)
    assert artefact_root(settings, model, folder) == tmp_path / "artefacts"
