"""Request and response bodies of the HTTP API (pydantic models with OpenAPI examples)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
)

from semsearch.embedder.dates import GIVEN_DATE_PATTERN, normalize_date
from semsearch.embedder.errors import InputError
from semsearch.embedder.fields import MAX_ID_CHARS
from semsearch.index import ENTITY_TYPES, FACET_FIELDS, METADATA_KEY_PATTERN, parse_entity
from semsearch.index.filters import ENTITY_NAME_CHARS

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Enough of a bad value to recognise it in an error message.
_SHOWN_CHARS = 40


def valid_text(value: str) -> str:
    """Refuse a lone surrogate (JSON ``"\\ud800"``): not text, and SQLite cannot store it.

    Args:
        value: A string from a request.

    Returns:
        The string, unchanged.

    Raises:
        ValueError: It holds a UTF-16 surrogate code point.
    """
    found = _SURROGATE.search(value)
    if found:
        raise ValueError(
            f"not valid Unicode text (lone surrogate U+{ord(found.group()):04X}"
            f" at character {found.start() + 1})"
        )
    return value


def iso_date(value: str) -> str:
    """Read a date filter as ingest reads dates, and return it as ``YYYY-MM-DD``.

    The schema states the same set as a pattern (:data:`GIVEN_DATE_PATTERN`), so what a
    client's validator allows is what the server reads; an empty string is no date (leave
    the filter out for no bound).

    Args:
        value: ``2023-04-20``, ``2023/4/20``, ``20230420``, ``2023年4月20日``...

    Returns:
        The ISO date.

    Raises:
        ValueError: Not a date.
    """
    iso = normalize_date(valid_text(value))
    if iso is None:
        raise ValueError(
            f"{value[:_SHOWN_CHARS]!r} is not a date (use YYYY-MM-DD, or leave the filter out)"
        )
    return iso


def integral(value: Any) -> Any:
    """JSON Schema's ``integer`` is any number without a fraction: ``19.0`` is 19."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def metadata_key(value: str) -> str:
    """Refuse a metadata key that cannot name an extra field (letters, digits, ``_ . -``)."""
    if not re.fullmatch(METADATA_KEY_PATTERN, valid_text(value)):
        raise ValueError(
            f"{value[:_SHOWN_CHARS]!r} cannot be a metadata key (letters, digits, _ . - only)"
        )
    return value


def meta_item(value: str) -> str:
    """Refuse a ``meta`` query parameter that is not ``KEY=VALUE`` with a valid key."""
    key, sep, _ = value.partition("=")
    if not sep:
        raise ValueError(f"expects KEY=VALUE, got {value[:_SHOWN_CHARS]!r}")
    metadata_key(key)
    return value


def entity_item(value: str) -> str:
    """Refuse an ``entity`` value that is not ``TYPE:NAME`` with a known type."""
    try:
        parse_entity(value)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    return value


