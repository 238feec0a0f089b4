"""One shared client per resolved settings, so every lookup in a process reuses connections,
tokens and project discovery instead of paying for them again."""

from __future__ import annotations

import threading
from collections import OrderedDict

from .client import ModelArtsClient
from .settings import Settings

#: Distinct settings seen by one process are few (one per region/project/endpoint override);
#: the bound only guards long-lived processes such as test runners.
MAX_CLIENTS = 32

_CLIENTS: OrderedDict[Settings, ModelArtsClient] = OrderedDict()
_LOCK = threading.Lock()


def shared_client(settings: Settings) -> ModelArtsClient:
    """The process-wide client for these settings, created on first use."""
    with _LOCK:
        client = _CLIENTS.get(settings)
        if client is not None:
            _CLIENTS.move_to_end(settings)
            return client
        client = ModelArtsClient(settings)
        _CLIENTS[settings] = client
        while len(_CLIENTS) > MAX_CLIENTS:
            _, evicted = _CLIENTS.popitem(last=False)
            evicted.close()
        return client
