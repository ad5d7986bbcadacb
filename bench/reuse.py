"""Copy and reuse levels: precision / recall / F1 on the held-out half of the labelled set.

``python -m bench.reuse [--scale N] [--collection] [--quick]`` builds the set
(``bench/reuse_set.py``), runs the text pipeline the ``reuse`` and ``duplicates`` reports use
(normalise, MinHash LSH candidates, span alignment, level rules) on each half, and writes
docs/bench/reuse.md. ``--scale N`` also times the pipeline over the first N texts of
news-112k.jsonl (0: all); ``--quick`` is the labelled set alone, a development pass.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from itertools import islice

from bench.harness import SHARED, load_average, options, peak_rss_mb, table, write_section
from bench.reuse_set import EDITS, LabelledSet, build
from semsearch.service.reports import levels
from semsearch.service.reports.align import align
from semsearch.service.reports.normalise import normalise
from semsearch.service.reports.textreuse import Link, clusters, earliest, find_links, normalise_all


def _prf(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, ...]:
    hit = len(predicted & truth)
    precision = hit / len(predicted) if predicted else 0.0
    recall = hit / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(part: LabelledSet) -> dict[str, object]:
    """Run the pipeline on one half and score it against the labels."""
    ids = [item.id for item in part.items]
    started = time.perf_counter()
    links = find_links(normalise_all([item.text for item in part.items]))
    seconds = time.perf_counter() - started

    def pair(link: Link) -> tuple[str, str]:
        a, b = ids[link.i], ids[link.j]
        return (a, b) if a < b else (b, a)

    copies = {pair(link) for link in links if link.level == "copy"}
    reuses = {pair(link) for link in links if link.level == "reuse"}
    groups = clusters(len(ids), links, ("copy",))
    grouped = {tuple(sorted((ids[a], ids[b]))) for g in groups for a in g for b in g if a < b}
    in_groups = {ids[m] for g in groups for m in g}
    free = part.copy_free()
    kinds = {item.id: item.kind for item in part.items}
    per_edit = {}
    for edit in EDITS:
        direct = {
            p
            for p in part.copy_pairs
            if f"copy:{edit}" in (kinds[p[0]], kinds[p[1]])
            and "original" in (kinds[p[0]], kinds[p[1]])
        }
        per_edit[edit] = (len(direct & copies), len(direct))
    dates = [item.date for item in part.items]
    source_of: dict[str, str] = {}
    for members in clusters(len(ids), links, ("copy", "reuse")):
        first = ids[earliest(members, dates)]
        source_of.update({ids[m]: first for m in members})
    sources_right = sum(source_of.get(a) == s for a, s in part.sources.items())
    return {
        "articles": len(ids),
        "copy_pairs": len(part.copy_pairs),
        "reuse_pairs": len(part.reuse_pairs),
        "copy_links": _prf(copies, part.copy_pairs),
        "copy_groups": _prf(grouped, part.copy_pairs),
        "reuse": _prf(reuses, part.reuse_pairs),
        "reuse_not_copy": _prf(reuses - part.copy_pairs, part.reuse_pairs),
        "free_in_group": (len(in_groups & free), len(free)),
        "per_edit": per_edit,
        "sources": (sources_right, len(part.sources)),
        "seconds": seconds,
    }


def sohu_levels() -> dict[int, Counter[str]]:
    """Text level of every labelled SOHU 2021 pair, by label (5 same event, 3 topic, 0 none)."""
    counts: dict[int, Counter[str]] = {}
    for name in ("sohu2021-dd-test.jsonl", "sohu2021-dc-test.jsonl"):
        with (SHARED / "eval" / "pairs" / name).open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                a, b = normalise(row["sentence1"]).text, normalise(row["sentence2"]).text
                level = levels.text_level(align(a, b)) or "neither"
                counts.setdefault(int(row["label"]), Counter())[level] += 1
    return counts


def scale(limit: int) -> dict[str, float]:
    """Time and peak memory of the text pipeline over news-112k.jsonl texts."""
    with (SHARED / "corpus" / "news-112k.jsonl").open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in islice(handle, limit or None)]
    started = time.perf_counter()
    normal = normalise_all(texts)
    normalised = time.perf_counter()
    links = find_links(normal)
    done = time.perf_counter()
    return {
        "texts": len(texts),
        "chars": sum(len(t) for t in texts),
        "normalise_s": normalised - started,
        "links_s": done - normalised,
        "copy_links": sum(link.level == "copy" for link in links),
        "reuse_links": sum(link.level == "reuse" for link in links),
        "peak_rss_mb": peak_rss_mb(),
    }


def _fmt(values: tuple[float, ...]) -> list[str]:
    return [f"{v:.3f}" for v in values]


def main() -> None:
    parser = options(__doc__, quick="the labelled set only (no --scale, --collection)")
    parser.add_argument("--scale", type=int, default=None, help="texts of news-112k (0: all)")
    parser.add_argument(
        "--collection",
        action="store_true",
        help="also ingest the held-out half with the real model and score the reports",
    )
    args = parser.parse_args()
    if args.quick:
        args.scale, args.collection = None, False
    built = build()
    results = {name: evaluate(built.split(name)) for name in ("tuning", "heldout")}
    rows = []
    for name, r in results.items():
        free, total_free = r["free_in_group"]  # type: ignore[misc]
        rows.append([name, "copy (links)", *_fmt(r["copy_links"]), r["copy_pairs"], ""])  # type: ignore[arg-type]
        rows.append(
            [
                name,
                "copy (groups)",
                *_fmt(r["copy_groups"]),
                r["copy_pairs"],  # type: ignore[arg-type]
                f"{free}/{total_free} = {free / total_free:.2%}",
            ]
        )
        rows.append([name, "reuse", *_fmt(r["reuse"]), r["reuse_pairs"], ""])  # type: ignore[arg-type]
        rows.append(
            [name, "reuse, copy pairs aside", *_fmt(r["reuse_not_copy"]), r["reuse_pairs"], ""]  # type: ignore[arg-type]
        )
    held = results["heldout"]
    edits = table(
        ["edit", "original↔copy links found as copy"],
        [[e, f"{a}/{b}"] for e, (a, b) in held["per_edit"].items()],  # type: ignore[attr-defined]
    )
    right, total = held["sources"]  # type: ignore[misc]
    sohu = sohu_levels()
    sohu_rows = [
        [label, sum(c.values()), c["copy"], c["reuse"], c["neither"]]
        for label, c in sorted(sohu.items(), reverse=True)
    ]
    body = f"""
