"""``semsearch serve``: the HTTP API and search page (uvicorn)."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from types import FrameType

from semsearch.index.cluster import read_cluster
from semsearch.service.cli import add_common_options, at_least, build_settings, settings_from_args
from semsearch.service.config import ServiceSettings
from semsearch.service.context import (
    CommandContext,
    EmbedderLoader,
    collection_path,
    load_embedder,
    warm_up,
)
from semsearch.service.runtime import Runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` command.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    parser = subparsers.add_parser(
        "serve",
        help="serve the search API and page over HTTP",
        description="Serve the JSON API (docs at /docs) and the search page at /. Writes "
        "(POST/DELETE /articles) need SEMSEARCH_API_KEY; limits are SEMSEARCH_MAX_* variables.",
    )
    add_common_options(parser)
    parser.add_argument("--host", help="interface to bind (env SEMSEARCH_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env SEMSEARCH_PORT, default 8000)")
    parser.add_argument(
        "--page-dir",
        action="append",
        metavar="DIR",
        help="a directory whose PDFs and page images the page route may draw (repeatable; "
        "env SEMSEARCH_PAGE_DIRS, separated by ':'); without one no page is drawn",
    )
    parser.add_argument(
        "--cluster",
        type=Path,
        metavar="DIR",
        help="serve the sharded collection in DIR on Ray Serve: one deployment per shard, this"
        " app as the ingress (docs/distributed.md)",
    )
    parser.add_argument(
        "--address",
        help="Ray cluster to join with --cluster (auto, ray://host:port; env"
        " SEMSEARCH_RAY_ADDRESS); default: a local Ray on this machine",
    )
    parser.add_argument(
        "--replicas",
        type=at_least(1),
        help="replicas of each shard with --cluster (env SEMSEARCH_CLUSTER_REPLICAS, default 1)",
    )
    parser.set_defaults(func=run)


def load_runtime(settings: ServiceSettings, load: EmbedderLoader = load_embedder) -> Runtime:
    """Load the model and open the collection for the app.

    Args:
        settings: The service's settings (model, index and HTTP).
        load: Builds the embedder (:attr:`CommandContext.load_embedder`).

    Returns:
        The runtime.
    """
    path = collection_path(settings, must_exist=True)
    embedder = load(settings)
    warm_up(embedder)  # so /readyz means the first search is as fast as the rest
    return Runtime(path, embedder, settings)


def serve_cluster(path: Path, settings: ServiceSettings) -> int:
    """Serve a sharded collection on Ray Serve until interrupted."""
    from semsearch.service.cluster_serve import ClusterPlan, deploy, require_serve
    from semsearch.service.distributed import ray_session

    read_cluster(path)  # fail now with a clear message, not in /readyz
    serve = require_serve()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # SIGTERM (a service manager, `kill`) stops Serve and a private Ray as Ctrl-C does,
    # rather than leaving Ray's processes behind.
    signal.signal(signal.SIGTERM, stop)
    with ray_session(settings):
        try:
            deploy(ClusterPlan(path=path, settings=settings), blocking=True)
        except KeyboardInterrupt:
            pass
        finally:
            serve.shutdown()
    return 0


def run(args: argparse.Namespace, context: CommandContext) -> int:
    """Check the collection exists, then serve until interrupted."""
    import uvicorn

    from semsearch.service._protocol import protocol_for
    from semsearch.service.app import create_app

    flags = settings_from_args(args).model_dump(exclude_unset=True)
    flags |= {k: getattr(args, k) for k in ("host", "port") if getattr(args, k) is not None}
    if args.page_dir:
        flags["page_dirs"] = tuple(args.page_dir)
    # A server never draws progress bars; merged into the flags, since --no-progress may
    # already have set the same key (passing it twice was a TypeError).
    if args.address is not None:
        flags["ray_address"] = args.address
    if args.replicas is not None:
        flags["cluster_replicas"] = args.replicas
    settings = build_settings(ServiceSettings, **(flags | {"progress": False}))
    if args.cluster is not None:
        return serve_cluster(args.cluster, settings)
    collection_path(settings, must_exist=True)  # fail now with a clear message, not in /readyz
    app = create_app(settings=settings, loader=lambda: load_runtime(settings, context.load_embedder))

    class Server(uvicorn.Server):
        # The first SIGTERM/SIGINT also tells a write under way to roll back, so shutdown
        # waits for at most one chunk of model time, not for the whole write.
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            runtime = app.state.semsearch.runtime
            if runtime is not None:
                runtime.stopping.set()
            super().handle_exit(sig, frame)

    # Its own answers (a URL too long to parse, a request that is not HTTP) in JSON too.
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        http=protocol_for(settings),
    )
    Server(config).run()
    return 0
