"""The reliability classes (fault matrix, fuzz, soak, secrets, hostile servers and careless
configuration) at full size: ``python -m reliability`` (``make reliability``).

The classes are the test suite's own tests, marked ``@pytest.mark.reliability("<class>")``:
``make test`` runs them small, ``python -m reliability`` runs them with ``--full`` and reports per
class the variants tried, how many ended as expected and the figures the tests recorded.
"""
