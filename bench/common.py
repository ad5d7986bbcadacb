"""What every benchmark shares: data loading, machine facts, and the results document."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DOCS = ROOT / "docs"
SECTIONS = DOCS / "bench"
RESULTS = DOCS / "benchmarks.md"


@dataclass(frozen=True)
class BeirSet:
    """A BEIR-layout evaluation set."""

    name: str
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(name: str, *, limit_queries: int | None = None) -> BeirSet:
    """Read ``../shared/eval/NAME``.

    Args:
        name: Folder name.
        limit_queries: Keep only the first N judged queries.

    Returns:
        The set.
    """
    folder = SHARED / "eval" / name
    corpus = {}
    for doc in _jsonl(folder / "corpus.jsonl"):
        corpus[str(doc["_id"])] = (str(doc.get("title") or ""), str(doc["text"]))
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, did, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {str(q["_id"]): str(q["text"]) for q in _jsonl(folder / "queries.jsonl")}
    judged = [qid for qid in queries if qid in qrels]
    if limit_queries is not None:
        judged = judged[:limit_queries]
    return BeirSet(name, corpus, {q: queries[q] for q in judged}, {q: qrels[q] for q in judged})


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def news_texts(src: str, n: int) -> list[str]:
    """First ``n`` texts of one source in ``../shared/corpus/news-112k.jsonl``."""
    texts = []
    for doc in _jsonl(SHARED / "corpus" / "news-112k.jsonl"):
        if doc.get("src") == src:
            texts.append(str(doc["text"]))
            if len(texts) == n:
                break
    return texts


def ndcg_at_k(ranking: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """Graded nDCG@k with log2 discounts (the trec_eval definition)."""
    gains = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    best = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return gains / best if best else 0.0


def machine() -> str:
    """CPU model and core count, as a markdown line."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(
    name: str, title: str, command: str, body: str, *, measured: float | None = None
) -> None:
    """Store one benchmark's results and rebuild docs/benchmarks.md from all sections.

    Args:
        name: Section file stem (``embed``, ``index``...).
        title: Section heading.
        command: The command that produced it.
        body: Markdown tables and notes.
        measured: When the figures were measured (epoch seconds); default now. A section
            re-rendered from saved results keeps the time of the run.
    """
    SECTIONS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(measured))
    (SECTIONS / f"{name}.md").write_text(
        f"## {title}\n\nMeasured {stamp} on {machine()} with `{command}`.\n\n{body.strip()}\n",
        encoding="utf-8",
    )
    rebuild_results()


def rebuild_results() -> None:
    """Rewrite docs/benchmarks.md from the stored sections."""
    parts = [
        "# Benchmarks\n",
        "Every figure below was produced by the command named in its section on the machine named "
        "there; `make bench` reruns them all (`make bench-quick` for a smaller, faster pass). "
        "Ratios compare runs made in the same process on the same machine.\n",
    ]
    parts += [p.read_text(encoding="utf-8") for p in sorted(SECTIONS.glob("*.md"))]
    RESULTS.write_text("\n".join(parts), encoding="utf-8")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
