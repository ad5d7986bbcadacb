"""One shard of a sharded collection: what the cluster asks of it, in picklable values.

A shard is an ordinary :class:`~index.collection.Collection`. :class:`ShardReader` answers
the two rounds of a cluster search (candidates, then hits and counts) inside the shard's
read snapshots, and writes with vectors embedded once by the cluster's ingress, so a shard
process never loads the model. Every id here is the shard's own (local) passage id; the
cluster maps them (:func:`index.cluster.global_passage_id`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semsearch.embedder.base import ArticleTagger
from semsearch.embedder.records import Article, Passage
from semsearch.index import _search, lexical, store, store_entities
from semsearch.index._export import PassageVectors
from semsearch.index._ranking import RankPlan, _articles_of, _dense, hits_of, lead_scores
from semsearch.index.collection import Collection
from semsearch.index.entities import EntityPage, EntityPageConfig, entity_page
from semsearch.index.errors import CollectionError
from semsearch.index.fusion import Fused
from semsearch.index.query import parse_query
from semsearch.index.requests import SearchRequest
from semsearch.index.results import CollectionInfo, SearchHit, UpsertReport
from semsearch.index.store import StoredPassage
from semsearch.index.store_entities import EntityRef

if TYPE_CHECKING:  # the package loads the tagger's ONNX runtime; a shard only passes tags on
    from semsearch.embedder.entities import ArticleEntities
    from semsearch.index.cluster import ClusterManifest

Ranked = list[tuple[int, float]]


@dataclass(frozen=True, kw_only=True)
class CandidateAsk:
    """Round one of a cluster search: this shard's best ``depth`` candidates of each side.

    ``vector`` is the query (or example) embedded once by the ingress. ``exclude_ids``
    (local) and ``example`` serve a query by example: no query text, dense only.
    """

    request: SearchRequest
    vector: np.ndarray | None
    depth: int
    exclude_ids: tuple[int, ...] = ()
    example: bool = False


@dataclass(frozen=True, kw_only=True)
class Candidates:
    """A shard's candidates and the statistics the ingress fuses them with.

    Attributes:
        dense: ``(local id, cosine)`` best first.
        lexical: ``(local id, bm25)`` best first (BM25 with this shard's statistics).
        article_of: Article of every candidate.
        frequencies: Document frequency of each query term in this shard.
        passages: Live passages of the shard's snapshot.
        limit: Passages the restriction lets through.
        corpus_profile: ``(cjk, latin)`` letters of the shard's text.
        leads: Cosine of each dense candidate article's first passage (None: the kind
            cannot say, or not asked for).
        terms: The query's lexical terms as this shard's analyzer reads them.
    """

    dense: Ranked
    lexical: Ranked
    article_of: dict[int, str]
    frequencies: dict[str, int]
    passages: int
    limit: int
    corpus_profile: tuple[int, int]
    leads: dict[str, float] | None
    terms: list[str]


@dataclass(frozen=True, kw_only=True)
class FinishAsk:
    """Round two: the hits this shard owns on the page, and (when counting) its counts.

    ``dense`` is this shard's round-one dense list cut at the cluster-wide match edge;
    ``dense_complete`` says every passage above that edge is in it.
    """

    request: SearchRequest
    vector: np.ndarray | None
    shown: list[tuple[Fused, int]]
    marks: list[str]
    dense: Ranked = field(default_factory=list)
    dense_complete: bool = True
    # Values this shard lists per non-date facet (None: the collection's own cut); the
    # ingress asks for more than it shows, as Elasticsearch's ``shard_size``.
    facet_values: int | None = None


@dataclass(frozen=True, kw_only=True)
class Finished:
    """A shard's hits (local ids), counts, facet counts and date-ordered page."""

    hits: list[SearchHit]
    total: int | None = None
    total_passages: int | None = None
    relation: str | None = None
    facets: dict[str, list[dict[str, Any]]] | None = None
    dated: list[SearchHit] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ExampleTexts:
    """What a query by example embeds: the passage's text or the article's passages."""

    texts: list[str]
    exclude_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ShardWrite:
    """Articles routed to one shard, with their passages' vectors (rows in passage order)."""

    items: list[tuple[Article, list[Passage]]]
    vectors: np.ndarray
    # The named entities the ingress found, by article id (None: store none).
    entities: dict[str, ArticleEntities] | None = None


