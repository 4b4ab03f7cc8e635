"""Benchmarks (reports, not tests): `python -m bench.<name>`."""
