"""Benchmarks of pulumi-modelarts against baselines measured in the same run.

``python -m benchmarks`` (``make bench``) runs every figure, prints one table per figure with its
targets marked met or MISSED, and writes ``build/bench.json``. :mod:`benchmarks.common` holds the
paired measurement and the reporting; :mod:`benchmarks.server` the loopback server that answers
without verifying anything; ``sdk_*`` modules reproduce the SDK behaviour the package works around.
"""