Labelled set: `python -m bench.reuse_set` from `../shared/corpus/thucnews-1k-articles.tsv`
({built.removed_natural} articles left out that already share ≥ 50 characters with another:
THUCNews holds reprints). 40 % of base articles get 1–3 edited copies (edits {", ".join(EDITS)}),
15 % donate a 60–300-character span to as many hosts (reuse), the rest are singles; base
articles are split in halves by a hash of their number. Every pair not labelled is a
negative (same-category pairs included). Rules (`service/reports/levels.py`): copy = the
aligned spans cover ≥ {levels.COPY_MIN_COVER:.0%} of one article and ≥ {levels.COPY_MIN_OTHER:.0%}
of the other; reuse = an aligned span ≥ {levels.REUSE_MIN_CHARS} normalised characters. Chosen
on the tuning half (grid of cover 0.6–0.9 × other 0.1–0.4: best copy-group F1 with the fewest
copy-free articles grouped); held-out figures are the ones to quote. "copy (links)" scores
every labelled copy pair (two copies of one original included) as a direct link; "copy
(groups)" scores pairs inside the connected copy groups `report duplicates` prints, and the
last column is the share of copy-free articles (singles, donors, hosts) put in any group.
"reuse, copy pairs aside" leaves out reuse links between two copies of one original (a
truncated and a sentence-dropped copy overlap too little for the copy rule; they are in one
copy group through the original, but the link itself says reuse).
Text pipeline only (no model): it is what `report reuse` / `report duplicates` run on the
stored texts.

{table(["half", "level", "precision", "recall", "F1", "labelled pairs", "copy-free grouped"], rows)}

Held-out, per edit kind:

{edits}

Likely source (earliest dated article of the cluster) right for {right}/{total} held-out
copies and reuse hosts. Pipeline time: tuning {results["tuning"]["seconds"]:.1f} s
({results["tuning"]["articles"]} articles), held-out {held["seconds"]:.1f} s
({held["articles"]} articles).

SOHU 2021 labelled pairs (dd + dc test) by the text rules — label 5 same event, 3 same topic,
0 unrelated. These pairs are not copies by label, but many label-5 pairs are the same text
(a headline and its article, or the same report twice), so copy/reuse there is not an error
by itself; label 3/0 pairs called copy or reuse would be:

{table(["label", "pairs", "copy", "reuse", "neither"], sohu_rows)}

