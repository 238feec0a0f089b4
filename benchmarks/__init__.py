"""Benchmarks of pulumi-modelarts against same-run baselines, peers and the physical limit.

``python -m benchmarks`` (``make bench``) runs every figure, prints one table per figure and
writes ``build/bench.json``. Each figure lives in its own module; :mod:`benchmarks.common` holds
the shared measuring helpers and :mod:`benchmarks.report` the table/JSON output.
"""
