"""Benchmarks: outside the test suite."""
