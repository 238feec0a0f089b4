"""Benchmarks against baselines measured in the same run (``python -m benchmarks``, ``make bench``);
``sdk_*`` modules reproduce the SDK behaviour the package works around."""
