"""Benchmarks (``make bench``): not part of the tests. See docs/benchmarks.md."""
