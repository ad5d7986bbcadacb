"""The sample newspaper page (two articles) ingested through the CLI with the real model."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import Cli
from tests.helpers.paths import SEED

FIRST_TITLE = "2023年全市重大项目观摩活动举行"
SECOND_TITLE = "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地"


def build_seed_index(cli: Cli, path: Path, model_dir: Path) -> Path:
    """The sample page ingested by ``semsearch ingest`` (the embedding cache makes repeats cheap)."""
    argv = ["ingest", str(SEED), "--index", str(path), "--model-dir", str(model_dir), "--json"]
    assert cli(argv) == 0
    return path
