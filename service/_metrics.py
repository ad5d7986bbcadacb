"""Prometheus metrics of the HTTP service.

Private: :class:`~service._state.AppState` owns one :class:`Metrics`; the metrics
middleware and ``/metrics`` use it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from semsearch.service.runtime import Runtime

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """Prometheus metrics of one app (own registry, so several apps can coexist in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "semsearch_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "semsearch_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.articles = Gauge(
            "semsearch_index_articles", "Articles in the index.", registry=self.registry
        )
        self.passages = Gauge(
            "semsearch_index_passages", "Passages in the index.", registry=self.registry
        )
        self.model_seconds = Gauge(
            "semsearch_model_seconds_total",
            "Cumulative seconds spent in the embedding model.",
            registry=self.registry,
        )
        self.cache_hits = Gauge(
            "semsearch_query_cache_hits_total",
            "Query embedding cache hits.",
            registry=self.registry,
        )
        self.cache_misses = Gauge(
            "semsearch_query_cache_misses_total",
            "Query embedding cache misses.",
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "semsearch_query_batch_size",
            "Queries per model call (micro-batching).",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )

    def refresh(self, runtime: Runtime | None) -> None:
        """Update the gauges that are read from the runtime at scrape time.

        Args:
            runtime: The loaded runtime; ``None`` (still loading) leaves the gauges as they are.
        """
        if runtime is None:
            return
        articles, passages = runtime.collection.counts()
        self.articles.set(articles)
        self.passages.set(passages)
        encoder = runtime.encoder
        self.model_seconds.set(encoder.model_seconds())
        self.cache_hits.set(encoder.hits)
        self.cache_misses.set(encoder.misses)
        for size in encoder.drain_batches():
            self.batch_size.observe(size)
