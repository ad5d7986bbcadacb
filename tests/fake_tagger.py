"""A tagger double for fast index tests of named entities (the real one is LAC)."""

from __future__ import annotations

from collections.abc import Sequence

from semsearch.embedder.entities import EntityExtractor
from semsearch.embedder.entities.model import Span


class DictionaryTagger:
    """A tagger double for fast index tests: labels the names it is given wherever they
    occur (longest first), every other character a one-character word. The extractor's
    own rules (folding, offsets, byline reporters, suffixes) run on its spans as on LAC's.
    """

    def __init__(self, names: dict[str, str]) -> None:
        # names: name -> LAC label (PER, LOC, ORG)
        self.names = dict(sorted(names.items(), key=lambda item: -len(item[0])))

    def tag(self, texts: Sequence[str]) -> list[list[Span]]:
        out: list[list[Span]] = []
        for text in texts:
            spans: list[Span] = []
            position = 0
            while position < len(text):
                for name, label in self.names.items():
                    if text.startswith(name, position):
                        spans.append(Span(label, position, position + len(name)))
                        position += len(name)
                        break
                else:
                    spans.append(Span("w", position, position + 1))
                    position += 1
            out.append(spans)
        return out


# The names the fast entity tests use, with LAC's labels.
TEST_NAMES = {
    "何雄": "PER",
    "张昕": "PER",
    "李明": "PER",
    "巩义市": "LOC",
    "管城区": "LOC",
    "郑州": "LOC",
    "阿里巴巴": "ORG",
    "蚂蚁集团": "ORG",
}


def fake_extractor(names: dict[str, str] | None = None) -> EntityExtractor:
    """An extractor with the real rules over :class:`DictionaryTagger`."""
    return EntityExtractor(tagger=DictionaryTagger(names or TEST_NAMES))
