"""Benchmarks of the lossbook course (not part of the lossbook package)."""
