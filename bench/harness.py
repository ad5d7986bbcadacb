"""What every benchmark shares: data, metrics, measurements, a server, and the results document.

- Data: :func:`load_beir` reads a set of ``../shared/eval`` through the project's own
  loader (:func:`service.evaluation.load_beir`, what ``semsearch eval`` reads);
  :func:`news_texts` reads the news corpus.
- Metrics: :func:`ndcg` scores rankings with pytrec_eval (:mod:`service.metrics_ir`);
  :func:`edit_distance` and :func:`character_error_rate` compare texts.
- Measurements: :func:`percentiles`, :func:`memory_mb` / :func:`rss_mb` (from
  ``/proc/PID/status``), :func:`load_average` / :func:`load_text`.
- A server: :func:`free_port`, :func:`start_server`, :func:`stop_server`, :func:`served`;
  :func:`tree_python` runs another checkout's.
- The command line: :func:`options`, a parser with the options benchmarks share
  (``--quick``, ``--no-record``, ``--index``, ``--queries``) spelled and explained once.
- The document: :func:`table`, :func:`write_section` (docs/bench/NAME.md, then
  docs/benchmarks.md in the registry's order; a ``--quick`` run's section goes to
  ``var/bench-quick`` instead, so a development pass never overwrites published figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from semsearch.service.evaluation import load_beir as load_beir_set
from semsearch.service.metrics_ir import mean_scores

from .registry import section_order

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DOCS = ROOT / "docs"
SECTIONS = DOCS / "bench"
RESULTS = DOCS / "benchmarks.md"
QUICK_SECTIONS = ROOT / "var" / "bench-quick"
QUICK_FLAG = "--quick"
# percentiles(seconds, scale=MS) gives milliseconds.
MS = 1000.0
# A server loads the model and opens its collection (1M passages: minutes on a loaded machine).
READY_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 30.0


# ---------------------------------------------------------------------- data


@dataclass(frozen=True)
class BeirSet:
    """A BEIR-layout evaluation set with its corpus in memory (judged queries only)."""

    name: str
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(name: str, *, limit_queries: int | None = None) -> BeirSet:
    """Read ``../shared/eval/NAME``: queries and qrels as ``semsearch eval`` reads them.

    Args:
        name: Folder name.
        limit_queries: Keep only the first N judged queries.

    Returns:
        The set, its corpus read into memory.
    """
    dataset = load_beir_set(SHARED / "eval" / name, limit=limit_queries)
    corpus = {}
    for doc in _jsonl(dataset.corpus_path):
        corpus[str(doc["_id"])] = (str(doc.get("title") or ""), str(doc["text"]))
    return BeirSet(name, corpus, dataset.queries, dataset.qrels)


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def news_texts(src: str, n: int) -> list[str]:
    """First ``n`` texts of one source in ``../shared/corpus/news-112k.jsonl``."""
    texts = []
    for doc in _jsonl(SHARED / "corpus" / "news-112k.jsonl"):
        if doc.get("src") == src:
            texts.append(str(doc["text"]))
            if len(texts) == n:
                break
    return texts


# ---------------------------------------------------------------------- metrics


def ndcg(
    qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]], k: int = 10
) -> float:
    """Mean graded nDCG@k over the judged queries, by pytrec_eval."""
    return mean_scores(qrels, rankings, k)[f"ndcg@{k}"]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between ``a`` and ``b`` (characters)."""
    # Myers/Hyyrö bit-parallel Levenshtein: fast enough for whole articles in Python.
    if not a:
        return len(b)
    masks: dict[str, int] = {}
    for index, char in enumerate(a):
        masks[char] = masks.get(char, 0) | (1 << index)
    full = (1 << len(a)) - 1
    high = 1 << (len(a) - 1)
    plus, minus, score = full, 0, len(a)
    for char in b:
        eq = masks.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        ph = minus | (~(xh | plus) & full)
        mh = plus & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        plus = mh | (~(xv | ph) & full)
        minus = ph & xv
    return score


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over the reference length (OCR and layout scoring; tests too)."""
    return edit_distance(reference, hypothesis) / max(1, len(reference))


# ---------------------------------------------------------------------- measurements


def timed(action: Callable[..., object], *args: object) -> float:
    """Seconds ``action(*args)`` took (wall clock)."""
    began = time.perf_counter()
    action(*args)
    return time.perf_counter() - began


def percentiles(
    values: Sequence[float] | np.ndarray, qs: Sequence[float] = (50, 99), *, scale: float = 1.0
) -> tuple[float, ...]:
    """The ``qs`` percentiles of ``values`` times ``scale`` (1000: seconds to ms); 0 if empty."""
    if not len(values):
        return tuple(0.0 for _ in qs)
    found = np.percentile(np.asarray(values, dtype=np.float64) * scale, list(qs))
    return tuple(float(v) for v in found)


MEMORY_FIELDS = ("VmRSS", "RssAnon", "RssFile", "VmHWM")


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """Resident memory of a process in MB, from ``/proc/PID/status``: ``VmRSS`` (now),
    ``RssAnon`` and ``RssFile`` (its parts) and ``VmHWM`` (the peak)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in MEMORY_FIELDS:
            fields[name] = int(value.split()[0]) / 1024
    return fields


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process now, in MB."""
    return memory_mb(pid)["VmRSS"]


def peak_rss_mb(pid: int | str = "self") -> float:
    """The most resident memory a process has held, in MB."""
    return memory_mb(pid)["VmHWM"]


@dataclass(frozen=True)
class ChildRun:
    """One child process run to its end: wall seconds, its own peak RSS, exit code, output."""

    wall_s: float
    peak_mb: float
    returncode: int
    output: str


def run_child(command: Sequence[str], *, cwd: Path | None = None, stderr: bool = True) -> ChildRun:
    """Run ``command`` and measure it; ``os.wait4`` gives that child's rusage alone, so the
    peak RSS is its own (a dead child has no ``/proc`` to read).

    Args:
        command: The child's argv.
        cwd: Its working directory.
        stderr: Keep its stderr in ``output`` (after stdout's lines as they came);
            False drops it.
    """
    with tempfile.TemporaryFile("w+b") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT if stderr else subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    return ChildRun(wall, usage.ru_maxrss / 1024, process.returncode, output)


def load_average() -> tuple[float, float, float]:
    """1-, 5- and 15-minute load averages: the machine is shared, so timings depend on them."""
    one, five, fifteen = os.getloadavg()
    return one, five, fifteen


def load_text() -> str:
    """The load averages as ``1.02/0.87/0.66``."""
    return "/".join(f"{x:.2f}" for x in load_average())


def machine() -> str:
    """CPU model and core count, as a markdown line."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


# ---------------------------------------------------------------------- a server


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    index: Path,
    port: int,
    env: dict[str, str] | None = None,
    python: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``semsearch serve`` (writes off unless ``env`` sets a key); wait for ``/readyz``.

    ``python`` and ``cwd`` run another tree's server (its own interpreter and installed
    code; ``-m`` imports from the working directory first, so it must be that tree).
    """
    command = [
        str(python or sys.executable),
        "-m",
        "semsearch.service.cli",
        "serve",
        "--index",
        str(index),
        "--port",
        str(port),
    ]
    # No on-disk embedding cache: the query list is the same every run, and cached vectors
    # would leave query encoding, the largest cost, out of the figures.
    full_env = {**os.environ, "SEMSEARCH_API_KEY": "", "SEMSEARCH_CACHE": "false", **(env or {})}
    process = subprocess.Popen(
        command, env=full_env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = f"http://127.0.0.1:{port}/readyz"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise SystemExit(f"server exited: {err[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(process)
    raise SystemExit("server not ready in time")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to stop (SIGTERM), kill it if it does not, and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tree_python(tree: Path) -> Path:
    """The interpreter of another checkout (its own ``.venv``), as an absolute path: a
    relative one would be looked up from the child's working directory, that tree."""
    return tree.resolve() / ".venv" / "bin" / "python"


