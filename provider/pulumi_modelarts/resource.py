"""``VisualizationJob``: a ModelArts visualization job read into Pulumi state, data-source style.

No ``from __future__ import annotations``: the SDK resolves the class's annotations on every registration
(``pulumi._types.resource_types``); as strings they cost a ``compile()`` each, a third of its cost."""

import asyncio
import functools
import importlib
import pickle
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic.dynamic import serialize_provider

from .errors import InvalidInputError, as_run_errors, secret_inputs
from .locks import Lock
from .provider import HIDDEN_TARGETS, STATE_FIELDS, TARGET_INPUTS, VisualizationJobProvider
from .validation import check_one_job, check_target

_PICKLE_LOCK = Lock()


@functools.cache
def _serialized_provider() -> str:
    """``__provider`` by the SDK's ``serialize_provider``, once: each call wraps ``pickle._Pickler``
    again and never unwraps it, so every resource costs more than the last and about a thousand end in
    ``RecursionError`` (pulumi/pulumi#17803; ``benchmarks/sdk_pickle_growth.py``). The pickler is put
    back as found, for other dynamic resources in the program. The class is the one its module holds
    now: after a reload, the class bound at import would be pickled by value (code, paths and locks
    dill cannot restore: the provider process would hang)."""
    provider = importlib.import_module(VisualizationJobProvider.__module__).VisualizationJobProvider
    with _PICKLE_LOCK:
        pickler, module_pickler = pickle._Pickler, pickle.Pickler
        saved = dict(vars(pickler))
        try:
            return str(serialize_provider(provider()))
        finally:
            pickle.Pickler = module_pickler  # type: ignore[misc]
            for name in set(vars(pickler)) - set(saved):
                delattr(pickler, name)
            for name, value in saved.items():
                if vars(pickler).get(name) is not value:
                    setattr(pickler, name, value)


class _SecretOutputs(list[str]):
    """``additional_secret_outputs`` that every output joins once a target is known to be secret,
    and so do the lists a transformation makes of it before then (``ResourceOptions.merge`` and
    ``+`` concatenate): the SDK registers whichever of them the transformations leave."""

    def __init__(self, names: Iterable[str], family: "list[_SecretOutputs] | None" = None) -> None:
        super().__init__(names)
        self.family = [] if family is None else family
        self.family.append(self)

    def __add__(self, other: Iterable[str]) -> "_SecretOutputs":  # type: ignore[override]
        return _SecretOutputs([*self, *other], self.family)

    def __radd__(self, other: Iterable[str]) -> "_SecretOutputs":
        return _SecretOutputs([*other, *self], self.family)

    def add_every_output(self) -> None:
        for names in self.family:
            names.extend(name for name in STATE_FIELDS if name not in names)


def _secret_outputs_when_secret(
    targets: dict[str, Any], opts: pulumi.ResourceOptions | None
) -> tuple[Any, pulumi.ResourceOptions | None, Any]:
    """``job_id`` to register, options listing every output as secret when any input is (the
    engine follows only inputs of the same name) or the place stack config names for an input not
    given is, and the names of those targets (None when none is), which the provider's errors show
    as ``[secret]``. The SDK reads ``additional_secret_outputs`` after serializing the inputs, so
    the returned ``job_id`` resolves once the list is complete."""
    from .settings import secret_config

    configured = [key for key, _ in secret_config(targets)]
    outputs = any(isinstance(value, pulumi.Output) for value in targets.values())
    if not (outputs or configured):
        return targets["job_id"], opts, None
    merged = pulumi.ResourceOptions.merge(opts, None)
    secret_outputs = merged.additional_secret_outputs = _SecretOutputs(merged.additional_secret_outputs or [])
    if configured:
        secret_outputs.add_every_output()
    if not outputs:
        return targets["job_id"], merged, [key for key in TARGET_INPUTS if key in configured]
    job_id = pulumi.Output.from_input(targets["job_id"])

    async def secret_names() -> list[str] | None:
        secret = [
            key
            for key, value in targets.items()
            if isinstance(value, pulumi.Output) and await value.is_secret()
        ]
        secret += configured
        names = [key for key in TARGET_INPUTS if key in secret or (key == "job_id" and "id" in secret)]
        if names:
            secret_outputs.add_every_output()
        return names or None

    names = asyncio.ensure_future(secret_names())

    async def is_secret() -> bool:
        await names  # the list of secret outputs is complete
        return await job_id.is_secret()

    value = job_id.future(with_unknowns=True)
    job_id_output = pulumi.Output(job_id.resources(), value, job_id.is_known(), is_secret())
    return job_id_output, merged, pulumi.Output.from_input(names)


def _check_options(opts: Any) -> None:
    """Options the engine cannot carry out, refused in one line before anything is registered: an
    ``import_`` would fail in the SDK's server as ``KeyError: '__provider'`` (pulumi/pulumi#16175)."""
    if opts is None or (isinstance(opts, pulumi.ResourceOptions) and opts.import_ is None):
        return
    if isinstance(opts, pulumi.ResourceOptions):
        problem = "a VisualizationJob cannot be imported: Python dynamic resources do not support import_"
        hint = "Drop import_: VisualizationJob(name, job_id) reads the job on its first up, .get() every run"
    else:
        problem = f"opts must be a pulumi.ResourceOptions, got {type(opts).__name__}"
        hint = "Pass opts=pulumi.ResourceOptions(...)"
    with as_run_errors():
        raise InvalidInputError(problem, hint=hint)


