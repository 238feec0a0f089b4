"""Reliability suite: fault matrix, fuzz, soak and secret-leak checks against the emulator.

``python -m reliability`` (``make reliability``) runs the full suite and prints one table per
part; ``--short`` runs the reduced form that ``tests/test_reliability_short.py`` uses in
``make test``. Results go to ``build/reliability.json``.
"""
