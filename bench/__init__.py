"""Benchmarks of partnerflow against the raw cost of Temporal, run by hand (not timed tests)."""
