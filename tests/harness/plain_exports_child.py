"""Child process for :func:`harness.example_programs.run_example`.

Same as :mod:`harness.program_child`, except that stack exports of plain values (``str``,
``int``, lists of them, ...) are accepted: the Pulumi CLI takes them, and programs built on the
direct function forms export them, but ``program_child._resolve`` expects every export to be an
``Output``.
"""

from __future__ import annotations

from typing import Any

import pulumi

from harness import program_child

_resolve_outputs = program_child._resolve


async def _resolve_any(outputs: dict[str, Any]) -> dict[str, Any]:
    return await _resolve_outputs({name: pulumi.Output.from_input(value) for name, value in outputs.items()})


program_child._resolve = _resolve_any

if __name__ == "__main__":
    program_child.main()