def _check_known(targets: Mapping[str, Any]) -> Mapping[str, Any]:
    """``targets``, whose known values are refused in the program as Check would, with the value as
    given (over the engine ``2**53 + 1`` reads ``9007199254740992.0``, and ``.get`` has no Check)."""
    with as_run_errors():
        for key, value in targets.items():
            if not isinstance(value, pulumi.Output) and (value is not None or key in ("job_id", "id")):
                check_target(key, value)
    return targets


def _targets(*values: Any) -> dict[str, Any]:
    """The inputs naming the job, each read twice (so an awaitable, a coroutine, as an ``Output``),
    checked once known as ``_check_known`` checks the others: the SDK cannot send ``10**400``."""
    pairs = zip(TARGET_INPUTS, values, strict=True)
    targets = {key: pulumi.Output.from_input(v) if isinstance(v, Awaitable) else v for key, v in pairs}
    return {k: _checked_output(k, v) if isinstance(v, pulumi.Output) else v for k, v in targets.items()}


def _checked_output(key: str, value: pulumi.Output[Any]) -> pulumi.Output[Any]:
    return _when_known(lambda known: _check_known({key: known})[key], value)


def _when_known(check: Callable[[Any], Any], value: pulumi.Output[Any]) -> pulumi.Output[Any]:
    """``check(value)`` once known; a secret value is never shown in a refusal."""

    def checked(value_and_secret: list[Any]) -> Any:
        known, secret = value_and_secret  # one value, or the resource ID and every target in a list
        values = (known, *known) if isinstance(known, list) else (known,)
        with secret_inputs(*(values if secret else ())), as_run_errors():
            return check(known)

    is_secret: Any = value.is_secret()  # from_input's overloads do not type an awaitable
    return pulumi.Output.all(value, pulumi.Output.from_input(is_secret)).apply(checked)


class VisualizationJob(pulumi.dynamic.Resource, module="modelarts", name="VisualizationJob"):
    """An existing ModelArts visualization job (TensorBoard / MindInsight), read by ID."""

    job_id: pulumi.Output[int]
    job_name: pulumi.Output[str]
    job_desc: pulumi.Output[str | None]
    service_url: pulumi.Output[str | None]
    resource_id: pulumi.Output[str | None]
    train_url: pulumi.Output[str | None]
    status: pulumi.Output[int]
    status_name: pulumi.Output[str]
    is_running: pulumi.Output[bool]
    duration: pulumi.Output[int | None]
    create_time: pulumi.Output[int | None]
    created_at: pulumi.Output[str | None]
    job_type: pulumi.Output[str | None]
    flavor_code: pulumi.Output[str | None]
    remaining_duration: pulumi.Output[float | None]
    project_id: pulumi.Output[str]
    region: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        job_id: pulumi.Input[int | str],
        *,
        project_id: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        endpoint: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Read job ``job_id``; ``project_id``, ``region`` and ``endpoint`` override the provider-wide
        ``modelarts:*`` settings for this job only. When any of them is secret, so is every output."""
        _check_options(opts)
        targets = _targets(job_id, project_id, region, endpoint)
        _check_known(targets)
        read_id = None if opts is None else opts.id
        if read_id is job_id:  # .get's ID is the job_id given, checked above
            read_id = targets["job_id"]
        elif read_id is not None:
            named = targets["job_id"]
            if not isinstance(read_id, Awaitable | pulumi.Output):
                _check_known({"id": read_id})  # refused under its own name, not as the job_id given
                if not isinstance(named, pulumi.Output):
                    with as_run_errors():  # both known: refused at once, as other known bad inputs are
                        check_one_job(named, read_id)
            read_id = _checked_output("id", pulumi.Output.from_input(read_id))
        job_id, opts, secret_targets = _secret_outputs_when_secret({**targets, "id": read_id}, opts)
        if read_id is not None:
            # Read without Check: the SDK's server reads the configured place for an unknown
            # override, so the ID stays unknown (nothing read) until every target is known. It
            # cannot be secret in Pulumi; a secret one has made every output secret above. Refused
            # here when it names another job than job_id (the engine would show a secret one).
            every = pulumi.Output.all(read_id, *targets.values())
            known_id = _when_known(lambda values: str(check_one_job(values[1], values[0])), every)
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(id=pulumi.Output.unsecret(known_id))
            )
        # What ``dynamic.Resource.__init__`` registers (``__provider`` not secret, as
        # ``serialize_as_secret_always`` is False), without serializing the provider every time.
        props = {**dict.fromkeys(STATE_FIELDS), **targets, "job_id": job_id}
        if secret_targets is not None:
            props[HIDDEN_TARGETS] = secret_targets
        props["__provider"] = _serialized_provider()
        pulumi.CustomResource.__init__(
            self, f"pulumi-python:{self._resource_type_name}", resource_name, props, opts
        )

    @staticmethod
    def get(
        resource_name: str,
        id: pulumi.Input[int | str],
        opts: pulumi.ResourceOptions | None = None,
        *,
        project_id: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        endpoint: pulumi.Input[str] | None = None,
    ) -> "VisualizationJob":
        """Read job ``id`` without managing it (read on every preview and up, never deleted). While an
        override is unknown (preview), so is the resource ID: nothing is read, not the configured place."""
        _check_options(opts)
        job_id: Any = pulumi.Output.from_input(id) if isinstance(id, Awaitable) else id  # read twice
        # Refused as the argument the program gave, ``id``, before the job_id it stands for is checked.
        job_id = _checked_output("id", job_id) if isinstance(job_id, pulumi.Output) else job_id
        _check_known({"id": job_id})
        if opts is None or opts.id is None:  # an id option given too must name the same job
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=job_id))
        return VisualizationJob(
            resource_name, job_id, project_id=project_id, region=region, endpoint=endpoint, opts=opts
        )