The same_event level is unchanged (centred cosine ≥ 0.332, calibrated in "Batch similarity
reports"); it was not re-measured here.
"""
    if args.scale is not None:
        s = scale(args.scale)
        body += f"""
Scale, news-112k.jsonl ({s["texts"]:,} texts, {s["chars"]:,} characters, text pipeline only):
normalising {s["normalise_s"]:.1f} s, candidates + alignment {s["links_s"]:.1f} s,
{s["copy_links"]:,} copy and {s["reuse_links"]:,} reuse links, peak RSS of the whole bench
process {s["peak_rss_mb"]:.0f} MB.
"""
    if args.collection:
        c = through_collection(built.split("heldout"))
        free, total_free = c["free_in_group"]  # type: ignore[misc]
        collection_rows = [
            ["copy (links)", *_fmt(c["copy_links"])],  # type: ignore[arg-type]
            ["copy (groups)", *_fmt(c["copy_groups"])],  # type: ignore[arg-type]
            ["reuse, copy pairs aside", *_fmt(c["reuse_not_copy"])],  # type: ignore[arg-type]
        ]
        collection_table = table(["level", "precision", "recall", "F1"], collection_rows)
        body += f"""
Through a collection (`--collection`): the held-out half ingested with the bundled model
(`prepare_articles`, {c["ingest_s"]:.0f} s for {c["articles"]} articles), then `report reuse`
({c["reuse_s"]:.1f} s) and `report duplicates` (default copy level) on the stored texts:

{collection_table}

Copy-free articles put in a copy group: {free}/{total_free} = {free / total_free:.2%}.
"""
    body += (
        "\nMachine shared with other developers' jobs while this ran (2 cores, up to 7 other "
        f"sessions; load average {load_average()[0]:.1f} at the end), so times are upper "
        "bounds.\n"
    )
    write_section(
        "reuse",
        "Copies and text reuse: levels on a labelled set",
        "python -m bench.reuse"
        + (f" --scale {args.scale}" if args.scale is not None else "")
        + (" --collection" if args.collection else "")
        + (" --quick" if args.quick else ""),
        body,
    )
    print(body)


def through_collection(part: LabelledSet) -> dict[str, object]:
    """Ingest one half with the real model and score ``report reuse`` / ``duplicates``.

    The path a user takes: records cleaned and cut by ``prepare_articles``, stored, then the
    reports read the stored texts back (ingest cleaning may change the texts).
    """
    import tempfile
    from pathlib import Path

    from semsearch import Collection, prepare_articles
    from semsearch.embedder.embedder import Embedder
    from semsearch.embedder.settings import Settings
    from semsearch.service.reports import duplicates_report, load_corpus, reuse_report

    embedder = Embedder.from_settings(Settings(progress=False))
    records = [
        {"id": i.id, "title": i.text[:20], "text": i.text, "date": i.date} for i in part.items
    ]
    with tempfile.TemporaryDirectory(prefix="bench-reuse-") as tmp:
        path = Path(tmp) / "c"
        started = time.perf_counter()
        with Collection.create(path, embedder) as collection:
            collection.upsert(prepare_articles(records, embedder))
        ingest_s = time.perf_counter() - started
        corpus = load_corpus(path, embedder)
        started = time.perf_counter()
        report = reuse_report(corpus, progress=False)
        reuse_s = time.perf_counter() - started
        groups = duplicates_report(corpus, threshold=0.332, progress=False)

    def pair(a: str, b: str) -> tuple[str, str]:
        return (a, b) if a < b else (b, a)

    copies = {pair(r["article_id"], r["other_id"]) for r in report.records if r["level"] == "copy"}
    reuses = {pair(r["article_id"], r["other_id"]) for r in report.records if r["level"] == "reuse"}
    members = [[m["article_id"] for m in g["members"]] for g in groups.records]
    grouped = {pair(a, b) for g in members for a in g for b in g if a < b}
    free = part.copy_free()
    in_groups = {a for g in members for a in g}
    return {
        "articles": corpus.size,
        "copy_links": _prf(copies, part.copy_pairs),
        "copy_groups": _prf(grouped, part.copy_pairs),
        "reuse_not_copy": _prf(reuses - part.copy_pairs, part.reuse_pairs),
        "free_in_group": (len(in_groups & free), len(free)),
        "ingest_s": ingest_s,
        "reuse_s": reuse_s,
    }


if __name__ == "__main__":
    main()
