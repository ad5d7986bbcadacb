"""Merging shards' answers: candidate lists, count relations and facet counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from semsearch.index._search import MatchConfig, listed_values

RELATIONS = ("eq", "gte", "approx")  # weakest last


def merged(pairs: list[tuple[int, float]], depth: int) -> list[tuple[int, float]]:
    """The best ``depth`` of several shards' lists (score, then id, as one list orders)."""
    pairs.sort(key=lambda ps: (-ps[1], ps[0]))
    return pairs[:depth]


def weakest(relations: Sequence[str]) -> str:
    return max(relations, key=RELATIONS.index, default="eq")


def sum_facets(
    parts: Sequence[dict[str, list[dict[str, Any]]]], names: Sequence[str], match: MatchConfig
) -> dict[str, list[dict[str, Any]]]:
    """Facet counts summed over shards (an article is in one shard, so sums are exact
    where each shard's list was; a shard's list cut at ``facet_values`` may miss a value)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        counts: dict[Any, int] = {}
        for part in parts:
            for entry in part.get(name, []):
                counts[entry["value"]] = counts.get(entry["value"], 0) + int(entry["count"])
        out[name] = listed_values(name, list(counts.items()), match.facet_values)
    return out
