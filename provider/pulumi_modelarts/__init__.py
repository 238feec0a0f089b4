"""Pulumi data source for ModelArts visualization jobs (Open Telekom Cloud, Huawei Cloud).

Names are imported on first use, so a program declaring resources never loads ``requests`` or
``pydantic`` and the CLI never loads ``pulumi``. The ``TYPE_CHECKING`` imports are the one export
list: type checkers read them, and ``__getattr__`` reads them from this module's compiled code."""

from __future__ import annotations

import functools
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
    """Name -> module from this module's compiled code, where each relative import (all of them under
    ``TYPE_CHECKING``) loads its level (1) and its names just before ``IMPORT_NAME``: the code, not
    the source, so a zipped or sourceless install reads it too."""
    import dis

    steps = list(dis.get_instructions(__spec__.loader.get_code(__name__)))  # type: ignore[union-attr]
    return {
        name: f"{__name__}.{load.argval}"
        for level, names, load in zip(steps, steps[1:], steps[2:], strict=False)
        if load.opname == "IMPORT_NAME" and level.argval == 1
        for name in names.argval
    }


if not TYPE_CHECKING:  # else type checkers would take any name, a misspelt one too, as an export

    def __getattr__(name: str) -> Any:
        exports = _exports()
        if name == "__all__":
            value: Any = ["__version__", *exports]
        elif name in exports:  # __import__, which `-X importtime` reports (importlib.import_module not)
            value = getattr(__import__(exports[name], fromlist=[name]), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(["__version__", *_exports()])
