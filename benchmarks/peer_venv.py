"""The peer SDK (openstacksdk + otcextensions) in its own venv under ``build/``.

Never a dependency of the package or of the dev venv: it is installed here, with pip, on first
use. Without network the install fails and the peer rows say "not measured: <reason>".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .common import BUILD_DIR

PEER_VENV = BUILD_DIR / "peer-venv"
#: Versions measured in anchors.md §5.3 (openstacksdk) and the newest otcextensions then.
PEER_REQUIREMENTS = ("openstacksdk==4.22.0", "otcextensions==0.34.8")
_STAMP = PEER_VENV / ".installed"
PROBE = Path(__file__).with_name("peer_probe.py")


def peer_python() -> tuple[Path | None, str]:
    """The peer venv's interpreter, installing it if needed; or None and the reason why not."""
    python = PEER_VENV / "bin" / "python"
    wanted = "\n".join(PEER_REQUIREMENTS)
    if _STAMP.exists() and _STAMP.read_text(encoding="utf-8") == wanted and python.exists():
        return python, "ok"
    base = getattr(sys, "_base_executable", sys.executable)  # the same interpreter as .venv's
    steps = (
        [base, "-m", "venv", "--clear", str(PEER_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEER_REQUIREMENTS],
    )
    print(f"installing the peer SDK into {PEER_VENV} (first use only) ...", flush=True)
    for argv in steps:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"{argv[2]} failed: {exc}"
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip() and "WARNING" not in line]
            return None, f"pip/venv exited {done.returncode}: {(lines or ['no output'])[-1][:160]}"
    _STAMP.write_text(wanted, encoding="utf-8")
    return python, "ok"
