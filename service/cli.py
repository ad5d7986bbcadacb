"""The ``semsearch`` command line: one sub-command module per verb under ``service.commands``.

Errors the user can fix (bad input, missing model) print one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import ValidationError

from semsearch.embedder.dates import normalize_date
from semsearch.embedder.errors import InputError, SemsearchError
from semsearch.embedder.settings import Backend, Settings
from semsearch.service.context import CommandContext
from semsearch.service.terminal import printable

# Each module defines ``register(subparsers)``; the parser it adds sets ``func(args,
# context)``, and
# ``take_extras(args, extras)`` when arguments argparse does not know are its to read (the
# search words ``-广告`` or ``-"数字经济"``, which argparse takes for unknown options).
COMMAND_MODULES = [
    "model", "ingest", "search", "manage", "entities", "eval", "serve", "report", "shard",
]
EXIT_USAGE = 2
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage block; one line is easier to read in scripts.
        self.exit(EXIT_USAGE, f"semsearch: error: {message}\n")


def at_least(minimum: int) -> Any:
    """An argparse ``type`` for integers of at least ``minimum`` (the error names the flag).

    Args:
        minimum: The smallest accepted value.

    Returns:
        The converter.
    """

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return convert


def finite_float(text: str) -> float:
    """An argparse ``type`` for real numbers: ``nan``, ``inf`` and ``-inf`` are refused.

    ``float()`` reads them, but no score is compared with them usefully (every comparison
    with NaN is false), and the HTTP API refuses them too.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def iso_date(text: str) -> str:
    """An argparse ``type`` for dates: ``YYYY-MM-DD`` (or a form ingest reads) in, ISO out."""
    iso = normalize_date(text)
    if iso is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)")
    return iso


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options every command accepts; each overrides its ``SEMSEARCH_*`` variable.

    Args:
        parser: A sub-command parser.
    """
    parser.add_argument("--index", type=Path, help="collection directory (env SEMSEARCH_INDEX)")
    parser.add_argument(
        "--model", help="sentence-transformers model path or name (env SEMSEARCH_MODEL)"
    )
    parser.add_argument("--model-dir", type=Path, help="where the bundled model is installed")
    parser.add_argument(
        "--backend", choices=list(get_args(Backend)), help="embedding backend"
    )
    parser.add_argument("--threads", type=at_least(1), help="CPU threads for the model")
    parser.add_argument("--batch-size", type=at_least(1), help="texts per model batch")
    parser.add_argument(
        "--no-cache",
        dest="cache",
        action="store_const",
        const=False,
        help="bypass the embedding cache",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_const", const=False, help="no progress bars"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


SettingsT = TypeVar("SettingsT", bound=Settings)

_SETTING_FLAGS = (
    "index",
    "model",
    "model_dir",
    "backend",
    "threads",
    "batch_size",
    "cache",
    "progress",
)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build the settings object: environment first, then flags given on the command line.

    Args:
        args: Parsed arguments.

    Returns:
        The effective settings.
    """
    overrides = {
        name: getattr(args, name)
        for name in _SETTING_FLAGS
        if getattr(args, name, None) is not None
    }
    return build_settings(Settings, **overrides)


def build_settings(cls: type[SettingsT], **values: Any) -> SettingsT:
    """``cls(**values)`` over the environment, a bad value reported as one clear line.

    Args:
        cls: :class:`Settings` or a subclass.
        **values: Values given on the command line (they override the environment).

    Returns:
        The settings.

    Raises:
        InputError: A value (flag or ``SEMSEARCH_*`` variable) is invalid; the message names
            the setting, its variable, what is wrong and the value given.
    """
    try:
        return cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        raise InputError(
            f"invalid setting {name} (SEMSEARCH_{name.upper()}): {first['msg']},"
            f" got {first.get('input')!r}"
        ) from exc


def build_parser() -> argparse.ArgumentParser:
    """Return the full ``semsearch`` parser with every sub-command registered."""
    parser = _Parser(prog="semsearch", description="Semantic search for news archives.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"semsearch.service.commands.{name}").register(subparsers)
    return parser


def _flag_hint(exc: SemsearchError) -> str:
    """The flags that set the options a library error names, e.g. ``" [--encoding]"``."""
    options = getattr(exc, "options", ())
    return f" [{', '.join('--' + o.replace('_', '-') for o in options)}]" if options else ""


def _undecodable_argument(argv: Sequence[str]) -> str | None:
    """Say which argument is not valid UTF-8 (Python hands such bytes over as surrogates)."""
    for number, arg in enumerate(argv, start=1):
        if _SURROGATE.search(arg):
            raw = arg.encode("utf-8", "surrogateescape")
            shown = raw.decode("utf-8", "backslashreplace")
            return f"argument {number} ('{shown}') is not valid UTF-8 text"
    return None


def main(argv: Sequence[str] | None = None, context: CommandContext | None = None) -> int:
    """Entry point of the ``semsearch`` console script.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.
        context: What commands take from the caller (how the embedder is loaded); the
            console script's default loads the model from disk in each command. A caller
            running many commands in one process passes an
            :class:`~semsearch.service.context.EmbedderPool` in its context.

    Returns:
        The process exit code.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    undecodable = _undecodable_argument(argv)
    if undecodable:
        print(f"semsearch: error: {undecodable}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras and not hasattr(args, "take_extras"):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as exc:  # usage errors and --help: return the code, callers may be tests
        return int(exc.code or 0)
    context = context or CommandContext()
    try:
        if extras:
            args.take_extras(args, extras)
        return int(args.func(args, context) or 0)
    except SemsearchError as exc:
        # printable: the message may quote input (an id, a line of a file) verbatim.
        print(f"semsearch: error: {printable(exc)}{_flag_hint(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("semsearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`semsearch search ... | head`): stop quietly, and point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
