"""Reproduction of python/cpython#83065 (fixed in CPython 3.15): a thread importing a submodule
(``from requests.auth import AuthBase``) while another imports its package (``import requests``, whose
``__init__`` imports ``requests.auth``) takes the two import locks in opposite orders, and one of them
fails with ``_DeadlockError`` or an ImportError on a partially initialised module. The package's
modules therefore import a package before any of its submodules (``tests/test_package.py`` checks it).
``python -m benchmarks.import_race [RUNS]``: failures out of RUNS fresh interpreters, each order."""

from __future__ import annotations

import subprocess
import sys

RACE = """
import sys, threading, time
barrier, failures = threading.Barrier(2), []
def load(statement):
    barrier.wait()
    time.sleep(0.003 if statement is sys.argv[2] else 0)  # the package's import under way
    try:
        exec(statement)
    except BaseException as exc:
        failures.append(type(exc).__name__)
threads = [threading.Thread(target=load, args=(s,)) for s in sys.argv[1:]]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(",".join(failures))
"""


def failures(runs: int, *statements: str) -> int:
    ran = (
        subprocess.run([sys.executable, "-c", RACE, *statements], capture_output=True, text=True)
        for _ in range(runs)
    )
    return sum(bool(run.stdout.strip()) for run in ran)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    submodule_first = failures(runs, "import requests", "from requests.auth import AuthBase")
    package_first = failures(runs, "import requests", "import requests\nfrom requests.auth import AuthBase")
    print(f"Python {sys.version.split()[0]}, {runs} fresh interpreters each:")
    print(f"  a submodule imported first in one thread: {submodule_first} failed")
    print(f"  its package imported first in both:       {package_first} failed")


if __name__ == "__main__":
    main()
