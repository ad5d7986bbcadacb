"""Which stored page files the page route may draw: those under the operator's directories.

The store holds only paths ingest read itself, but the route checks every path again at
drawing time, so a collection copied from elsewhere (or made by an older release) cannot
make the server draw a file outside the directories ``SEMSEARCH_PAGE_DIRS`` names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def allowed_page_file(stored: str, page_dirs: Sequence[Path]) -> Path | None:
    """The file to draw, or None when ``stored`` is not inside one of ``page_dirs``.

    Symbolic links are resolved on both sides first, so a link inside an allowed directory
    that points out of it is refused, and ``..`` cannot climb out.

    Args:
        stored: The page file the collection recorded for an article.
        page_dirs: The directories the operator allowed.

    Returns:
        The resolved path, or None.
    """
    if not page_dirs or not os.path.isabs(stored):
        return None
    target = Path(os.path.realpath(stored))
    for folder in page_dirs:
        root = Path(os.path.realpath(folder))
        if target != root and target.is_relative_to(root):
            return target
    return None