Mode = Literal["hybrid", "dense", "lexical"]
# An integer field of a strict model: a JSON number without a fraction, not a string or bool.
Whole = Annotated[int, BeforeValidator(integral)]
# Python's whitespace (what str.strip drops), spelled out: a schema's \s is ECMAScript's,
# which leaves out \x1c-\x1f and \x85 and adds \ufeff.
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Not blank: what the query checks refuse as empty (the schema says it as a pattern).
NOT_BLANK = rf"[^{SPACE}]"
# Every string a request hands to the index is checked to be valid Unicode text.
Text = Annotated[str, AfterValidator(valid_text)]
DATE_FORMS = "YYYY-MM-DD (also 2023/4/20, 20230420, 2023年4月20日), years 1600 to 2200"
IsoDate = Annotated[
    str,
    AfterValidator(iso_date),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": GIVEN_DATE_PATTERN,
            "description": DATE_FORMS,
        }
    ),
]
# The schema says what the validators check, so that what it allows is accepted.
_KEY = METADATA_KEY_PATTERN.strip("^$")
MetadataKey = Annotated[
    str,
    AfterValidator(metadata_key),
    WithJsonSchema({"type": "string", "pattern": METADATA_KEY_PATTERN}),
]
MetaItem = Annotated[
    str, AfterValidator(meta_item), WithJsonSchema({"type": "string", "pattern": f"^{_KEY}="})
]
# TYPE:NAME, the name 1 to ENTITY_NAME_CHARS characters once its outer spaces are dropped.
ENTITY_PATTERN = (
    rf"^[{SPACE}]*(?:{'|'.join(ENTITY_TYPES)})[{SPACE}]*:[{SPACE}]*[^{SPACE}]"
    rf"(?:[\s\S]{{0,{ENTITY_NAME_CHARS - 2}}}[^{SPACE}])?[{SPACE}]*$"
)
EntityItem = Annotated[
    str,
    AfterValidator(valid_text),
    AfterValidator(entity_item),
    WithJsonSchema({"type": "string", "pattern": ENTITY_PATTERN}),
]
_FACET = rf"(?:{'|'.join(FACET_FIELDS)}|meta\.{_KEY})"
# One facet name, or none (blank names are skipped); GET also takes them comma-separated.
FACET_PATTERN = rf"^\s*(?:{_FACET}\s*)?$"
FACETS_PATTERN = rf"^\s*(?:{_FACET}\s*)?(?:,\s*(?:{_FACET}\s*)?)*$"
FacetName = Annotated[str, WithJsonSchema({"type": "string", "pattern": FACET_PATTERN})]
FacetNames = Annotated[str, WithJsonSchema({"type": "string", "pattern": FACETS_PATTERN})]
MetadataValue = Text | int | float | bool | list[Text | int | float | bool]
ENTITY_FILTER = (
    "Named entities as TYPE:NAME (TYPE: person, place or org; the name as printed, in either "
    "script): only articles naming every one of them."
)
Sort = Literal["relevance", "date-desc", "date-asc"]
QUERY_SYNTAX = (
    '`"exact phrase"`, `+must`, `-exclude`, `-"phrase"`, `A OR B`; phrases, `+` and `-` '
    "parts are hard constraints, the rest ranks. A quote that closes no phrase (pasted "
    "text such as `经济发展的“压舱石`), a lone `+`/`-` and an `OR` at an edge are read as text; "
    "`parsed.notes` in the result says so. Only a query of exclusions alone is refused."
)

EXAMPLE_ARTICLE: dict[str, JsonValue] = {
    "id": "zzwb-2023-04-20-02",
    "title": "促进数字技术与实体经济深度融合全力以赴打造数字经济发展新高地",
    "date": "2023-04-20",
    "source": "郑州晚报",
    "section": "要闻",
    "url": None,
}


class ErrorBody(BaseModel):
    """What went wrong, for people and programs."""

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="One human-readable sentence.")


class ErrorResponse(BaseModel):
    """Every error response has this shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": {"code": "not_found", "message": "no article 'x'"}}]
        }
    )

    error: ErrorBody


class SearchFilters(BaseModel):
    """Metadata restrictions, applied before the top-k cut."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"date_from": "2023-04-01", "date_to": "2023-04-30", "sources": ["郑州晚报"]}
            ]
        },
    )

    date_from: IsoDate | None = Field(default=None, description=f"Earliest date: {DATE_FORMS}.")
    date_to: IsoDate | None = Field(
        default=None, description=f"Latest date (inclusive): {DATE_FORMS}."
    )
    sources: list[Text] | None = Field(default=None, description="Any of these sources.")
    sections: list[Text] | None = Field(default=None, description="Any of these sections.")
    article_ids: list[Text] | None = Field(default=None, description="Only these articles.")
    metadata: dict[MetadataKey, MetadataValue] = Field(
        default_factory=dict,
        description="Extra record fields that must equal (any of) a value.",
        # The key pattern is the only way in (pydantic writes it as patternProperties).
        json_schema_extra={"additionalProperties": False},
    )
    entities: list[EntityItem] | None = Field(
        default=None,
        description=ENTITY_FILTER,
        examples=[["person:何雄"]],
    )


