"""Child process of tests/test_engine_crash.py: a writer that dies at one engine step.

Usage: ``python -m tests.engine_crash_child PATH STEP`` where STEP is ``after-store``
(killed once the store committed, before the engine is touched) or ``before-engine-commit``
(killed with the passages added to the engine but its commit not made). It writes two
batches whole, then dies inside the third write.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from semsearch.index import Collection, _engine
from tests.fakes import FakeEmbedder, make_article


def _die(*_: Any, **__: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    path, step = Path(sys.argv[1]), sys.argv[2]
    coll = Collection.open(path, FakeEmbedder(), create=True)
    for batch in range(3):
        if batch == 2:
            if step == "after-store":
                _engine.Engine.apply = _die  # type: ignore[method-assign]
            else:
                _engine._marker = _die
        coll.upsert(
            make_article(f"b{batch}-{i}", [f"批次{batch} 文章{i} 经济"], source="报")
            for i in range(3)
        )
        if batch == 1:
            coll.delete(["b0-0"])
    raise SystemExit("the write was expected to die")


if __name__ == "__main__":
    main()
