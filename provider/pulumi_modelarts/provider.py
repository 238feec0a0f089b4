"""The dynamic provider behind ``VisualizationJob``: Terraform data-source semantics on the engine.

The engine pickles this class into state as ``__provider``. It is pickled by reference and
carries no state at all (no credentials, sessions, clients or locks), so ``__provider`` is a
few dozen bytes, identical on every machine and checkout, and safe to store unencrypted.
Everything it needs at run time lives in a :class:`ProviderRuntime` built inside the provider
process from the stack config handed to ``configure()`` and the environment.

Lifecycle (one GET per job per operation, never a write):

* ``check`` validates inputs without I/O and lets preview's unknowns through.
* ``create``/``update`` read the job; ``delete`` does nothing and sends nothing.
* ``diff`` re-reads the job and reports a change exactly when a field that identifies or
  describes it differs from the stored outputs (drift shows up in preview like a Terraform
  data-source re-read); a running job's clock (``duration``, ``remaining_duration``) alone is
  not drift. A different job, project, region or endpoint means replace; state written by an
  older version (fields missing, a string job ID, a trailing slash) is compared normalised.
* ``read`` re-reads for ``refresh`` (a vanished job is dropped from state) and serves
  ``VisualizationJob.get`` (where a missing job is an error).

Within one provider process (one ``pulumi`` command) a job read by ``read`` or ``diff`` is not
fetched again by the ``diff``/``update`` the engine runs right after it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from .errors import InvalidInputError, JobNotFoundError, ModelArtsError
from .outputs import MOVING_FIELDS, OUTPUT_FIELDS
from .validation import check_endpoint, check_identifier, parse_job_id

if TYPE_CHECKING:
    from .runtime import ProviderRuntime, Target

#: Inputs that name *which* job is read; changing any of them reads another job: replace.
TARGET_INPUTS: tuple[str, ...] = ("job_id", "project_id", "region", "endpoint")
#: Outputs kept in state: the exported fields plus the endpoint that was read.
STATE_FIELDS: tuple[str, ...] = (*OUTPUT_FIELDS, "endpoint")
#: Stored outputs whose change is drift: all but the clocks that move on their own.
DRIFT_FIELDS: tuple[str, ...] = tuple(key for key in STATE_FIELDS if key not in MOVING_FIELDS)

_RUNTIME_LOCK = threading.Lock()
_F = TypeVar("_F", bound=Callable[..., Any])


def _one_line_errors(method: _F) -> _F:
    """Re-raise our errors without the client's stack, so the engine shows one clear line."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ModelArtsError as exc:
            raise exc.with_traceback(None) from None

    return wrapper  # type: ignore[return-value]


def _is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def _user_inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: props.get(key) for key in TARGET_INPUTS}


class VisualizationJobProvider(ResourceProvider):
    """Reads a ModelArts visualization job; never creates, changes or deletes one."""

    #: Nothing secret is ever pickled, so ``__provider`` need not be an encrypted state secret.
    serialize_as_secret_always = False

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore: the runtime is rebuilt in the provider process."""

    def configure(self, req: ConfigureRequest) -> None:
        """Keep the ``modelarts:*`` stack config (secrets arrive decrypted) for lazy use."""
        from .runtime import ProviderRuntime, stack_config_from

        self.__dict__["_live_runtime"] = ProviderRuntime(stack_config_from(req.config.get))

    def _runtime(self) -> ProviderRuntime:
        runtime: ProviderRuntime | None = self.__dict__.get("_live_runtime")
        if runtime is None:
            from .runtime import ProviderRuntime

            with _RUNTIME_LOCK:
                runtime = self.__dict__.setdefault("_live_runtime", ProviderRuntime({}))
        return runtime

    @_one_line_errors
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate and normalise inputs without any I/O; unknowns (preview) pass unchecked."""
        inputs = dict(news)
        failures: list[CheckFailure] = []
        validators: dict[str, Callable[[Any], Any]] = {
            "job_id": parse_job_id,
            "project_id": lambda value: check_identifier(value, field="project_id"),
            "region": lambda value: check_identifier(value, field="region"),
            "endpoint": check_endpoint,
        }
        if inputs.get("job_id") is None:
            failures.append(CheckFailure("job_id", "job_id is required: the ID of the visualization job"))
        for key, validate in validators.items():
            value = inputs.get(key)
            if value is None or _is_unknown(value):
                continue
            try:
                inputs[key] = validate(value)
            except InvalidInputError as exc:
                failures.append(CheckFailure(key, str(exc)))
        return CheckResult(inputs, failures)

    @_one_line_errors
    def create(self, props: dict[str, Any]) -> CreateResult:
        """Read the job (one GET); its ID becomes the resource ID."""
        runtime = self._runtime()
        target = runtime.target(_user_inputs(props))
        outputs = runtime.read(target, reuse_recent=True)
        return CreateResult(str(target.job_id), outputs)

    @_one_line_errors
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace for another job; otherwise re-read and report drift against stored outputs."""
        inputs = _user_inputs(news)
        unknown = [key for key, value in inputs.items() if _is_unknown(value)]
        if unknown:
            return DiffResult(changes=True, replaces=unknown, delete_before_replace=False)
        runtime = self._runtime()
        target = runtime.target(inputs)
        identity = target.identity()
        replaces = [key for key in TARGET_INPUTS if not _same_target(key, olds.get(key), identity[key])]
        if replaces:
            return DiffResult(changes=True, replaces=replaces, delete_before_replace=False)
        current = runtime.read(target, reuse_recent=True)
        changed = any(not _same(olds.get(key), current[key]) for key in DRIFT_FIELDS)
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    @_one_line_errors
    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """The full, freshly read output set (never empty, unlike the SDK default)."""
        runtime = self._runtime()
        return UpdateResult(runtime.read(runtime.target(_user_inputs(news)), reuse_recent=True))

    @_one_line_errors
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh (props = stored outputs) or ``.get`` (props = inputs): one GET of job ``id_``."""
        runtime = self._runtime()
        inputs = {**_user_inputs(props), "job_id": id_}
        from_state = any(key in props for key in OUTPUT_FIELDS if key not in TARGET_INPUTS)
        try:
            target: Target = runtime.target(inputs)
            outputs = runtime.read(target, reuse_recent=False)
        except JobNotFoundError:
            if from_state:
                return ReadResult("", {})  # gone: refresh drops it from state
            raise
        return ReadResult(str(target.job_id), outputs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Deliberately nothing: a data source never deletes the job it reads."""


def _same_target(key: str, old: Any, new: Any) -> bool:
    """Whether stored outputs name the job and place a resource reads now.

    A value missing from state was not recorded by the version that wrote it, so it cannot show
    another place; a job ID stored as a string and an endpoint with a trailing slash are the
    same job and place as their normalised forms.
    """
    if old is None:
        return True
    if key == "job_id":
        try:
            old = parse_job_id(old)
        except InvalidInputError:
            return False
    elif key == "endpoint" and isinstance(old, str):
        old = old.rstrip("/")
    return _same(old, new)


def _same(old: Any, new: Any) -> bool:
    """Equality across the engine's round trip, where every number comes back as a float."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    return bool(old == new)
