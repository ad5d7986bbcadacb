"""The benchmark registry covers every benchmark module, and the harness measures right."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bench.harness import MS, memory_mb, options, percentiles, query_count
from bench.registry import BENCHMARKS, SUMMARY, section_order

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _writers() -> dict[str, str]:
    """Module -> source, for every bench module that writes a docs section."""
    out = {}
    for path in sorted(BENCH.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if path.stem != "harness" and "write_section(" in source:
            out[f"bench.{path.stem}"] = source
    return out


def test_every_module_that_writes_a_section_is_registered_with_its_sections() -> None:
    writers = _writers()
    assert set(writers) == {b.module for b in BENCHMARKS}
    for bench in BENCHMARKS:
        for section in bench.sections:
            # The name is written literally, or as SECTION plus the size the entry passes.
            literal = f'"{section}"' in writers[bench.module]
            constant = re.search(r'SECTION = "([\w-]+)"', writers[bench.module])
            assert literal or (constant and section.startswith(constant.group(1))), section


def test_sections_are_named_once_and_every_entry_has_a_quick_pass_or_a_reason() -> None:
    order = section_order()
    assert order[0] == SUMMARY and len(order) == len(set(order))
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in order)
    for bench in BENCHMARKS:
        assert bench.command(quick=False) == ["-m", bench.module, *bench.args]
        assert bench.command(quick=True) is not None or bench.why


def test_percentiles() -> None:
    seconds = np.arange(1, 101) / 1000.0  # 1..100 ms
    p50, p99 = percentiles(seconds, scale=MS)
    assert p50 == pytest.approx(50.5) and p99 == pytest.approx(99.01)
    assert percentiles([], (50, 90, 99)) == (0.0, 0.0, 0.0)


def test_memory_of_this_process() -> None:
    memory = memory_mb()
    assert memory["VmRSS"] > 1 and memory["VmHWM"] >= memory["VmRSS"]
    assert memory["RssAnon"] + memory["RssFile"] <= memory["VmRSS"] + 1


def test_shared_options_parse_alike_and_the_counts_follow_quick() -> None:
    parser = options("doc", record=True, index=True, queries=200)
    given = parser.parse_args(["--quick", "--no-record", "--index", "c", "--queries", "7"])
    assert (given.quick, given.no_record, given.index, given.queries) == (True, True, Path("c"), 7)
    assert query_count(given, 200, 30) == 7
    plain = parser.parse_args([])
    assert (plain.quick, plain.no_record, plain.index, plain.queries) == (False, False, None, None)
    assert query_count(plain, 200, 30) == 200
    assert query_count(parser.parse_args(["--quick"]), 200, 30) == 30
    # Options not asked for are not there (a module's own option of that name stays free).
    with pytest.raises(SystemExit):
        options("doc").parse_args(["--no-record"])


def test_bench_modules_build_their_parsers_through_the_harness() -> None:
    # Left out: bench.run (the registry's runner, no benchmark), bench.index (subcommands,
    # each its own options) and bench.entities (not yet moved: being reworked elsewhere).
    own = {"run", "index", "entities", "harness"}
    for path in sorted(BENCH.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if path.stem not in own and "parse_args(" in source:
            assert "ArgumentParser(" not in source and "options(" in source, path.name
