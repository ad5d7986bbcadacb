"""Copy and reuse links between the articles of a corpus, with their aligned spans.

MinHash LSH over windows proposes candidate pairs (``shingles``), span alignment decides
(``align``), the level rules name the link (``levels``). Within a cluster of linked
articles the earliest dated one is the likely source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tqdm import tqdm

from semsearch.service.reports.align import Alignment, align
from semsearch.service.reports.levels import Level, text_level
from semsearch.service.reports.normalise import Normalised, normalise
from semsearch.service.reports.shingles import candidate_pairs


@dataclass(frozen=True)
class Link:
    """A copy or reuse link between articles ``i < j`` and their alignment."""

    i: int
    j: int
    level: Level
    alignment: Alignment


def normalise_all(texts: Sequence[str], *, progress: bool = False) -> list[Normalised]:
    """:func:`normalise` every text."""
    return [
        normalise(t) for t in tqdm(texts, desc="normalising", unit="article", disable=not progress)
    ]


def find_links(normal: Sequence[Normalised | str], *, progress: bool = False) -> list[Link]:
    """Copy and reuse links among normalised texts (no all-pairs work).

    Args:
        normal: Normalised article texts (or just their strings).
        progress: Show progress bars.

    Returns:
        Links ordered by ``(i, j)``.
    """
    texts = [n if isinstance(n, str) else n.text for n in normal]
    links = []
    for i, j in tqdm(
        sorted(candidate_pairs(texts, progress=progress)),
        desc="aligning",
        unit="pair",
        disable=not progress,
    ):
        alignment = align(texts[i], texts[j])
        level = text_level(alignment)
        if level is not None:
            links.append(Link(i, j, level, alignment))
    return links


class Joining(Protocol):
    """Anything that links articles ``i`` and ``j`` at a level (copy, translation links)."""

    @property
    def i(self) -> int: ...

    @property
    def j(self) -> int: ...

    @property
    def level(self) -> Level: ...


def clusters(
    size: int, links: Sequence[Joining], levels: Sequence[Level]
) -> list[list[int]]:
    """Connected components of the links of the given levels (two or more members).

    Args:
        size: Number of articles.
        links: The links.
        levels: Levels that join articles.

    Returns:
        Components, largest first, members ascending.
    """
    parent = list(range(size))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in links:
        if link.level in levels:
            a, b = root(link.i), root(link.j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for node in range(size):
        groups.setdefault(root(node), []).append(node)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))


def earliest(members: Sequence[int], dates: Sequence[str | None]) -> int:
    """The member with the earliest date (undated last; ties to the lower number)."""
    return min(members, key=lambda m: (dates[m] is None, dates[m] or "", m))
