"""Engine-level test harness: drive ``python -m pulumi.dynamic`` over gRPC like the Pulumi engine.

- :class:`ProviderServer` runs one provider process and exposes typed RPC methods.
- :class:`Engine` simulates preview/up/refresh/destroy over a stack state, one fresh provider
  process per operation, as the CLI does.

The provider class must be importable in the server process under the same module name as in the
test process (dill pickles importable classes by reference). Installed packages such as
``pulumi_modelarts`` import as they are; for modules under ``tests/`` pass
``pythonpath=[pythonpath_for(cls)]``.
"""

from .engine import (
    CheckFailedError,
    Desired,
    Engine,
    EngineError,
    OperationResult,
    ResourceState,
    StepKind,
    StepResult,
)
from .provider_server import (
    DEFAULT_TYPE,
    PROVIDER_KEY,
    CallRecord,
    CheckOutcome,
    ConfigureOutcome,
    CreateOutcome,
    DiffOutcome,
    ProviderCallError,
    ProviderServer,
    ProviderStartError,
    ReadOutcome,
    pythonpath_for,
    serialized_provider,
    urn_for,
)

__all__ = [
    "DEFAULT_TYPE",
    "PROVIDER_KEY",
    "CallRecord",
    "CheckFailedError",
    "CheckOutcome",
    "ConfigureOutcome",
    "CreateOutcome",
    "Desired",
    "DiffOutcome",
    "Engine",
    "EngineError",
    "OperationResult",
    "ProviderCallError",
    "ProviderServer",
    "ProviderStartError",
    "ReadOutcome",
    "ResourceState",
    "StepKind",
    "StepResult",
    "pythonpath_for",
    "serialized_provider",
    "urn_for",
]