class SearchRequest(BaseModel):
    """A search, as the JSON body of `POST /search`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "q": "数字经济 核心产业",
                    "k": 5,
                    "mode": "hybrid",
                    "filters": {"date_from": "2023-01-01", "sources": ["郑州晚报"]},
                }
            ]
        },
    )

    q: Text = Field(
        min_length=1,
        description=f"The query, in any language the model covers. Syntax: {QUERY_SYNTAX}",
        json_schema_extra={"pattern": NOT_BLANK},
    )
    k: Whole = Field(default=10, ge=1, description="Results per page.")
    mode: Mode = Field(default="hybrid", description="hybrid (default), dense or lexical.")
    offset: Whole = Field(default=0, ge=0, description="Results to skip.")
    collapse: bool = Field(default=False, description="One hit per article.")
    min_score: float | None = Field(
        default=None, allow_inf_nan=False, description="Drop hits scoring below this."
    )
    filters: SearchFilters = Field(default_factory=SearchFilters)
    sort: Sort = Field(default="relevance", description="relevance, date-desc or date-asc.")
    facets: list[FacetName] = Field(
        default_factory=list,
        description="Count matching articles per value: source, section, year, month, "
        "person, place, org, meta.KEY.",
    )


class ArticleRef(BaseModel):
    """The article a hit belongs to (display fields)."""

    id: str
    title: str
    date: str | None = None
    source: str | None = None
    section: str | None = None
    url: str | None = None


class PageRegion(BaseModel):
    """Where a passage was printed: its page and line boxes."""

    page: int = Field(description="1-based page number in the source file.")
    boxes: list[list[float]] = Field(
        description="Line boxes [x0, y0, x1, y1], y downwards, in the source's units "
        "(PDF points, image pixels, ALTO units)."
    )


class PassageRef(BaseModel):
    """A passage: the searched unit, with offsets into its article's text."""

    id: int
    text: str
    ordinal: int
    paragraph_index: int
    start: int
    end: int
    layout: list[PageRegion] | None = Field(
        default=None, description="Pages and boxes, for PDF, ALTO, hOCR and OCR input."
    )


class SearchHit(BaseModel):
    """One result."""

    rank: int = Field(description="1-based position over all pages.")
    score: float = Field(description="The mode's score (fused score in [0, 1] for hybrid).")
    passage: PassageRef
    article: ArticleRef
    snippet: str = Field(
        description="Window of the passage around the query terms as safe HTML: text escaped, "
        "terms in <mark>."
    )
    snippet_text: str = Field(description="The same window as plain text.")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) character ranges of highlighted terms in snippet_text."
    )
    matched_passages: int = Field(
        default=0, description="Other passages of the article that matched (collapse only)."
    )
    dense_score: float | None = None
    lexical_score: float | None = None


class FacetValue(BaseModel):
    """One value of a facet and how many matching articles have it."""

    value: str | int | float | bool
    count: int


class ParsedQuery(BaseModel):
    """How the query was read."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "他指出，重大项目是经济发展的“压舱石",
                    "words": ["他指出，重大项目是经济发展的“压舱石"],
                    "phrases": [],
                    "required": [],
                    "excluded": [],
                    "notes": ["unbalanced quote “ read as text"],
                }
            ]
        }
    )

    text: str = Field(description="What ranks the results: every part not excluded.")
    words: list[str] = Field(description="Plain words: they rank, they constrain nothing.")
    phrases: list[str] = Field(description="The quoted texts among required and excluded.")
    required: list[list[str]] = Field(
        description="Clauses that must all hold in a hit; a clause holds when any of its "
        "texts (a phrase, a +word, parts joined by OR) occurs."
    )
    excluded: list[str] = Field(description="Articles holding any of these are left out.")
    notes: list[str] = Field(
        description="Where the query was read leniently, e.g. an unbalanced quote read as text."
    )


TotalRelation = Literal["eq", "gte", "approx"]


class SearchResult(BaseModel):
    """A page of results."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "数字经济",
                    "parsed": {
                        "text": "数字经济",
                        "words": ["数字经济"],
                        "phrases": [],
                        "required": [],
                        "excluded": [],
                        "notes": [],
                    },
                    "mode": "hybrid",
                    "took_ms": 31.2,
                    "total": 1,
                    "total_passages": 1,
                    "sort": "relevance",
                    "facets": {"month": [{"value": "2023-04", "count": 1}]},
                    "has_more": False,
                    "k": 10,
                    "offset": 0,
                    "collapsed": False,
                    "lexical_weight": 0.5,
                    "results": [
                        {
                            "rank": 1,
                            "score": 0.92,
                            "passage": {
                                "id": 7,
                                "text": "数字经济核心产业增加值…",
                                "ordinal": 0,
                                "paragraph_index": 0,
                                "start": 0,
                                "end": 12,
                            },
                            "article": EXAMPLE_ARTICLE,
                            "snippet": "<mark>数字经济</mark>核心产业增加值…",
                            "snippet_text": "数字经济核心产业增加值…",
                            "highlights": [[0, 4]],
                            "matched_passages": 0,
                            "dense_score": 0.88,
                            "lexical_score": 7.1,
                        }
                    ],
                }
            ]
        }
    )

    query: str = Field(description="The query as received (for /similar: what was the example).")
    parsed: ParsedQuery | None = Field(
        default=None, description="How the query was read (search only)."
    )
    mode: str
    took_ms: float = Field(description="Server time for the whole request, milliseconds.")
    total: int = Field(
        description="Matching articles: the whole match set after filters, not the page "
        "(for /similar: results on this page)."
    )
    total_passages: int | None = Field(default=None, description="Matching passages (search only).")
    total_relation: TotalRelation = Field(
        default="eq",
        description="How exact `total` is, as Elasticsearch's `track_total_hits`: `eq` "
        "exact, `gte` a lower bound (dense counting stopped at the candidates fetched), "
        "`approx` an estimate (more matching passages than the exact-count limit).",
    )
    sort: Sort = Field(default="relevance", description="The order of the results.")
    facets: dict[str, list[FacetValue]] | None = Field(
        default=None,
        description="Matching articles per value of each facet asked for. On a sharded "
        "collection a count may be a lower bound where a shard cut its own list (more "
        "distinct values than its shard size; docs/distributed.md).",
    )
    has_more: bool = Field(description="True when a next page (offset + k) has results.")
    k: int
    offset: int
    collapsed: bool
    lexical_weight: float | None = Field(
        default=None, description="Hybrid only: how much the lexical side counted."
    )
    partial: bool = Field(
        default=False,
        description="Sharded collections: true when shards did not answer in time; their "
        "matches are missing from the results and `total` is a lower bound.",
    )
    missing_shards: list[int] = Field(
        default_factory=list, description="The shards that did not answer (when `partial`)."
    )
    results: list[SearchHit]


