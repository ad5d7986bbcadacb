"""Person, place and organisation mentions of texts and articles, with character offsets.

:class:`EntityExtractor` tags texts with the LAC model (:mod:`.model`) through a
:class:`~.view.TagView` (folded script, OCR spaces removed), turns the model's spans into
:class:`Mention` values with offsets into the text as printed, after the general repairs of
the model's spans (:mod:`.repair`: dotted names, titles, credits, doctrines), and applies
the page rules (:mod:`.rules`): person spans holding several names are split, company suffixes join
their organisation, bare ``市委``-style
abbreviations get the paper's place in their folded form, byline credits give reporters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from semsearch.embedder.entities.model import LacTagger, Span, Tagger, TaggerConfig
from semsearch.embedder.entities.repair import RepairConfig, repair_spans
from semsearch.embedder.entities.rules import (
    SPLIT_PERSON_MIN_CHARS,
    PaperPlace,
    org_suffix,
    paper_place,
    reporter_spans,
    split_person,
)
from semsearch.embedder.entities.view import TagView, tag_view, windows
from semsearch.embedder.records import Article, Passage
from semsearch.embedder.settings import Settings


class EntityType(StrEnum):
    """What a mention names. Values are the names the index and the API use."""

    PERSON = "person"
    PLACE = "place"
    ORG = "org"


# The model's labels (LAC: PER, LOC, ORG) to types.
_LABEL_TYPES = {"PER": EntityType.PERSON, "LOC": EntityType.PLACE, "ORG": EntityType.ORG}
# Heading fields of an article that are tagged besides its passages, in this order.
HEADING_FIELDS = ("title", "kicker", "subtitle", "byline")


@dataclass(frozen=True, order=True)
class Mention:
    """One mention: ``text[start:end]`` of the text it was found in is ``printed``.

    ``folded`` is the form to match and count by: simplified script, OCR spaces removed,
    and a bare abbreviation completed with the paper's place (``市委`` → ``郑州市委``).
    """

    start: int
    end: int
    type: EntityType
    printed: str
    folded: str


@dataclass(frozen=True, kw_only=True)
class EntityConfig:
    """Tunables of extraction (``Settings.entity_*`` hold the same defaults).

    ``tagger``: threads, texts per model call, longest text per call.
    ``place``: the paper's place for bare abbreviations when the articles do not name their
    paper (None: found per article from its source and byline).
    ``split_person_min_chars``: person spans this long or longer are tried as several names.
    ``repair``: the general repairs of the tagger's spans (:mod:`.repair`; all on by default).
    """

    tagger: TaggerConfig = field(default_factory=TaggerConfig)
    place: PaperPlace | None = None
    split_person_min_chars: int = SPLIT_PERSON_MIN_CHARS
    repair: RepairConfig = field(default_factory=RepairConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> EntityConfig:
        """The configuration ``SEMSEARCH_ENTITY_*`` settings ask for."""
        return cls(
            tagger=TaggerConfig(
                threads=settings.entity_threads, batch_size=settings.entity_batch_size
            )
        )


@dataclass(frozen=True)
class ArticleEntities:
    """The mentions of one article: per passage (offsets into the passage's text) and per
    heading field (offsets into ``article.title``, ``kicker``, ``subtitle`` and
    ``metadata['byline']``)."""

    passages: tuple[tuple[Mention, ...], ...]
    headings: Mapping[str, tuple[Mention, ...]]

    def names(self) -> set[tuple[EntityType, str]]:
        """Every distinct ``(type, folded)`` the article names (what a facet counts)."""
        found = {(m.type, m.folded) for group in self.passages for m in group}
        found |= {(m.type, m.folded) for group in self.headings.values() for m in group}
        return found


class EntityExtractor:
    """Tags texts and articles; one model per extractor (load it once, it takes ~1 s)."""

    def __init__(self, config: EntityConfig | None = None, tagger: Tagger | None = None):
        self.config = config or EntityConfig()
        self.tagger: Tagger = tagger or LacTagger(self.config.tagger)
        self._place_cache: dict[str, bool] = {}

    def extract_texts(
        self, texts: Sequence[str], *, place: PaperPlace | None = None
    ) -> list[list[Mention]]:
        """The mentions of each text, in order of position; one batched pass of the model.

        Args:
            texts: Any texts (passages, paragraphs, headings), printed script.
            place: The paper's place, for bare abbreviations; default ``config.place``.
        """
        place = place or self.config.place
        return self._extract(texts, [place] * len(texts))

    def _extract(
        self, texts: Sequence[str], places: Sequence[PaperPlace | None]
    ) -> list[list[Mention]]:
        """:meth:`extract_texts` with each text's own paper place (many articles at once)."""
        views = [tag_view(text) for text in texts]
        pieces: list[tuple[int, int]] = []  # (text index, window start in the view)
        inputs: list[str] = []
        for index, view in enumerate(views):
            for start, end in windows(view.text, self.config.tagger.max_chars):
                pieces.append((index, start))
                inputs.append(view.text[start:end])
        found: list[list[Mention]] = [[] for _ in texts]
        tagged = self.tagger.tag(inputs)
        for (index, offset), piece, raw in zip(pieces, inputs, tagged, strict=True):
            spans = repair_spans(piece, raw, self.config.repair)
            for position, span in enumerate(spans):
                kind = _LABEL_TYPES.get(span.label)
                if kind is None:
                    continue
                suffix = 0
                following = spans[position + 1] if position + 1 < len(spans) else None
                # A suffix is a whole plain word after it (``中心``, not ``中心区``), never
                # a part of the next entity.
                if kind is EntityType.ORG and following and following.label not in _LABEL_TYPES:
                    word = views[index].text[offset + following.start : offset + following.end]
                    suffix = len(word) if org_suffix(word) == len(word) else 0
                found[index] += self._mentions(
                    texts[index], views[index], span, offset, kind, places[index], suffix
                )
        return [sorted(group) for group in found]

    def _mentions(
        self,
        text: str,
        view: TagView,
        span: Span,
        offset: int,
        kind: EntityType,
        place: PaperPlace | None,
        suffix: int = 0,
    ) -> list[Mention]:
        first, last = span.start + offset, span.end + offset + suffix
        folded = view.text[first:last]
        parts = [(0, len(folded))]
        if kind is EntityType.PERSON:
            parts = split_person(folded, self.config.split_person_min_chars)
        mentions = []
        for a, b in parts:
            start, end = view.span(first + a, first + b)
            name = folded[a:b]
            if kind is EntityType.ORG and place is not None:
                name = place.resolve(name) or name
            mentions.append(Mention(start, end, kind, text[start:end], name))
        return mentions

    def is_place(self, name: str) -> bool:
        """Whether the tagger reads ``name`` alone as one place (cached)."""
        known = self._place_cache.get(name)
        if known is None:
            spans = self.tagger.tag([tag_view(name).text])[0]
            known = len(spans) == 1 and spans[0].label == "LOC"
            self._place_cache[name] = known
        return known

    def article_place(self, article: Article) -> PaperPlace | None:
        """The place of the paper the article names (source, then byline), or the config's."""
        byline = article.metadata.get("byline")
        found = paper_place(
            [article.source, byline if isinstance(byline, str) else None], self.is_place
        )
        return found or self.config.place

    def extract_article(self, article: Article, passages: Sequence[Passage]) -> ArticleEntities:
        """The mentions of an article's passages and headings, in one batched pass.

        In the byline, persons are the reporters its credit names (the tagger's own person
        spans there are replaced); its other mentions (the paper: ``郑州晚报``) are kept.
        """
        return self.extract_articles([(article, passages)])[0]

    def extract_articles(
        self, items: Sequence[tuple[Article, Sequence[Passage]]]
    ) -> list[ArticleEntities]:
        """:meth:`extract_article` of many articles in one batched pass of the model: an
        article of one short passage fills a batch of one alone, and the model's cost per
        call, not per character, then sets the rate (``index enrich`` tags by the write).
        """
        texts: list[str] = []
        places: list[PaperPlace | None] = []
        plans: list[tuple[int, list[tuple[str, str]], str | None]] = []
        for article, passages in items:
            byline = article.metadata.get("byline")
            heading_texts = {
                "title": article.title,
                "kicker": article.kicker,
                "subtitle": article.subtitle,
                "byline": byline if isinstance(byline, str) else None,
            }
            fields = [(name, text) for name, text in heading_texts.items() if text]
            own = [p.text for p in passages] + [text for _, text in fields]
            texts += own
            places += [self.article_place(article)] * len(own)
            plans.append((len(passages), fields, heading_texts["byline"]))
        tagged = self._extract(texts, places)
        out: list[ArticleEntities] = []
        position = 0
        for count, fields, byline_text in plans:
            group = tagged[position : position + count + len(fields)]
            position += count + len(fields)
            headings = {
                name: tuple(found) for (name, _), found in zip(fields, group[count:], strict=True)
            }
            if "byline" in headings:
                headings["byline"] = tuple(_with_reporters(byline_text or "", headings["byline"]))
            out.append(ArticleEntities(tuple(tuple(g) for g in group[:count]), headings))
        return out


def _with_reporters(byline: str, mentions: Sequence[Mention]) -> list[Mention]:
    kept = [m for m in mentions if m.type is not EntityType.PERSON]
    for start, end in reporter_spans(byline):
        name = byline[start:end]
        kept.append(Mention(start, end, EntityType.PERSON, name, tag_view(name).text))
    return sorted(kept)


@lru_cache(maxsize=1)
def default_extractor() -> EntityExtractor:
    """One shared extractor with the default configuration (the model loads once)."""
    return EntityExtractor()