class SuppliedEntities:
    """An ``ArticleTagger`` that hands out the entities the ingress found, by article id:
    a shard stores them without loading the tagger."""

    def __init__(self, found: dict[str, ArticleEntities]) -> None:
        self._found = found

    def extract_article(self, article: Article, passages: Sequence[Passage]) -> ArticleEntities:
        """The entities found for ``article`` at the ingress."""
        found = self._found.get(article.id)
        if found is None or len(found.passages) != len(passages):
            raise CollectionError(f"the ingress sent no entities for article {article.id[:80]!r}")
        return found

    def extract_articles(
        self, items: Sequence[tuple[Article, Sequence[Passage]]]
    ) -> list[ArticleEntities]:
        """The entities found for each article at the ingress."""
        return [self.extract_article(article, passages) for article, passages in items]


class SuppliedVectors:
    """A ``TextEmbedder`` that hands out vectors the ingress embedded, by passage text.

    A shard writes through it, so it never loads the model; a text it was not given (a
    rebuild of a quantised kind) is an error rather than a silent re-embedding.
    """

    def __init__(self, fingerprint: str, model_name: str, dimension: int) -> None:
        self._fingerprint = fingerprint
        self._model_name = model_name
        self._dimension = dimension
        self._by_text: dict[str, np.ndarray] = {}

    @property
    def fingerprint(self) -> str:
        """Identity of the model weights the vectors came from."""
        return self._fingerprint

    @property
    def model_name(self) -> str:
        """The model as the user named it."""
        return self._model_name

    @property
    def dimension(self) -> int:
        """Vector length."""
        return self._dimension

    @property
    def max_tokens(self) -> int:
        """Passages arrive cut already: no budget applies here."""
        return 1 << 30

    @contextmanager
    def supplying(self, texts: Sequence[str], vectors: np.ndarray) -> Iterator[None]:
        """Serve these vectors for the duration of one write."""
        self._by_text = dict(zip(texts, vectors, strict=True))
        try:
            yield
        finally:
            self._by_text = {}

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries are embedded by the ingress, never on a shard."""
        raise CollectionError("a shard does not embed queries")

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        """The supplied vectors of ``texts``."""
        try:
            rows = [self._by_text[t] for t in texts]
        except KeyError:
            raise CollectionError("a shard was asked for a vector the ingress did not send") from None
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), self._dimension)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Passages arrive cut already."""
        return [0 for _ in texts]


