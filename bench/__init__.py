"""Benchmarks: `make bench` (= `python -m bench [name ...]`) runs every `bench_*.py`.

Each module exposes `main()`; it may write its own part of BENCHMARKS.md with
`bench.report.write_section(name, markdown)`. A module that prints a Markdown table
and writes no section gets one written for it from that table.
"""
