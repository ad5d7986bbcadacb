"""Loaded once into the crash tests' fork server, so each child it forks starts warm.

A crash test kills dozens of children; started cold, each spent seconds importing FAISS,
tantivy and jieba's dictionary before it could write. Forked from a server that loaded them
(here, on import: that is what a preload module is for), a child writes at once.
"""

from __future__ import annotations

import semsearch  # noqa: F401
import tests.fakes  # noqa: F401
from semsearch.index import lexical

lexical.warm_up()