class ShardReader:
    """Answers a cluster's questions about one shard (a read-only collection, and a writer
    opened on the first write).

    Args:
        path: The shard's collection directory.
        supplied: The embedder its writes use (vectors from the ingress).
    """

    def __init__(self, path: Path, supplied: SuppliedVectors) -> None:
        self.path = Path(path)
        self._supplied = supplied
        self.collection = Collection.open(self.path, None, read_only=True)
        self._write_lock = threading.Lock()
        self._writer: Collection | None = None

    def warm_up(self) -> None:
        """Run one search of each kind, so the first real query does not pay for loading
        the analyzer's dictionary and the engine's files (seconds, against a deadline)."""
        for mode in ("lexical", "dense"):
            request = SearchRequest(query="新闻 news", mode=mode, count=True)
            vector = np.zeros((1, self.collection.info().dimension), dtype=np.float32)
            self.candidates(CandidateAsk(request=request, vector=vector, depth=1))

    def close(self) -> None:
        """Release both collections."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.collection.close()

    # ------------------------------------------------------------------ search

    def candidates(self, ask: CandidateAsk) -> Candidates:
        """Round one: this shard's candidate lists and statistics."""
        c, request = self.collection, ask.request
        parsed = None if ask.example else parse_query(request.query, syntax=request.syntax)
        text = parsed.text if parsed is not None else ""
        with c._snapshot():
            conn, view = c._conn, c._view()
            meta = store.read_meta(conn)
            analyzer = lexical.analyzer(meta.analyzer)
            terms = [] if parsed is None else analyzer.query_terms(text, lexical.query_terms(text))
            within = _search.restriction(
                view.engine, parsed, request.filters, analyzer, ask.exclude_ids
            )
            allowed = _search.passage_ids(view.engine, within) if ask.vector is not None else None
            limit = view.passages if allowed is None else len(allowed)
            depth = min(ask.depth, max(limit, 1))
            excluded = view.tombstones
            if ask.exclude_ids:
                excluded = np.union1d(excluded, np.asarray(ask.exclude_ids, dtype=np.int64))
            dense: Ranked = []
            if request.mode in ("dense", "hybrid") and ask.vector is not None and limit > 0:
                dense = _dense(view.vectors, ask.vector, depth, allowed, excluded)
            lexical_hits: Ranked = []
            if terms and request.mode != "dense" and limit > 0:
                lexical_hits = _search.bm25_top(view.engine, terms, within, depth, c.match)
            # Only per-article fusion and collapsing need candidates' articles (one look-up).
            article_of = _articles_of(conn, dense, lexical_hits) if request.collapse else {}
            leads = None
            if request.collapse and request.mode == "hybrid" and ask.vector is not None:
                leads = lead_scores(
                    conn, view.vectors, ask.vector, {article_of[p] for p, _ in dense if p in article_of}
                )
            profile = meta.script_profile
            return Candidates(
                dense=dense,
                lexical=lexical_hits,
                article_of=article_of,
                frequencies=_search.document_frequencies(view.engine, terms) if terms else {},
                passages=view.passages,
                limit=limit,
                corpus_profile=(profile.cjk, profile.latin),
                leads=leads,
                terms=terms,
            )

    def finish(self, ask: FinishAsk) -> Finished:
        """Round two: hits of the page this shard owns; counts, facets and date page."""
        c, request = self.collection, ask.request
        with c._snapshot():
            conn, view = c._conn, c._view()
            hits = hits_of(conn, ask.shown, 0, ask.marks, request)
            if not request.counting:
                return Finished(hits=hits)
            parsed = parse_query(request.query, syntax=request.syntax)
            analyzer = lexical.analyzer(store.read_meta(conn).analyzer)
            terms = analyzer.query_terms(parsed.text, lexical.query_terms(parsed.text))
            within = _search.restriction(view.engine, parsed, request.filters, analyzer)
            plan = RankPlan(
                query_vector=ask.vector,
                terms=terms if request.mode != "dense" else [],
                weight=0.0,
                within=within,
                allowed=None,
                exclude_ids=(),
                marks=ask.marks,
                match=c.match,
                analyzer=analyzer,
            )
            matches = c._matches(
                view, request, parsed, plan, _search.DenseCandidates(ask.dense, ask.dense_complete)
            )
            dated: list[SearchHit] = []
            if request.sort != "relevance":
                entries = c._date_entries(view, request, matches)
                dated = hits_of(conn, entries, 0, ask.marks, request)
            if ask.facet_values is None:
                facets = c._facet_values(view, request, matches)
            elif request.facets:
                wider = replace(c.match, facet_values=ask.facet_values)
                facets = _search.facet_counts(view.engine, matches, request.facets, wider)
            else:
                facets = None
        return Finished(
            hits=hits,
            total=matches.total,
            total_passages=matches.total_passages,
            relation=matches.relation,
            facets=facets,
            dated=dated,
        )

    def example(self, passage_id: int | None, article_id: str | None) -> ExampleTexts | None:
        """The texts a query by example embeds (None: no such passage or article)."""
        c = self.collection
        with c._snapshot():
            conn = c._conn
            if passage_id is not None:
                found = store.fetch_passages(conn, [passage_id]).get(passage_id)
                return None if found is None else ExampleTexts(texts=[found.text], exclude_ids=(passage_id,))
            ids = store.passage_ids_of(conn, [article_id or ""])
            if not ids:
                return None
            return ExampleTexts(
                texts=[p.text for p in store.fetch_passages(conn, ids).values()], exclude_ids=()
            )

    # ------------------------------------------------------------------ reads

    def passage(self, passage_id: int) -> StoredPassage | None:
        """One passage (local id) with its article's display fields."""
        return self.collection.passage(passage_id)

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """An article's stored fields."""
        return self.collection.get_article(article_id)

    def page_file(self, article_id: str) -> str | None:
        """The page file an article was read from."""
        return self.collection.page_file(article_id)

    def article_with_passages(
        self, article_id: str
    ) -> tuple[dict[str, Any], list[StoredPassage]] | None:
        """An article's fields and passages (local ids), read together."""
        return self.collection.article_with_passages(article_id)

    def article_texts(self) -> dict[str, str]:
        """Every article's text by id."""
        return self.collection.article_texts()

    def passage_vectors(self, article_ids: list[str] | None) -> PassageVectors:
        """Passages with vectors read back from the index (local ids)."""
        return self.collection.passage_vectors(article_ids=article_ids)

    def counts(self) -> tuple[int, int]:
        """``(articles, passages)``."""
        return self.collection.counts()

    def info(self) -> CollectionInfo:
        """The shard's collection info."""
        return self.collection.info()

    def ping(self) -> bool:
        """Answers when the shard is up (a write asks every target shard first)."""
        return True

    # ------------------------------------------------------------------ entities

    def top_entities(self, kind: str | None, limit: int) -> list[EntityRef]:
        """This shard's most named entities."""
        return self.collection.top_entities(kind, limit)

    def entity(self, kind: str, name: str, config: EntityPageConfig) -> EntityPage | None:
        """This shard's page of ``(kind, folded name)``."""
        c = self.collection
        with c._snapshot():
            return entity_page(c._conn, kind, name, config)

    def tagged_articles(self) -> int:
        """Articles of this shard the tagger has read."""
        return self.collection.tagged_articles()

    def entity_refs(self, keys: list[tuple[str, str]]) -> list[EntityRef | None]:
        """This shard's count of each ``(type, folded name)`` (None: never seen here)."""
        c = self.collection
        with c._snapshot():
            return store_entities.entity_refs(c._conn, keys)

    def cooccurrence(self, kind: str, name: str, others: list[tuple[str, str]]) -> list[int]:
        """Articles of this shard naming ``(kind, name)`` together with each of ``others``."""
        c = self.collection
        with c._snapshot():
            return store_entities.cooccurrence_counts(c._conn, kind, name, others)

    # ------------------------------------------------------------------ writes

    def _writable(self) -> Collection:
        if self._writer is None:
            self._writer = Collection.open(self.path, self._supplied)
        return self._writer

    def upsert(self, write: ShardWrite) -> UpsertReport:
        """Add or replace the articles routed here (atomic within the shard)."""
        texts = [p.text for _, passages in write.items for p in passages]
        with self._write_lock, self._supplied.supplying(texts, write.vectors):
            writer = self._writable()
            writer.entities = None if write.entities is None else SuppliedEntities(write.entities)
            try:
                return writer.upsert(write.items)
            finally:
                writer.entities = None

    def delete(self, article_ids: Sequence[str]) -> int:
        """Delete articles routed here; returns how many were deleted."""
        with self._write_lock:
            return self._writable().delete(list(article_ids))


