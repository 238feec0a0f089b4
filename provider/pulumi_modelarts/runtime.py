"""What the dynamic provider needs at run time, built inside the provider process only.

Kept out of the pickled provider object: settings (with secrets), HTTP clients and locks would
otherwise end up in state or deadlock after unpickling.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .client import ModelArtsClient
from .pool import shared_client
from .settings import SETTING_KEYS, Settings
from .validation import parse_job_id

#: How long a job read in this process may stand in for another read of the same job. The
#: engine runs Read then Diff (refresh), or Diff then Update (up), back to back; a fresh
#: provider process is started for every command, so nothing is reused across commands.
RECENT_READ_SECONDS = 60.0
MAX_RECENT_READS = 4096


def stack_config_from(get: Callable[[str], Any]) -> dict[str, str]:
    """The ``modelarts:*`` keys of the stack config, read through ``Config.get``."""
    config: dict[str, str] = {}
    for key in SETTING_KEYS:
        value = get(key.config_key)
        if value is not None:
            config[key.config_key] = str(value)
    return config


@dataclass(frozen=True)
class Target:
    """One job at one endpoint in one project: what a resource reads."""

    job_id: int
    project_id: str
    region: str
    endpoint: str
    client: ModelArtsClient = field(compare=False, repr=False)

    def identity(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "project_id": self.project_id,
            "region": self.region,
            "endpoint": self.endpoint,
        }


class RecentReads:
    """A small, time-bounded memo of job reads made by this process."""

    def __init__(self, ttl: float = RECENT_READ_SECONDS, max_entries: int = MAX_RECENT_READS) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, str, int], tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, int]) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() - entry[0] > self._ttl:
                return None
            return dict(entry[1])

    def put(self, key: tuple[str, str, int], outputs: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), dict(outputs))
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class ProviderRuntime:
    """Settings, clients and recent reads of one provider process."""

    def __init__(self, stack_config: Mapping[str, str], environ: Mapping[str, str] | None = None) -> None:
        self._stack_config = dict(stack_config)
        self._environ = environ
        self._settings: Settings | None = None
        self._lock = threading.Lock()
        self.recent = RecentReads()

    def __repr__(self) -> str:
        return f"ProviderRuntime(config_keys={sorted(self._stack_config)})"

    def settings(self) -> Settings:
        """Provider-wide settings, resolved on first use so that ``delete`` never needs them."""
        settings = self._settings
        if settings is None:
            with self._lock:
                if self._settings is None:
                    environ = os.environ if self._environ is None else self._environ
                    self._settings = Settings.from_sources(stack_config=self._stack_config, environ=environ)
                settings = self._settings
        return settings

    def target(self, inputs: Mapping[str, Any]) -> Target:
        """Resolve a resource's inputs to the job, project, region and endpoint it reads."""
        job_id = parse_job_id(inputs.get("job_id"))
        client = self._client_for(inputs.get("project_id"), inputs.get("region"), inputs.get("endpoint"))
        return Target(job_id, client.project_id, client.region, client.endpoint, client)

    def _client_for(
        self, project_id: str | None, region: str | None, endpoint: str | None
    ) -> ModelArtsClient:
        """The one client of the place (region and endpoint) a resource names.

        Stored outputs name the project, region and endpoint a job was read from, while inputs
        name only overrides. A project that is the place's own (configured or discovered) is
        served by the place's client, so the Read and Diff of one resource share a client and
        its token; any other project gets a client of its own.
        """
        place = self.settings().with_overrides(region=region)
        if endpoint is not None and endpoint.rstrip("/") != place.resolved_endpoint:
            place = place.with_overrides(endpoint=endpoint.rstrip("/"))
        client = shared_client(place)
        if project_id is None or project_id == client.project_id:
            return client
        return shared_client(place.with_overrides(project_id=project_id))

    def read(self, target: Target, *, reuse_recent: bool) -> dict[str, Any]:
        """The job's state outputs; ``reuse_recent`` accepts this process's last read of it."""
        key = (target.endpoint, target.project_id, target.job_id)
        if reuse_recent:
            recent = self.recent.get(key)
            if recent is not None:
                return recent
        job = target.client.get_visualization_job(target.job_id)
        outputs = {
            **job.to_outputs(project_id=target.project_id, region=target.region),
            "endpoint": target.endpoint,
        }
        self.recent.put(key, outputs)
        return outputs
