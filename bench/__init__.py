"""Benchmarks (run them; they print figures and never assert on time)."""
