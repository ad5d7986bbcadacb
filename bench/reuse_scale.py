"""Copies and reuse at scale: wall time and peak memory of the copy/reuse path.

``python -m bench.reuse_scale [--quick]`` runs, each in a child process so its peak RSS is
its own (``resource.getrusage(RUSAGE_CHILDREN)``):

- with ``--collection``: ``report reuse`` over the 112k benchmark collection
  (``bench.corpus``, opened read-only) through the CLI, with the default levels (copy,
  reuse, translation) and with ``--levels copy,reuse,translation,same_event``; writes
  docs/bench/reuse-collection.md;
- the text path ``report reuse`` runs for copies and reuse (normalise, MinHash LSH
  candidates, alignment, level rules; no model) over news-112k.jsonl and over derived
  articles: every text plus edited variants of it (truncated, a credit added, punctuation
  and spacing changed, spliced with another text), ``--variants`` of them, 9 by default:
  about a million articles with known copies.

Writes docs/bench/reuse-scale.md.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from bench.corpus import news_collection
from bench.harness import (
    ROOT,
    SHARED,
    load_average,
    options,
    peak_rss_mb,
    run_child,
    table,
    write_section,
)

NEWS = SHARED / "corpus" / "news-112k.jsonl"
COLLECTION = ROOT / "var" / "bench" / "news-112k"
CREDITS = ("（来源：新华社）", "本报讯 ", "【编辑：张明】", "（记者 李华 报道）")


def news() -> list[str]:
    """The texts of news-112k.jsonl."""
    with NEWS.open(encoding="utf-8") as handle:
        return [str(json.loads(line)["text"]) for line in handle if line.strip()]


def variant(text: str, other: str, number: int) -> str:
    """Edited copy ``number`` (1-based) of ``text``; ``other`` donates for a splice."""
    rng = random.Random(zlib.crc32(f"{number}:{text}".encode()))
    kind = number % 4
    if kind == 0:
        return text[: max(8, int(len(text) * rng.uniform(0.6, 0.95)))]
    if kind == 1:
        return rng.choice(CREDITS) + text
    if kind == 2:
        return text.replace("，", ", ").replace("。", ". ").replace("：", " : ")
    return other[: len(other) // 2] + text


def derived(texts: list[str], variants: int) -> list[str]:
    """Every text followed by ``variants - 1`` edited copies of it."""
    out = []
    for n, text in enumerate(texts):
        out.append(text)
        out += [variant(text, texts[(n * 7919 + v) % len(texts)], v) for v in range(1, variants)]
    return out


def child(limit: int, variants: int) -> None:
    """Run the text path once and print its figures as JSON (child process)."""
    from semsearch.service.reports.normalise import normalise
    from semsearch.service.reports.textreuse import find_links

    texts = news()[: limit or None]
    texts = derived(texts, variants) if variants > 1 else texts
    started = time.perf_counter()
    normal = [normalise(t).text for t in texts]
    normalise_s = time.perf_counter() - started
    started = time.perf_counter()
    links = find_links(normal)
    links_s = time.perf_counter() - started
    figures = {
        "texts": len(texts),
        "chars": sum(map(len, texts)),
        "normalise_s": normalise_s,
        "links_s": links_s,
        "copy_links": sum(link.level == "copy" for link in links),
        "reuse_links": sum(link.level == "reuse" for link in links),
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(figures))


def _measured(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one child run (it must succeed)."""
    run = run_child(command, cwd=ROOT, stderr=False)
    if run.returncode:
        raise subprocess.CalledProcessError(run.returncode, command)
    return run.wall_s, run.peak_mb, run.output


