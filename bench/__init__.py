"""Benchmarks for django-polar-checkouts: run them with ``scripts/bench`` (see BENCHMARKS.md)."""
