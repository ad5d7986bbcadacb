"""txtai as a peer: index given passages, run given queries, write rankings and timings as JSON.

Runs inside the peers virtualenv (``var/peers-venv``), not the project's, so it imports
nothing from the project. Usage::

    var/peers-venv/bin/python bench/peers_txtai.py INPUT.json OUTPUT.json

``INPUT.json``: ``{"model": dir, "passages": [text], "queries": [text], "depth": int,
"latency_queries": int, "threads": int}``. ``OUTPUT.json``: ``{"version", "index_s",
"search_s", "rankings": [[passage index, ...] per query], "latency_ms": [...]}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

# e5 needs its prompts; given explicitly so no txtai default can drop them.
E5_INSTRUCTIONS = {"query": "query: ", "data": "passage: "}
BATCH = 32


def main(argv: list[str]) -> int:
    """Run the peer.

    Args:
        argv: ``[input_path, output_path]``.

    Returns:
        Exit code.
    """
    with open(argv[0], encoding="utf-8") as handle:
        job: dict[str, Any] = json.load(handle)
    import torch

    torch.set_num_threads(int(job["threads"]))
    from txtai import Embeddings
    from txtai.version import __version__

    embeddings = Embeddings(
        path=job["model"],
        instructions=E5_INSTRUCTIONS,
        hybrid=True,
        content=False,
        batch=BATCH,
        encodebatch=BATCH,
    )
    passages: list[str] = job["passages"]
    began = time.perf_counter()
    embeddings.index([(str(i), text, None) for i, text in enumerate(passages)])
    index_s = time.perf_counter() - began
    depth = int(job["depth"])
    queries: list[str] = job["queries"]
    began = time.perf_counter()
    found = embeddings.batchsearch(queries, depth)
    search_s = time.perf_counter() - began
    rankings = [[int(uid) for uid, _ in hits] for hits in found]
    latency: list[float] = []
    for query in queries[: int(job["latency_queries"])]:
        began = time.perf_counter()
        embeddings.search(query, 10)
        latency.append((time.perf_counter() - began) * 1000.0)
    result = {
        "version": __version__,
        "index_s": index_s,
        "search_s": search_s,
        "rankings": rankings,
        "latency_ms": latency,
    }
    with open(argv[1], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
