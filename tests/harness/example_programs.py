"""What the program tests check: stack config that points a program at an emulator, the
emulator's ModelArts requests, and credentials found where none may be. Programs run with
:func:`harness.programs.run_program`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.programs import REPO_ROOT
from pulumi_modelarts.emulator import ModelArtsEmulator

QUICKSTART_DIR = REPO_ROOT
QUICKSTART_PROJECT = "modelarts-quickstart"
EXAMPLES_DIR = REPO_ROOT / "examples"
#: Stack config keys that carry credentials: what ``pulumi config set --secret`` would mark.
SECRET_CONFIG_KEYS = ("modelarts:accessKey", "modelarts:secretKey", "modelarts:password")


def modelarts_requests(emulator: ModelArtsEmulator) -> list[tuple[str, str]]:
    """``(method, path)`` of every ModelArts (``/v1``) request the emulator saw."""
    return [(record.method, record.path) for record in emulator.requests if record.path.startswith("/v1/")]


def find_text(value: Any, needles: tuple[str, ...], *, outside_secrets: bool = False) -> list[str]:
    """JSON paths of the strings in ``value`` that contain one of ``needles``.

    With ``outside_secrets``, values wrapped by the harness as ``{"__secret": ...}`` (secret
    inputs and outputs) are skipped: only plain-text occurrences are reported.
    """
    return list(_find(value, needles, "$", outside_secrets))


def _find(value: Any, needles: tuple[str, ...], path: str, outside_secrets: bool) -> Iterator[str]:
    if isinstance(value, dict):
        if outside_secrets and set(value) == {"__secret"}:
            return
        for key, item in value.items():
            if any(needle in str(key) for needle in needles):
                yield f"{path}.{key} (key)"
            yield from _find(item, needles, f"{path}.{key}", outside_secrets)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _find(item, needles, f"{path}[{index}]", outside_secrets)
    elif isinstance(value, str) and any(needle in value for needle in needles):
        yield path
