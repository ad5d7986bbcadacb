"""Every benchmark, once: what ``make bench`` runs in full and ``make bench-quick`` quickly.

Each :class:`Benchmark` is one module run in its own process, with the arguments of its
full run and of its quick variant, and the docs sections it writes (docs/bench/NAME.md),
which docs/benchmarks.md lists in this order. Order = cheapest prerequisites first: the
news collections that later entries reuse are built by the first that needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Hand-written analysis, first in the document (no module writes it).
SUMMARY = "summary"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark module and how to run it.

    Attributes:
        module: ``python -m`` target.
        sections: Docs sections it writes, in document order.
        args: Arguments of the full run.
        quick: Arguments of the quick variant; None when another entry's quick variant
            already runs this module the quick way (``why`` says which).
        why: Why there is no quick variant of its own.
    """

    module: str
    sections: tuple[str, ...]
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] | None = ("--quick",)
    why: str = ""

    def command(self, *, quick: bool) -> list[str] | None:
        """``python -m`` arguments of the run (None: no quick variant of its own)."""
        if not quick:
            return ["-m", self.module, *self.args]
        return None if self.quick is None else ["-m", self.module, *self.quick]


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("bench.embed", ("embed",)),
    Benchmark("bench.index", ("index",), ("vectors",), ("vectors", "--quick")),
    Benchmark("bench.quality", ("quality",)),
    Benchmark("bench.fusion_tuning", ("fusion",)),
    Benchmark("bench.folding", ("folding",), ("--limit", "1000")),
    Benchmark("bench.matchset", ("matchset",)),
    Benchmark("bench.http", ("http",)),
    Benchmark("bench.query_speed", ("query-speed",)),
    Benchmark("bench.engine", ("engine-112k",), ("--size", "112k")),
    Benchmark("bench.request_cost", ("request-cost-112k",), ("--size", "112k")),
    Benchmark("bench.reports", ("reports",)),
    # Quick leaves txtai out: its virtualenv is installed from the package index on first
    # use, and it embeds every passage in fp32 on each run.
    Benchmark("bench.peers", ("peers",), (), ("--quick", "--no-txtai")),
    Benchmark("bench.distributed", ("distributed",)),
    Benchmark("bench.backup", ("backup",)),
    Benchmark("bench.lexical", ("lexical",)),
    Benchmark("bench.formats", ("formats",)),
    Benchmark("bench.reuse", ("reuse",), ("--scale", "0", "--collection")),
    Benchmark("bench.reuse_crosslingual", ("reuse-crosslingual",)),
    Benchmark("bench.reuse_scale", ("reuse-scale",)),
    Benchmark(
        "bench.reuse_scale", ("reuse-collection",), ("--collection",), ("--collection", "--quick")
    ),
    Benchmark("bench.upsert", ("upsert",)),
    Benchmark("bench.hostile", ("hostile",)),
    Benchmark("bench.layout", ("layout",)),
    # Skips (and says how to get them) when the NDNP fixture batches are not cloned.
    Benchmark("bench.ndnp", ("ndnp",)),
    Benchmark("bench.entities", ("entities",)),
    Benchmark("bench.entity_facets", ("entity-facets",)),
    Benchmark("bench.million", ("million",)),
    Benchmark("bench.shards_quality", ("shards-quality-fresh",), ("--build", "fresh")),
    Benchmark("bench.shards_quality", ("shards-quality-split",), ("--build", "split")),
    Benchmark("bench.shards_speed", ("shards-speed",)),
    Benchmark("bench.shards_ingest", ("shards-ingest",)),
    Benchmark("bench.reshard", ("reshard",)),
    Benchmark(
        "bench.engine",
        ("engine-1m",),
        ("--size", "1m"),
        None,
        "the 1M collection is built by bench.million's full run; bench.engine's quick "
        "variant (the engine-112k entry, on 10k collections) runs the same code",
    ),
    Benchmark(
        "bench.entity_facets",
        ("entity-facets-1m",),
        ("--size", "1m"),
        None,
        "the 1M collection is built by bench.million's full run and tagged by `semsearch "
        "index enrich`; the entity-facets entry's quick variant runs the same code",
    ),
    Benchmark(
        "bench.request_cost",
        ("request-cost-1m",),
        ("--size", "1m"),
        None,
        "the 1M collection is built by bench.million's full run; the request-cost-112k "
        "entry's quick variant (on the 10k collection) runs the same code",
    ),
)


def section_order() -> list[str]:
    """Every docs section in document order: the summary, then each benchmark's."""
    return [SUMMARY, *(name for b in BENCHMARKS for name in b.sections)]
