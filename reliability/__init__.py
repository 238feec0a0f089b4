"""The reliability classes (fault matrix, fuzz, soak, secrets, hostile servers, careless configuration):
the suite's tests marked ``@pytest.mark.reliability("<class>")``, which ``make test`` runs small and
``python -m reliability`` (``make reliability``) runs with ``--full``, reporting what each class tried."""
