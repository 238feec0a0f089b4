"""Pulumi data source for ModelArts visualization jobs (Open Telekom Cloud, Huawei Cloud).

Names are imported on first use: a program that only declares ``VisualizationJob`` resources
never loads ``requests`` or ``pydantic`` (the provider process does, when it reads).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "VisualizationJob": "resource",
    "VisualizationJobProvider": "provider",
    "GetVisualizationJobResult": "functions",
    "AwaitableGetVisualizationJobResult": "functions",
    "GetVisualizationJobsResult": "functions",
    "AwaitableGetVisualizationJobsResult": "functions",
    "get_visualization_job": "functions",
    "get_visualization_job_output": "functions",
    "get_visualization_jobs": "functions",
    "get_visualization_jobs_output": "functions",
    "ModelArtsClient": "client",
    "Settings": "settings",
    "JobStatus": "status",
    "OUTPUT_FIELDS": "outputs",
    "ModelArtsError": "errors",
    "JobNotFoundError": "errors",
    "AmbiguousJobNameError": "errors",
    "AuthenticationError": "errors",
    "PermissionDeniedError": "errors",
    "ThrottledError": "errors",
    "ServiceError": "errors",
    "InvalidResponseError": "errors",
    "ConfigurationError": "errors",
    "InvalidInputError": "errors",
}

__all__ = ["__version__", *_EXPORTS]

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
    from .outputs import OUTPUT_FIELDS as OUTPUT_FIELDS
    from .provider import VisualizationJobProvider as VisualizationJobProvider
    from .resource import VisualizationJob as VisualizationJob
    from .settings import Settings as Settings
    from .status import JobStatus as JobStatus


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pulumi_modelarts' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
