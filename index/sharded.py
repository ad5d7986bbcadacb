"""Searching and writing a sharded collection as if it were one collection.

:class:`ShardedCollection` embeds a query once, asks every shard for its candidates
(round one), merges each side's lists across shards and fuses the merged lists exactly as
one collection fuses its own (so the lexical weight, normalisation and per-article fusion
see the whole archive, not one shard), then asks the shards that own the page's passages
for their hits, and every shard for its counts when counting (round two). Counts and
facets are summed; the relation of a sum is the weakest of its parts (``approx`` over
``gte`` over ``eq``). A date order merges the shards' date-ordered pages.

A shard that does not answer within :attr:`ClusterConfig.deadline_s` is left out: the
response says ``partial`` and names it. Shards are reached through :class:`ShardClient`:
in-process (:class:`LocalShard`) or on Ray Serve (``service.cluster_serve``).

Lexical scores differ from one collection's: tantivy computes BM25's IDF and average
length per shard and its Python binding cannot take collection-wide statistics, so a term
rare in one shard and common in another scores differently (docs/distributed.md measures
what this changes).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from semsearch.embedder.base import ArticleTagger, TextEmbedder
from semsearch.embedder.records import Article, Passage
from semsearch.index import lexical
from semsearch.index._export import PassageVectors
from semsearch.index._ranking import COLLAPSE_OVERFETCH, MIN_CANDIDATES, MIN_NORM, OVERFETCH, _page
from semsearch.index._search import dense_edge
from semsearch.index._shard_merge import merged, sum_facets, weakest
from semsearch.index.cluster import (
    ClusterManifest,
    global_passage_id,
    local_passage_id,
    read_cluster,
    shard_of,
)
from semsearch.index.entities import DEFAULT_ENTITY_PAGE, EntityPage, EntityPageConfig
from semsearch.index.errors import CollectionError, InputError, ModelMismatchError
from semsearch.index.filters import ENTITY_TYPES, Filters, check_entity
from semsearch.index.fusion import Fused, fuse, lexical_weight
from semsearch.index.query import parse_query
from semsearch.index.requests import SearchRequest
from semsearch.index.results import SearchHit, SearchResponse, UpsertReport
from semsearch.index.shard import (
    CandidateAsk,
    Candidates,
    FinishAsk,
    Finished,
    ShardWrite,
)
from semsearch.index.shard_client import (
    DEFAULT_CLUSTER,
    ClusterConfig,
    ShardClient,
    ShardUnavailableError,
    local_shards,
)
from semsearch.index.store import StoredPassage
from semsearch.index.store_entities import EntityRef

_T = TypeVar("_T")
class ShardedCollection:
    """A sharded collection with the read and write methods of one collection.

    Args:
        manifest: The cluster's manifest.
        shards: One client per shard, in shard order.
        embedder: Embeds queries and written passages (once, here).
        config: Deadlines and match settings.
    """

    def __init__(
        self,
        manifest: ClusterManifest,
        shards: Sequence[ShardClient],
        embedder: TextEmbedder | None,
        config: ClusterConfig = DEFAULT_CLUSTER,
        entities: ArticleTagger | None = None,
    ) -> None:
        if len(shards) != manifest.shards:
            raise CollectionError(f"{manifest.shards} shards in the manifest, {len(shards)} given")
        if embedder is not None and embedder.fingerprint != manifest.model_fingerprint:
            raise ModelMismatchError(
                f"the cluster was built with {manifest.model_name}; another model was given"
            )
        self.manifest = manifest
        self.shards = list(shards)
        self.embedder = embedder
        # Tags what upsert writes, here at the ingress (the shards store the tags).
        self.entities = entities
        self.config = config
        self.match = config.match
        # One thread per shard and round in flight: a stalled shard holds its own thread,
        # never another shard's.
        self._pool = ThreadPoolExecutor(max_workers=4 * manifest.shards, thread_name_prefix="shard")

    @classmethod
    def open(
        cls,
        path: str | Path,
        embedder: TextEmbedder | None,
        config: ClusterConfig = DEFAULT_CLUSTER,
        entities: ArticleTagger | None = None,
    ) -> ShardedCollection:
        """Open every shard of the cluster at ``path`` in this process (``entities`` tags
        what is written, as a collection's own extractor does)."""
        manifest = read_cluster(path)
        return cls(manifest, local_shards(Path(path), manifest), embedder, config, entities)

    def with_embedder(self, embedder: TextEmbedder) -> ShardedCollection:
        """The same shards written through another embedder (a guarded one, say); closing
        it closes nothing (its original owns the shards)."""
        twin = copy.copy(self)
        twin.embedder = embedder
        twin.close = lambda: None  # type: ignore[method-assign]
        return twin

    def close(self) -> None:
        """Close the shards and the fan-out threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for shard in self.shards:
            shard.close()

    def __enter__(self) -> ShardedCollection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ fan-out

    def _fan(
        self, call: Callable[[int, ShardClient], _T], targets: Sequence[int] | None = None
    ) -> tuple[dict[int, _T], list[int]]:
        """Run ``call`` on the target shards in parallel; who answered in time, who not."""
        indices = list(range(len(self.shards))) if targets is None else list(targets)
        futures: dict[int, Future[_T]] = {
            i: self._pool.submit(call, i, self.shards[i]) for i in indices
        }
        wait(futures.values(), timeout=self.config.deadline_s)
        answers: dict[int, _T] = {}
        missing: list[int] = []
        for i, future in futures.items():
            if future.done() and future.exception() is None:
                answers[i] = future.result()
            else:
                future.cancel()
                missing.append(i)
        return answers, missing

    def _one(self, shard: int, call: Callable[[ShardClient], _T]) -> _T:
        """One shard's answer within the deadline (a routed read)."""
        answers, _ = self._fan(lambda _i, s: call(s), [shard])
        if shard not in answers:
            raise ShardUnavailableError(f"shard {shard} did not answer within {self.config.deadline_s} s")
        return answers[shard]

    def _global(self, shard: int, local: int) -> int:
        return global_passage_id(local, shard, self.manifest.shards)

    # ------------------------------------------------------------------ search

    def search(self, query: str, **options: Any) -> SearchResponse:
        """As :meth:`Collection.search` (keywords of :class:`SearchRequest`)."""
        if "facets" in options:
            options["facets"] = tuple(options["facets"])
        return self.run(SearchRequest(query=query, **options))

    def run(self, request: SearchRequest) -> SearchResponse:
        """Run one search over every shard (see the module docstring)."""
        parsed = parse_query(request.query, syntax=request.syntax)
        started = time.perf_counter()
        vector = None
        if request.mode != "lexical":
            vector = self._require_embedder().embed_queries([parsed.text])
        words = lexical.query_terms(parsed.text)
        plain = words if not parsed.constrained else lexical.query_terms(" ".join(parsed.words))
        marks = [*parsed.highlights, *plain]
        rounds = self._rank(request, vector, (), parsed.text, example=False)
        shown = rounds.page[request.offset : request.offset + request.k]
        finished, missing2 = self._finish(request, vector, shown, marks, rounds)
        missing = sorted(set(rounds.missing) | set(missing2))
        hits = self._page_hits(request, shown, finished)
        total = total_passages = relation = facets = None
        if request.counting:
            counted = [finished[i] for i in sorted(finished)]
            total = sum(f.total or 0 for f in counted)
            total_passages = sum(f.total_passages or 0 for f in counted)
            relation = weakest([f.relation or "eq" for f in counted])
            if missing:
                # Shards that did not answer hold matches too: the sum is a lower bound.
                relation = weakest([relation, "gte"])
            if request.facets:
                facets = sum_facets([f.facets or {} for f in counted], request.facets, self.match)
            if request.sort != "relevance":
                hits = self._date_hits(request, finished)
        return SearchResponse(
            query=request.query,
            mode=request.mode,
            took_ms=(time.perf_counter() - started) * 1000.0,
            results=hits,
            k=request.k,
            offset=request.offset,
            collapsed=request.collapse,
            lexical_weight=rounds.weight if request.mode == "hybrid" else None,
            sort=request.sort,
            total=total,
            total_passages=total_passages,
            total_relation=relation,
            facets=facets,
            parsed=parsed,
            missing_shards=missing,
        )

    def _rank(
        self,
        request: SearchRequest,
        vector: np.ndarray | None,
        exclude: tuple[tuple[int, int], ...],
        text: str,
        *,
        example: bool,
    ) -> _Rounds:
        """Round one, deepened until the page can be filled (as one collection does)."""
        need = request.offset + request.k
        depth = max(MIN_CANDIDATES, need * (COLLAPSE_OVERFETCH if request.collapse else OVERFETCH))
        while True:
            asked = depth

            def ask(i: int, shard: ShardClient, depth: int = asked) -> Candidates:
                own = tuple(local for s, local in exclude if s == i)
                return shard.candidates(
                    CandidateAsk(request=request, vector=vector, depth=depth, exclude_ids=own, example=example)
                )

            answers, missing = self._fan(ask)
            dense = merged([(self._global(i, p), s) for i, c in answers.items() for p, s in c.dense], depth)
            lex = merged([(self._global(i, p), s) for i, c in answers.items() for p, s in c.lexical], depth)
            article_of = {
                self._global(i, p): a for i, c in answers.items() for p, a in c.article_of.items()
            }
            limit = sum(c.limit for c in answers.values())
            weight = self._weight(request, text, answers) if request.mode == "hybrid" else 0.0
            if request.mode == "lexical":
                ranked = [Fused(pid, score, None, score) for pid, score in lex]
            elif request.mode == "dense" or weight <= 0:
                ranked = [Fused(pid, score, score, None) for pid, score in dense]
            else:
                leads: dict[str, float] | None = None
                if request.collapse and request.fusion.uses_lead:
                    parts = [c.leads for c in answers.values()]
                    leads = None if any(p is None for p in parts) else {
                        a: v for p in parts if p for a, v in p.items()
                    }
                ranked = fuse(
                    dense,
                    lex,
                    weight,
                    params=request.fusion,
                    article_of=article_of if request.collapse else None,
                    lead=leads,
                )
            page, exhausted = _page(ranked, article_of if request.collapse else None, request.min_score)
            full = len(dense) >= asked or len(lex) >= asked
            if len(page) >= need or exhausted or not full or asked >= limit:
                return _Rounds(page, answers, missing, weight, asked)
            depth = asked * 2

    def _weight(self, request: SearchRequest, text: str, answers: dict[int, Candidates]) -> float:
        """Hybrid's lexical weight from statistics summed over the shards."""
        if not answers:
            return 0.0
        first = next(iter(answers.values()))
        frequencies: dict[str, int] = {}
        for c in answers.values():
            for term, df in c.frequencies.items():
                frequencies[term] = frequencies.get(term, 0) + df
        corpus = lexical.ScriptProfile(
            cjk=sum(c.corpus_profile[0] for c in answers.values()),
            latin=sum(c.corpus_profile[1] for c in answers.values()),
        )
        passages = sum(c.passages for c in answers.values())
        return lexical_weight(
            first.terms, frequencies, passages, lexical.script_profile(text), corpus, params=request.fusion
        ).weight

    def _finish(
        self,
        request: SearchRequest,
        vector: np.ndarray | None,
        shown: list[tuple[Fused, int]],
        marks: list[str],
        rounds: _Rounds,
    ) -> tuple[dict[int, Finished], list[int]]:
        """Round two: hits from the shards that own them, counts from every shard."""
        n = self.manifest.shards
        owned: dict[int, list[tuple[Fused, int]]] = {}
        for fused, others in shown:
            shard, local = local_passage_id(fused.id, n)
            owned.setdefault(shard, []).append((fused._replace(id=local), others))
        targets = sorted(rounds.answers) if request.counting else sorted(owned)
        edge = dense_edge(merged(
            [(self._global(i, p), s) for i, c in rounds.answers.items() for p, s in c.dense], 1
        ), self.match)

        def ask(i: int, shard: ShardClient) -> Finished:
            own = rounds.answers[i].dense if i in rounds.answers else []
            cut = [(p, s) for p, s in own if s >= edge]
            # Cut short of the shard's list: the list reached below the edge, so every
            # passage above it is in the cut.
            complete = len(own) < rounds.depth or len(own) >= rounds.answers[i].limit or len(cut) < len(own)
            return shard.finish(
                FinishAsk(
                    request=request,
                    vector=vector,
                    shown=owned.get(i, []),
                    marks=marks,
                    dense=cut,
                    dense_complete=complete,
                    facet_values=self.config.shard_size(self.match.facet_values),
                )
            )

        return self._fan(ask, targets)

    def _page_hits(
        self, request: SearchRequest, shown: list[tuple[Fused, int]], finished: dict[int, Finished]
    ) -> list[SearchHit]:
        """The page's hits in the fused order, renumbered, with cluster passage ids."""
        found: dict[int, SearchHit] = {}
        for shard, answer in finished.items():
            for each in answer.hits:
                found[self._global(shard, each.passage_id)] = each
        out: list[SearchHit] = []
        for fused, _ in shown:
            hit = found.get(fused.id)
            if hit is None:  # its shard missed the deadline, or the row vanished
                continue
            out.append(
                replace(
                    hit,
                    rank=request.offset + len(out) + 1,
                    passage_id=fused.id,
                    score=float(fused.score),
                    dense_score=fused.dense,
                    lexical_score=fused.lexical,
                )
            )
        return out

    def _date_hits(self, request: SearchRequest, finished: dict[int, Finished]) -> list[SearchHit]:
        """Merge the shards' date-ordered pages (undated last; a better score first within a date)."""
        pooled = [
            replace(h, passage_id=self._global(i, h.passage_id))
            for i, answer in finished.items()
            for h in answer.dated
        ]
        descending = request.sort == "date-desc"
        dated = sorted((h for h in pooled if h.date), key=lambda h: (-h.score, h.passage_id))
        dated.sort(key=lambda h: str(h.date), reverse=descending)
        undated = sorted((h for h in pooled if not h.date), key=lambda h: (-h.score, h.passage_id))
        merged = [*dated, *undated][request.offset : request.offset + request.k]
        return [replace(h, rank=request.offset + i + 1) for i, h in enumerate(merged)]

    # ------------------------------------------------------------------ similar

    def similar(
        self,
        *,
        passage_id: int | None = None,
        article_id: str | None = None,
        text: str | None = None,
        k: int = 10,
        offset: int = 0,
        filters: Filters | None = None,
        collapse: bool = False,
        min_score: float | None = None,
    ) -> SearchResponse:
        """As :meth:`Collection.similar`: the example is read from its shard, embedded
        here once, and searched on every shard."""
        given = [x is not None for x in (passage_id, article_id, text)]
        if sum(given) != 1:
            raise InputError("give exactly one of passage_id, article_id or text")
        embedder = self._require_embedder()
        started = time.perf_counter()
        n = self.manifest.shards
        exclude: tuple[tuple[int, int], ...] = ()
        if text is not None:
            vector = embedder.embed_passages([text], progress=False)
            label = text
        elif passage_id is not None:
            shard, local = local_passage_id(passage_id, n)
            found = self._one(shard, lambda s: s.example(local, None))
            if found is None:
                raise InputError(f"no passage {passage_id}")
            vector = embedder.embed_passages(found.texts, progress=False)
            exclude = ((shard, local),)
            label = f"passage:{passage_id}"
        else:
            assert article_id is not None
            found = self._one(shard_of(article_id, n), lambda s: s.example(None, article_id))
            if found is None:
                raise InputError(f"no article {article_id!r} (or it has no passages)")
            mean = embedder.embed_passages(found.texts, progress=False).mean(axis=0, keepdims=True)
            vector = (mean / max(float(np.linalg.norm(mean)), MIN_NORM)).astype(np.float32)
            base = filters or Filters()
            filters = replace(base, exclude_article_ids=[*(base.exclude_article_ids or ()), article_id])
            label = f"article:{article_id}"
        request = SearchRequest(
            query=label, mode="dense", k=k, offset=offset, filters=filters, collapse=collapse, min_score=min_score
        )
        rounds = self._rank(request, vector, exclude, "", example=True)
        shown = rounds.page[offset : offset + k]
        finished, missing2 = self._finish(request, vector, shown, [], rounds)
        return SearchResponse(
            query=label,
            mode="similar",
            took_ms=(time.perf_counter() - started) * 1000.0,
            results=self._page_hits(request, shown, finished),
            k=k,
            offset=offset,
            collapsed=collapse,
            missing_shards=sorted(set(rounds.missing) | set(missing2)),
        )

    # ------------------------------------------------------------------ routed reads

    def _route(self, article_id: str) -> int:
        return shard_of(article_id, self.manifest.shards)

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """An article's stored fields, from its shard."""
        return self._one(self._route(article_id), lambda s: s.get_article(article_id))

    def page_file(self, article_id: str) -> str | None:
        """The page file an article was read from, from its shard."""
        return self._one(self._route(article_id), lambda s: s.page_file(article_id))

    def article_with_passages(
        self, article_id: str
    ) -> tuple[dict[str, Any], list[StoredPassage]] | None:
        """An article and its passages (cluster passage ids), from its shard."""
        shard = self._route(article_id)
        found = self._one(shard, lambda s: s.article_with_passages(article_id))
        if found is None:
            return None
        row, passages = found
        return row, [replace(p, id=self._global(shard, p.id)) for p in passages]

    def passage(self, passage_id: int) -> StoredPassage | None:
        """One passage by cluster id, from its shard."""
        if passage_id < 0:
            return None
        shard, local = local_passage_id(passage_id, self.manifest.shards)
        found = self._one(shard, lambda s: s.passage(local))
        return None if found is None else replace(found, id=passage_id)

    def article_texts(self) -> dict[str, str]:
        """Every article's text by id, from every shard (reports need all of them)."""
        answers, missing = self._fan(lambda _i, s: s.article_texts())
        if missing:
            raise ShardUnavailableError(f"shards {missing} did not answer")
        return {a: t for i in sorted(answers) for a, t in answers[i].items()}

    def passage_vectors(
        self, *, progress: bool = False, article_ids: Sequence[str] | None = None
    ) -> PassageVectors:
        """Passages with their vectors, from the shards that own them (cluster passage ids).

        Args:
            progress: Unused here (shards read vectors back; they never re-embed).
            article_ids: Only these articles (None: every article of every shard).
        """
        targets = (
            list(range(self.manifest.shards))
            if article_ids is None
            else sorted({self._route(a) for a in article_ids})
        )
        wanted = None if article_ids is None else list(article_ids)
        answers, missing = self._fan(lambda _i, s: s.passage_vectors(wanted), targets)
        if missing:
            raise ShardUnavailableError(f"shards {missing} did not answer")
        parts = [(i, answers[i]) for i in sorted(answers)]
        return PassageVectors(
            fingerprint=self.manifest.model_fingerprint,
            owners=[o for _, p in parts for o in p.owners],
            passage_ids=np.concatenate(
                [np.zeros(0, dtype=np.int64)]
                + [p.passage_ids * self.manifest.shards + i for i, p in parts]
            ),
            texts=[t for _, p in parts for t in p.texts],
            vectors=np.concatenate(
                [np.zeros((0, self.manifest.dimension), dtype=np.float32)] + [p.vectors for _, p in parts]
            ),
            articles={a: f for _, p in parts for a, f in p.articles.items()},
            starts=np.concatenate([np.zeros(0, dtype=np.int64)] + [p.starts for _, p in parts]),
            ends=np.concatenate([np.zeros(0, dtype=np.int64)] + [p.ends for _, p in parts]),
        )

    def counts(self) -> tuple[int, int]:
        """``(articles, passages)`` summed over the shards (all must answer)."""
        answers, missing = self._fan(lambda _i, s: s.counts())
        if missing:
            raise ShardUnavailableError(f"shards {missing} did not answer")
        return sum(a for a, _ in answers.values()), sum(p for _, p in answers.values())

    # ------------------------------------------------------------------ entities

    def _every(self, call: Callable[[int, ShardClient], _T]) -> list[_T]:
        """Every shard's answer in shard order (an entity page needs all of them)."""
        answers, missing = self._fan(call)
        if missing:
            raise ShardUnavailableError(f"shards {missing} did not answer")
        return [answers[i] for i in sorted(answers)]

    def _exact(
        self, listed: list[list[EntityRef]], counts: Callable[[ShardClient, list[tuple[str, str]]], list[int]]
    ) -> list[EntityRef]:
        """The entities any shard listed, with counts summed from every shard (round two,
        so a shard that cut an entity from its list still counts it), most first."""
        printed: dict[tuple[str, str], str] = {}
        for refs in listed:
            for ref in refs:
                key = (ref.type, ref.name)
                # The alphabetically first printed form, as one write of all the articles keeps.
                printed[key] = min(printed.get(key, ref.printed), ref.printed)
        keys = sorted(printed)
        if not keys:
            return []
        summed = np.sum(self._every(lambda _i, s: counts(s, keys)), axis=0)
        refs = [EntityRef(k[0], k[1], printed[k], int(n)) for k, n in zip(keys, summed, strict=True)]
        return sorted((r for r in refs if r.articles > 0), key=lambda r: (-r.articles, r.type, r.name))

    def top_entities(self, kind: str | None = None, limit: int = 20) -> list[EntityRef]:
        """As :meth:`Collection.top_entities`, over every shard.

        Each shard lists :meth:`ClusterConfig.shard_size` entities; the counts of the
        entities listed are then summed exactly from every shard. An entity in no shard's
        list can still be missing where it would rank last (docs/distributed.md).
        """
        if kind is not None and kind not in ENTITY_TYPES:
            raise InputError(f"unknown entity type {kind[:40]!r}; choose one of {', '.join(ENTITY_TYPES)}")
        if limit < 1:
            raise InputError("limit must be >= 1")
        size = self.config.shard_size(limit)
        listed = self._every(lambda _i, s: s.top_entities(kind, size))

        def counts(shard: ShardClient, keys: list[tuple[str, str]]) -> list[int]:
            return [0 if r is None else r.articles for r in shard.entity_refs(keys)]

        return self._exact(listed, counts)[:limit]

    def entity(
        self, kind: str, name: str, config: EntityPageConfig = DEFAULT_ENTITY_PAGE
    ) -> EntityPage | None:
        """As :meth:`Collection.entity`, merged: articles and months summed, companions
        summed exactly (of those any shard listed) then cut, latest articles merged by date.
        """
        kind, key = check_entity(kind, name)
        wide = replace(config, cooccurring=self.config.shard_size(config.cooccurring))
        pages = [p for p in self._every(lambda _i, s: s.entity(kind, key, wide)) if p is not None]
        if not pages:
            return None
        months: dict[str, int] = {}
        for page in pages:
            for month, count in page.months:
                months[month] = months.get(month, 0) + count
        companions = self._exact(
            [p.cooccurring for p in pages], lambda s, keys: s.cooccurrence(kind, key, keys)
        )
        latest = sorted(
            (a for p in pages for a in p.latest),
            key=lambda a: (a["date"] is None, _descending(a["date"] or ""), a["id"]),
        )
        return EntityPage(
            entity=EntityRef(
                kind, key, min(p.entity.printed for p in pages), sum(p.entity.articles for p in pages)
            ),
            months=sorted(months.items()),
            cooccurring=companions[: config.cooccurring],
            latest=latest[: config.latest],
        )

    def tagged_articles(self) -> int:
        """Articles the tagger has read, summed over the shards."""
        return sum(self._every(lambda _i, s: s.tagged_articles()))

    # ------------------------------------------------------------------ writes

    def upsert(self, items: Sequence[tuple[Article, list[Passage]]]) -> UpsertReport:
        """Add or replace articles, each in its shard; passages are embedded here once.

        Every shard the write touches must answer a ping first, so a write to a shard that
        is down changes nothing anywhere. Within a shard the write is atomic; a shard that
        fails after answering its ping (the window is one write) leaves the others' parts
        written, which repeating the same write makes whole (upserts are idempotent).

        Raises:
            ShardUnavailableError: A target shard is down (nothing was written).
        """
        embedder = self._require_embedder()
        routed: dict[int, list[tuple[Article, list[Passage]]]] = {}
        for article, passages in items:
            routed.setdefault(self._route(article.id), []).append((article, passages))
        self._require_up(sorted(routed))
        total = UpsertReport()
        for shard, group in sorted(routed.items()):
            texts = [p.text for _, passages in group for p in passages]
            vectors = (
                embedder.embed_passages(texts, progress=False)
                if texts
                else np.zeros((0, self.manifest.dimension), dtype=np.float32)
            )
            tags = (
                None
                if self.entities is None
                else {a.id: self.entities.extract_article(a, ps) for a, ps in group}
            )
            write = ShardWrite(items=group, vectors=vectors, entities=tags)
            report = self._write(shard, partial(_upsert_on, write=write))
            for name in ("added", "replaced", "metadata_only", "unchanged", "passages_added", "passages_removed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.generation = max(total.generation, report.generation)
        return total

    def delete(self, article_ids: Sequence[str]) -> int:
        """Delete articles from their shards; returns how many were deleted."""
        routed: dict[int, list[str]] = {}
        for article_id in article_ids:
            routed.setdefault(self._route(article_id), []).append(article_id)
        self._require_up(sorted(routed))
        return sum(
            self._write(shard, partial(_delete_on, article_ids=ids))
            for shard, ids in sorted(routed.items())
        )

    def _require_up(self, shards: Sequence[int]) -> None:
        _answers, missing = self._fan(lambda _i, s: s.ping(), shards)
        if missing:
            raise ShardUnavailableError(
                f"shard{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} down; nothing was written"
            )

    def _write(self, shard: int, call: Callable[[ShardClient], _T]) -> _T:
        future = self._pool.submit(call, self.shards[shard])
        return future.result(timeout=self.config.write_deadline_s)

    def _require_embedder(self) -> TextEmbedder:
        if self.embedder is None:
            raise InputError("this operation needs the embedding model")
        return self.embedder


def _descending(text: str) -> tuple[int, ...]:
    """A sort key ordering strings last-first (dates newest first within an ascending sort)."""
    return (*(-ord(ch) for ch in text), 1)


@dataclass(frozen=True)
class _Rounds:
    """Round one's outcome: the fused page, each shard's candidates, who was missing."""

    page: list[tuple[Fused, int]]
    answers: dict[int, Candidates]
    missing: list[int]
    weight: float
    depth: int


def _upsert_on(shard: ShardClient, *, write: ShardWrite) -> UpsertReport:
    return shard.upsert(write)


def _delete_on(shard: ShardClient, *, article_ids: list[str]) -> int:
    return shard.delete(article_ids)


__all__ = [
    "DEFAULT_CLUSTER",
    "ClusterConfig",
    "ShardClient",
    "ShardUnavailableError",
    "ShardedCollection",
    "local_shards",
]