def write_shard(
    path: Path, manifest: ClusterManifest, write: ShardWrite, tagger: ArticleTagger | None
) -> UpsertReport:
    """Write one shard's part of a job in one atomic write, in whatever process runs it.

    The vectors come embedded (``write.vectors``), so the writer never loads the model;
    ``tagger`` tags the articles here (a distributed ingest tags on each shard's writer,
    in parallel) unless ``write.entities`` already holds their tags.

    Args:
        path: The shard's collection directory.
        manifest: The cluster's manifest (the model every shard records).
        write: The articles routed to this shard, with their passages' vectors.
        tagger: Tags the articles (None: ``write.entities``, or no entities at all).

    Returns:
        What the write changed.
    """
    supplied = SuppliedVectors(manifest.model_fingerprint, manifest.model_name, manifest.dimension)
    entities = tagger if write.entities is None else SuppliedEntities(write.entities)
    texts = [p.text for _, passages in write.items for p in passages]
    with (
        Collection.open(path, supplied, entities=entities) as collection,
        supplied.supplying(texts, write.vectors),
    ):
        return collection.upsert(write.items)


__all__ = [
    "CandidateAsk",
    "Candidates",
    "ExampleTexts",
    "FinishAsk",
    "Finished",
    "ShardReader",
    "ShardWrite",
    "SuppliedVectors",
    "write_shard",
]