def collection_runs(*, quick: bool) -> None:
    """Time ``report reuse`` over the 112k collection (quick: the 10k one, built when
    missing) and write its section."""
    collection = news_collection(quick=True) if quick else COLLECTION
    manifest = collection / "manifest.json"
    if not (manifest.is_file() and json.loads(manifest.read_text("utf-8")).get("articles", 0)):
        raise SystemExit(f"{collection} is not built (python -m bench.corpus)")
    rows = []
    load_before = load_average()[0]
    for levels in ("", "copy,reuse,translation,same_event"):
        with tempfile.TemporaryDirectory(prefix="bench-reuse-") as tmp:
            command = [sys.executable, "-m", "semsearch.service.cli", "report", "reuse"]
            command += ["--index", str(collection), "--out", str(Path(tmp) / "links.jsonl")]
            command += ["--json", "--no-progress", *(["--levels", levels] if levels else [])]
            wall, peak, out = _measured(command)
        summary = json.loads(out.strip().splitlines()[-1])
        counts = ", ".join(
            f"{level} {summary.get(f'{level}_links', 0):,}"
            for level in (levels or "copy,reuse,translation").split(",")
        )
        rows.append(
            [
                levels or "default (copy,reuse,translation)",
                f"{summary['articles']:,}",
                f"{wall:.1f}",
                f"{peak:.0f}",
                counts,
            ]
        )
        print(rows[-1], flush=True)
    body = f"""
`semsearch report reuse --index var/bench/news-112k --out links.jsonl` (read-only), one child
process per run: wall time includes starting Python, loading the model, reading all passage
vectors and texts and writing the links; peak RSS of that child from `os.wait4`.

{table(["levels", "articles", "wall s", "peak RSS MB", "links"], rows)}

Load average {load_before:.1f} before, {load_average()[0]:.1f} after (2 cores shared with
other developers' jobs): times are upper bounds.
"""
    write_section(
        "reuse-collection",
        "Copies and reuse over the 112k collection",
        "python -m bench.reuse_scale --collection" + (" --quick" if quick else ""),
        body,
    )
    print(body)


def main() -> None:
    parser = options(__doc__, quick="10,000 texts, 3 variants")
    parser.add_argument("--variants", type=int, default=9, help="articles per news text")
    parser.add_argument("--child", nargs=2, type=int, metavar=("LIMIT", "VARIANTS"))
    parser.add_argument("--collection", action="store_true", help="time report reuse on 112k")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.collection:
        collection_runs(quick=args.quick)
        return
    limit, variants = (10_000, 3) if args.quick else (0, args.variants)
    rows = []
    for label, n_variants in (("news-112k texts", 1), ("derived articles", variants)):
        command = [
            sys.executable,
            "-m",
            "bench.reuse_scale",
            "--child",
            str(limit),
            str(n_variants),
        ]
        wall, _, out = _measured(command)
        f = json.loads(out.strip().splitlines()[-1])
        rows.append(
            [
                label,
                f"{f['texts']:,}",
                f"{f['chars']:,}",
                f"{f['normalise_s']:.1f}",
                f"{f['links_s']:.1f}",
                f"{wall:.1f}",
                f"{f['copy_links']:,}",
                f"{f['reuse_links']:,}",
                f"{f['peak_rss_mb']:.0f}",
            ]
        )
        print(rows[-1], flush=True)
    load = load_average()[0]
    body = f"""
`report reuse` over the 112k collection itself: `python -m bench.reuse_scale --collection`
("Copies and reuse over the 112k collection").

Text path (what `report reuse` runs for copy and reuse: normalise, MinHash LSH candidates in
chunks of band keys, span alignment, level rules; no model), one child process each, peak
RSS from `getrusage`. Derived articles: each news-112k text plus {variants - 1} edited copies
(truncated, a news-agency credit added, punctuation and spacing changed, spliced after half of
another text), so most are copies or reuse of another.

{table(["input", "articles", "characters", "normalise s", "candidates + alignment s", "child wall s", "copy links", "reuse links", "peak RSS MB"], rows)}

Load average {load:.1f} at the end (2 cores shared with other developers' jobs): times are
upper bounds.
"""
    write_section(
        "reuse-scale",
        "Copies and reuse at scale",
        "python -m bench.reuse_scale" + (" --quick" if args.quick else ""),
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
