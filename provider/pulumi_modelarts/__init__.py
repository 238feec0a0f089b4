"""Pulumi data source for ModelArts visualization jobs (Open Telekom Cloud, Huawei Cloud).

Names are imported on first use, so a program declaring resources never loads ``requests`` or
``pydantic`` and the CLI never loads ``pulumi``. The ``TYPE_CHECKING`` imports are the one export
list: type checkers read them, and ``__getattr__`` parses them from this file.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .client import ModelArtsClient as ModelArtsClient
    from .errors import (
        AmbiguousJobNameError as AmbiguousJobNameError,
        AuthenticationError as AuthenticationError,
        ConfigurationError as ConfigurationError,
        InvalidInputError as InvalidInputError,
        InvalidResponseError as InvalidResponseError,
        JobNotFoundError as JobNotFoundError,
        ModelArtsError as ModelArtsError,
        PermissionDeniedError as PermissionDeniedError,
        ServiceError as ServiceError,
        ThrottledError as ThrottledError,
    )
    from .functions import (
        AwaitableGetVisualizationJobResult as AwaitableGetVisualizationJobResult,
        AwaitableGetVisualizationJobsResult as AwaitableGetVisualizationJobsResult,
        GetVisualizationJobResult as GetVisualizationJobResult,
        GetVisualizationJobsResult as GetVisualizationJobsResult,
        get_visualization_job as get_visualization_job,
        get_visualization_job_output as get_visualization_job_output,
        get_visualization_jobs as get_visualization_jobs,
        get_visualization_jobs_output as get_visualization_jobs_output,
    )
    from .outputs import OUTPUT_FIELDS as OUTPUT_FIELDS, JobStatus as JobStatus
    from .provider import VisualizationJobProvider as VisualizationJobProvider
    from .resource import VisualizationJob as VisualizationJob
    from .settings import Settings as Settings


@functools.cache
def _exports() -> dict[str, str]:
    import ast
    from pathlib import Path

    source = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(node for node in source.body if isinstance(node, ast.If))
    imports = [node for node in block.body if isinstance(node, ast.ImportFrom)]
    return {alias.name: f"{__name__}.{node.module}" for node in imports for alias in node.names}


def __getattr__(name: str) -> Any:
    exports = _exports()
    if name == "__all__":
        value: Any = ["__version__", *exports]
    elif name in exports:
        value = getattr(importlib.import_module(exports[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(["__version__", *_exports()])
