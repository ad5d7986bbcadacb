"""Where tests find the repository, the shared data folder, the sample page and Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SEED = REPO / "data" / "samples" / "zhengzhou-evening-news-2023-04-20.txt"

ARTIFACTS = REPO / "artifacts"
# Debian's Chromium (browser downloads do not work here); flags keep it off the network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def shared_path(*parts: str) -> Path:
    """Path under ../shared, skipping the calling test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path
