"""The installed namespace and the public Python API (`import semsearch`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import semsearch
from tests.helpers.paths import REPO


def _python(code: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_public_surface_resolves() -> None:
    assert semsearch.__all__ == sorted(semsearch.__all__, key=lambda n: (n.islower(), n))
    for name in semsearch.__all__:
        assert getattr(semsearch, name) is not None, name
    assert semsearch.Collection.__module__ == "semsearch.index.collection"
    assert issubclass(semsearch.CollectionError, semsearch.SemsearchError)
    assert issubclass(semsearch.InputError, semsearch.SemsearchError)
    assert (Path(semsearch.__file__).parent / "py.typed").is_file()


def test_only_the_namespace_is_importable_outside_the_checkout(tmp_path: Path) -> None:
    found = _python("import semsearch, semsearch.service.cli; print(semsearch.Collection)", tmp_path)
    assert found.returncode == 0, found.stderr
    assert "semsearch.index.collection.Collection" in found.stdout
    for bare in ("embedder", "index", "service"):
        missing = _python(f"import {bare}", tmp_path)
        assert missing.returncode == 1
        assert f"ModuleNotFoundError: No module named '{bare}'" in missing.stderr


def test_wheel_holds_one_top_level_package(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("semsearch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"semsearch", next(t for t in tops if t.endswith(".dist-info"))}
    for needed in (
        "semsearch/__init__.py",
        "semsearch/py.typed",
        "semsearch/embedder/ingest.py",
        "semsearch/embedder/backends/factory.py",
        "semsearch/index/collection.py",
        "semsearch/service/cli.py",
        "semsearch/service/commands/search.py",
        "semsearch/service/reports/duplicates.py",
        "semsearch/service/static/app.js",
        "semsearch/service/static/index.html",
    ):
        assert needed in names, needed
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))
    ).decode()
    assert "semsearch = semsearch.service.cli:main" in entry


def _readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Python API section has no python example"
    return match.group(1)


@pytest.mark.slow
def test_readme_python_example_runs_as_written(model_dir: Path) -> None:
    env = {**os.environ, "SEMSEARCH_MODEL_DIR": str(model_dir), "SEMSEARCH_PROGRESS": "false"}
    ran = _python(_readme_example(), REPO, env)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "2 articles added"
    assert re.match(r"1 \d\.\d+ 促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地 \w+ \d+$", lines[1])
    assert lines[-1].startswith("2023-04-20 ") and lines[-1].endswith(" passages")
