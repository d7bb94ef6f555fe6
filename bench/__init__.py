"""Benchmarks: each module prints its figures and saves them under bench/results/."""
