"""Figure 6: ``__provider``: its size, and byte equality across processes and checkouts.

``serialize_provider(VisualizationJobProvider())`` is what ``dynamic.Resource`` stores in state.
It is computed here, in two more fresh interpreters (different working directories and hash
seeds), and in a second checkout: a ``git clone`` of this repository's HEAD into a temporary
directory, imported through ``PYTHONPATH=<clone>/provider`` with this venv's interpreter (the
child prints ``pulumi_modelarts.__file__`` to prove which copy it imported).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import REPO_ROOT, clean_env, run_ok
from .report import Section, verdict

_CHILD = """
import json, pulumi_modelarts
from pulumi.dynamic.dynamic import serialize_provider
from pulumi_modelarts.provider import VisualizationJobProvider
pickled = serialize_provider(VisualizationJobProvider())
print(json.dumps({"pickle": pickled, "file": pulumi_modelarts.__file__}))
"""


def _in_child(cwd: Path, env: dict[str, str]) -> dict[str, str]:
    result: dict[str, str] = json.loads(run_ok([sys.executable, "-c", _CHILD], env=env, cwd=cwd))
    return result


def run(quick: bool = False) -> list[Section]:
    del quick
    from pulumi.dynamic.dynamic import serialize_provider

    from pulumi_modelarts.provider import VisualizationJobProvider

    here = serialize_provider(VisualizationJobProvider())
    section = Section(
        "6. `__provider` (base64 dill pickle stored in state)",
        ["where", "characters", "identical to this process", "imported from"],
    )
    section.add("this process", len(here), "-", "this checkout")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for index, seed in enumerate(("1", "4242")):
            child = _in_child(work, clean_env({"PYTHONHASHSEED": seed}))
            rows[f"fresh process {index + 1} (PYTHONHASHSEED={seed})"] = child
        clone = work / "clone"
        subprocess.run(
            ["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True, capture_output=True
        )
        child = _in_child(work, clean_env({"PYTHONPATH": str(clone / "provider")}))
        rows["second checkout (git clone of HEAD, PYTHONPATH)"] = child
    identical = True
    for name, child in rows.items():
        same = child["pickle"] == here
        identical = identical and same
        origin = "the clone" if str(Path(tmp) / "clone") in child["file"] else "this checkout"
        section.add(name, len(child["pickle"]), "yes" if same else "NO", origin)
    raw = base64.b64decode(here)
    by_reference = b"pulumi_modelarts.provider" in raw and b"VisualizationJobProvider" in raw
    section.notes.append(
        f"{len(here)} characters ({len(raw)} bytes of pickle): the class is pickled by reference "
        f"({'module and class name only' if by_reference else 'NOT by reference'}), with no state. "
        f"Identical across processes and checkouts — {verdict(identical)}."
    )
    section.data = {
        "characters": len(here),
        "bytes": len(raw),
        "by_reference": by_reference,
        "identical": identical,
        "children": {name: {"same": c["pickle"] == here, "file": c["file"]} for name, c in rows.items()},
    }
    return [section]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result.render())
