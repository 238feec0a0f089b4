"""Benchmarks of pulumi-modelarts against baselines measured in the same run: ``python -m benchmarks``
(``make bench``) prints one table per figure with its targets marked met or MISSED and writes
``build/bench.json``; ``sdk_*`` modules reproduce the SDK behaviour the package works around."""