@contextmanager
def served(
    index: Path, env: dict[str, str] | None = None, tree: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A server on ``index`` for the ``with`` block: its process and base URL (``tree``:
    another checkout's server, run by its own interpreter and code)."""
    port = free_port()
    process = (
        start_server(index, port, env=env)
        if tree is None
        else start_server(index, port, env=env, python=tree_python(tree), cwd=tree.resolve())
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


# ---------------------------------------------------------------------- the command line


def options(
    doc: str | None,
    *,
    prog: str | None = None,
    quick: str = "the quick variant (a development pass)",
    record: bool = False,
    index: bool = False,
    queries: int | None = None,
) -> argparse.ArgumentParser:
    """A benchmark's argument parser, holding the options benchmarks share.

    Every benchmark takes ``--quick`` (the registry's quick variant; its section goes to
    ``var/bench-quick``). The others are added when asked for, always spelled and parsed
    the same way; a module adds its own options to the parser it gets.

    Args:
        doc: The module's docstring (the ``--help`` description).
        prog: ``python -m bench.NAME``; default argparse's.
        quick: What ``--quick`` makes smaller (its help text).
        record: Add ``--no-record`` (``args.no_record``): print only, write no section.
        index: Add ``--index PATH`` (``args.index``, None: the bench collection).
        queries: Add ``--queries N`` (``args.queries``, None: the module's count), this
            being the full run's default shown in the help.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    parser.add_argument("--quick", action="store_true", help=quick)
    if record:
        parser.add_argument(
            "--no-record", action="store_true", help="print only; leave docs/benchmarks.md alone"
        )
    if index:
        parser.add_argument(
            "--index", type=Path, help="a collection (default: the bench collection)"
        )
    if queries is not None:
        parser.add_argument("--queries", type=int, help=f"per row (default {queries})")
    return parser


def query_count(args: argparse.Namespace, full: int, quick: int) -> int:
    """``--queries`` if given, else the quick or the full run's count."""
    given: int | None = args.queries
    return given or (quick if args.quick else full)


# ---------------------------------------------------------------------- the document


def write_section(
    name: str, title: str, command: str, body: str, *, measured: float | None = None
) -> Path:
    """Store one benchmark's results; a full run's also rebuild docs/benchmarks.md.

    Args:
        name: Section name (``embed``, ``index``...; its place in the document is the
            registry's order, :data:`bench.registry.BENCHMARKS`).
        title: Section heading.
        command: The command that produced it; with ``--quick`` in it the section is a
            development pass and goes to ``var/bench-quick``.
        body: Markdown tables and notes.
        measured: When the figures were measured (epoch seconds); default now. A section
            re-rendered from saved results keeps the time of the run.

    Returns:
        The section file written.
    """
    quick = QUICK_FLAG in command.split()
    folder = QUICK_SECTIONS if quick else SECTIONS
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(measured))
    path = folder / f"{name}.md"
    # A section re-rendered from saved results cannot know the load of its run.
    load = f" (load average {load_text()} at the end)" if measured is None else ""
    path.write_text(
        f"## {title}\n\nMeasured {stamp} on {machine()} with `{command}`{load}.\n\n"
        f"{body.strip()}\n",
        encoding="utf-8",
    )
    if not quick:
        rebuild_results()
    print(f"bench: wrote {path.relative_to(ROOT)}", flush=True)
    return path


def rebuild_results() -> None:
    """Rewrite docs/benchmarks.md from the stored sections, in the registry's order."""
    parts = [
        "# Benchmarks\n",
        "Every figure below was produced by the command named in its section on the machine named "
        "there; `make bench` reruns them all (`make bench-quick` for a smaller, faster pass, "
        "written to `var/bench-quick/`). Ratios compare runs made in the same process on the "
        "same machine.\n",
    ]
    stored = {p.stem: p for p in SECTIONS.glob("*.md")}
    order = [n for n in section_order() if n in stored]
    order += sorted(set(stored) - set(order))
    parts += [stored[name].read_text(encoding="utf-8") for name in order]
    RESULTS.write_text("\n".join(parts), encoding="utf-8")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
