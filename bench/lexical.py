"""Lexical analysis of hostile text: seconds to analyse a run of one repeated character.

Compares the analyzer (``jieba+bigrams``, text handed to jieba in bounded pieces) with
jieba run on the whole text as the analyzer did before, on runs of a character outside
jieba's dictionary (丨, which its HMM handles), one inside it (啊) and a Latin letter, and
on the real seed page (where both must give the same terms).
Run: ``python -m bench.lexical [--quick]`` (quick: 10,000 characters only).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import jieba

from semsearch.index import lexical

from .harness import ROOT, load_average, options, table, write_section

SIZES = (10_000, 30_000, 100_000)
QUICK_SIZES = (10_000,)
# Unbounded jieba on 100k of 丨 takes minutes (quadratic); measured up to 30k only.
UNBOUNDED_MAX = 30_000
SEED = ROOT / "data" / "samples" / "zhengzhou-evening-news-2023-04-20.txt"


# The word filter of the analyzer before it bounded jieba's input (the baseline's own).
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


def _unbounded(text: str) -> list[str]:
    words = [t.strip() for t in jieba.cut_for_search(lexical.normalise(text))]
    kept = [t for t in words if t and _WORD.search(t) and t != "_"]
    return kept + lexical.bigrams(text)


def _seconds(analyse: Callable[[str], list[str]], text: str) -> float:
    began = time.perf_counter()
    analyse(text)
    return time.perf_counter() - began


def main() -> None:
    """Run the benchmark and record it."""
    parser = options(__doc__, quick="10,000 characters only")
    args = parser.parse_args()
    analyzer = lexical.analyzer("jieba+bigrams")
    lexical.warm_up()
    _seconds(analyzer.index_terms, "丨" * 1000)  # load jieba's HMM tables
    load = load_average()[0]
    rows = []
    for char in ("丨", "啊", "a"):
        for size in QUICK_SIZES if args.quick else SIZES:
            text = char * size
            bounded = _seconds(analyzer.index_terms, text)
            before = _seconds(_unbounded, text) if size <= UNBOUNDED_MAX else None
            rows.append(
                [char, size, round(bounded, 3), "-" if before is None else round(before, 3)]
            )
            print(rows[-1], flush=True)
    seed = SEED.read_text(encoding="utf-8")
    same = analyzer.index_terms(seed) == _unbounded(seed)
    seed_row = [
        "seed page",
        len(seed),
        round(min(_seconds(analyzer.index_terms, seed) for _ in range(5)), 4),
        round(min(_seconds(_unbounded, seed) for _ in range(5)), 4),
    ]
    rows.append(seed_row)
    body = (
        table(["text", "characters", "analyzer s", "jieba on the whole text s (before)"], rows)
        + f"\n\nOn the seed page both give {'the same' if same else 'DIFFERENT'} terms. "
        f"1-minute load average at the start: {load:.2f} on 2 cores shared with other "
        "developers' test runs, so single figures are indicative; the growth with size is "
        "the point (linear: 10x the text, about 10x the time)."
    )
    command = "python -m bench.lexical" + (" --quick" if args.quick else "")
    write_section("lexical", "Lexical analysis of hostile text", command, body)


if __name__ == "__main__":
    main()