class PassageResponse(PassageRef):
    """A passage with its article."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "text": "数字经济核心产业增加值…",
                    "ordinal": 0,
                    "paragraph_index": 0,
                    "start": 0,
                    "end": 12,
                    "article": EXAMPLE_ARTICLE,
                }
            ]
        }
    )

    article: ArticleRef


class Paragraph(BaseModel):
    """One paragraph of an article with offsets into its text."""

    index: int
    text: str
    start: int
    end: int


class ArticleResponse(BaseModel):
    """An article with its paragraphs and passages."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **EXAMPLE_ARTICLE,
                    "author": "张昕",
                    "metadata": {"page": 2},
                    "text": "第一段。\n\n第二段。",
                    "paragraphs": [
                        {"index": 0, "text": "第一段。", "start": 0, "end": 4},
                        {"index": 1, "text": "第二段。", "start": 6, "end": 10},
                    ],
                    "passages": [
                        {
                            "id": 7,
                            "text": "第一段。",
                            "ordinal": 0,
                            "paragraph_index": 0,
                            "start": 0,
                            "end": 4,
                        }
                    ],
                }
            ]
        }
    )

    id: str
    title: str
    date: str | None = None
    source: str | None = None
    section: str | None = None
    url: str | None = None
    author: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    has_pages: bool = Field(
        default=False,
        description="Its printed pages can be drawn (`GET /articles/{id}/pages/{page}`): read "
        "from a PDF or page image under a directory the operator allowed.",
    )
    text: str
    paragraphs: list[Paragraph]
    passages: list[PassageRef]


class ArticleIn(BaseModel):
    """One record, with the fields of a JSONL ingest line; other fields become metadata."""

    model_config = ConfigDict(extra="allow", strict=True)

    id: str | None = Field(
        default=None,
        description="Stable id; default: hash of title+text. At most 256 characters, no '/',"
        " '\\' or control characters, not '.' or '..'.",
        json_schema_extra={
            "maxLength": MAX_ID_CHARS,
            "allOf": [{"pattern": NOT_BLANK}, {"pattern": r"^[^/\\\x00-\x1f\x7f]*$"}],
            "not": {"enum": [".", ".."]},
        },
    )
    title: str | None = None
    text: str = Field(
        description="Body; paragraphs separated by newlines. Control characters and"
        " zero-width marks are dropped, and what is left must not be empty.",
        json_schema_extra={"minLength": 1, "pattern": NOT_BLANK},
    )
    date: str | None = Field(
        default=None,
        description="Publication date: YYYY-MM-DD, or another form file ingest reads"
        " (`2023/4/20`, `20230420`, `2023年4月20日`, an ISO timestamp), years 1600 to 2200.",
        # Blank, like any blank field of a record, is the same as leaving it out.
        json_schema_extra={"pattern": rf"{GIVEN_DATE_PATTERN}|^\s*$"},
    )
    source: str | None = None
    section: str | None = None
    url: str | None = None
    author: str | list[str] | None = None


