"""Benchmarks: ``make bench`` (``python -m bench.run``) runs them all and rewrites docs/benchmarks.md."""
