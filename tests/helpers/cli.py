"""Running ``semsearch`` in process, with the embedders a test session has already loaded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.settings import Settings
from semsearch.service.cli import main
from semsearch.service.context import CommandContext
from tests.fake_tagger import fake_extractor


@dataclass(frozen=True)
class Cli:
    """``semsearch`` as a function: ``cli(["search", ...])`` returns the exit code.

    Attributes:
        context: What each command is handed (the session's embedder pool, or a fake).
    """

    context: CommandContext

    def __call__(self, argv: Sequence[str]) -> int:
        return main(list(argv), context=self.context)

    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        """Run and return ``(exit code, stdout, stderr)``."""
        code = self(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    def search_json(
        self,
        capsys: pytest.CaptureFixture[str],
        index: Path,
        model_dir: Path,
        query: str,
        *extra: str,
    ) -> dict[str, Any]:
        """``semsearch search --json`` parsed (the exit code must be 0)."""
        argv = ["search", query, "--index", str(index), "--model-dir", str(model_dir), "--json"]
        code, out, err = self.run(capsys, *argv, *extra)
        assert code == 0, err
        return dict(json.loads(out))


def fake_cli(embedder: TextEmbedder) -> Cli:
    """A CLI whose commands all get ``embedder``, whatever the settings say."""

    def load(settings: Settings) -> TextEmbedder:
        return embedder

    return Cli(CommandContext(load_embedder=load, load_extractor=lambda _: fake_extractor()))
