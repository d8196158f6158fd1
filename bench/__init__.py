"""Benchmarks of dw-etl (issue 4): ``python -m bench [name ...]`` or ``make bench``.

One module per benchmark, each with ``NAME`` and ``run(stack) -> Report``; every figure is a
ratio against a baseline run in the same process, on the same data, in the same run. Sizes
scale with ``BENCH_SCALE``. Latest figures: BENCHMARKS.md.
"""
