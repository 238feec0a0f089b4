"""The test suite, and the one home of what ``benchmarks`` and ``reliability`` share with it:
``harness`` (the SDK's provider server over gRPC, an engine), ``programs`` (programs under
mocks), ``hostile`` (hostile servers and answers) and ``checks`` (canaries, leak scans, the
output oracle). Import them as ``tests.<module>`` from the repository root."""