class ArticlesIn(BaseModel):
    """A batch for `POST /articles`: written all or nothing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "articles": [
                        {
                            "id": "zzwb-2023-04-20-02",
                            "title": "打造数字经济发展新高地",
                            "text": "数字经济核心产业增加值增长。\n第二段。",
                            "date": "2023-04-20",
                            "source": "郑州晚报",
                            "page": 2,
                        }
                    ]
                }
            ]
        },
    )

    articles: list[ArticleIn] = Field(min_length=1)


class WriteReport(BaseModel):
    """What a write changed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "added": 1,
                    "replaced": 0,
                    "unchanged": 0,
                    "passages_added": 2,
                    "passages_removed": 0,
                    "generation": 4,
                }
            ]
        }
    )

    added: int
    replaced: int
    unchanged: int
    passages_added: int
    passages_removed: int
    generation: int


class DeleteReport(BaseModel):
    """Outcome of `DELETE /articles/{id}`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "a1", "deleted": True}]})

    id: str
    deleted: bool


class Health(BaseModel):
    """Liveness."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class Ready(BaseModel):
    """Readiness: model and index loaded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "articles": 2,
                    "passages": 40,
                    "model": "multilingual-e5-small",
                    "writes_enabled": False,
                }
            ]
        }
    )

    status: str
    articles: int
    passages: int
    model: str
    writes_enabled: bool


class ReuseSpan(BaseModel):
    """Aligned text: ``[start, end)`` in the asked article, ``[other_start, other_end)`` in
    the other (character offsets into each article's ``text``)."""

    start: int
    end: int
    other_start: int
    other_end: int


class ReuseLinkOut(BaseModel):
    """A copy or reuse link of the asked article (levels as in ``semsearch report reuse``)."""

    other: ArticleRef
    level: Literal["copy", "reuse", "translation"]
    spans: list[ReuseSpan]
    share: float = Field(description="Share of the asked article's text the spans cover.")
    other_share: float = Field(description="Share of the other article's text they cover.")
    longest_span: int = Field(
        description="Longest span, in normalised characters (translation: characters of the "
        "longest aligned passage of the asked article)."
    )
    score: float | None = Field(
        default=None,
        description="translation: mean cosine of the aligned passage pairs; else null.",
    )
    cross_lingual: bool = Field(
        default=False,
        description="The two articles are in different scripts (a translation link: each "
        "span is an aligned passage pair).",
    )


class ReuseResponse(BaseModel):
    """An article's copies, reuse and translation links, copies first."""

    article: ArticleRef
    links: list[ReuseLinkOut]


EntityType = Literal["person", "place", "org"]
# Not blank, as the entity check refuses a name of spaces (the schema says it as a pattern).
EntityName = Annotated[
    Text,
    Field(min_length=1, max_length=ENTITY_NAME_CHARS, json_schema_extra={"pattern": NOT_BLANK}),
]


class EntityRefModel(BaseModel):
    """An entity and how many articles name it."""

    type: EntityType
    name: str = Field(description="Folded form (simplified script): what filters match.")
    printed: str = Field(description="A form as printed.")
    articles: int = Field(description="Articles naming it (in the context it is listed in).")


class EntityMonth(BaseModel):
    """Articles naming an entity in one month."""

    month: str = Field(description="YYYY-MM")
    articles: int


class EntityArticle(BaseModel):
    """An article naming an entity."""

    id: str
    title: str
    date: str | None = None
    source: str | None = None
    mentions: int = Field(description="Mentions of the entity in the article.")


class EntityPageModel(EntityRefModel):
    """One entity: how many articles name it, per month, with whom, the latest ones."""

    months: list[EntityMonth]
    cooccurring: list[EntityRefModel] = Field(
        description="Entities named in most of the articles naming this one; `articles` "
        "counts those shared articles."
    )
    latest: list[EntityArticle]
