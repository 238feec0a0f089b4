"""The package's shape: every typed surface of a job's fields follows ``outputs.OUTPUTS``, and the
package root exports its names lazily, each once."""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import typing
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi
import pytest

import pulumi_modelarts
from pulumi_modelarts.functions import RESULT_FIELDS, GetVisualizationJobResult
from pulumi_modelarts.outputs import OUTPUTS
from pulumi_modelarts.provider import STATE_FIELDS
from pulumi_modelarts.resource import VisualizationJob
from pulumi_modelarts.responses import JobModel
from pulumi_modelarts.settings import ENDPOINTS_KEY, SETTING_KEYS
from tests.programs import REPO_ROOT

FULL_JOB: dict[str, Any] = {"job_id": 7, "job_name": "full", "status": 8, "job_desc": "d", "service_url": "u"}
FULL_JOB |= {"resource_id": "r", "train_url": "obs://x/", "duration": 5, "create_time": 1565149736000}
FULL_JOB |= {"remaining_duration": 1.5, "job_type": "TensorBoard", "flavor": {"code": "c"}}


def test_the_resource_declares_every_output_with_its_type() -> None:
    # Real objects: resource.py keeps them unstringified.
    declared: dict[str, object] = VisualizationJob.__annotations__
    expected = {field.name: (pulumi.Output, (field.type,)) for field in OUTPUTS}
    shown = {name: (typing.get_origin(hint), typing.get_args(hint)) for name, hint in declared.items()}
    assert shown == {**expected, "endpoint": (pulumi.Output, (str,))}
    assert tuple(declared) == STATE_FIELDS


def test_the_function_result_declares_every_output_with_its_type() -> None:
    declared = typing.get_type_hints(GetVisualizationJobResult)
    assert tuple(declared) == RESULT_FIELDS
    assert declared == {"id": str | None, "found": bool, **{f.name: f.type | None for f in OUTPUTS}}
    result = GetVisualizationJobResult(job_name="a", found=True)
    assert (result.job_name, result.found, result.job_id) == ("a", True, None)


def test_the_model_gives_every_output_of_its_declared_type() -> None:
    outputs = JobModel.model_validate(FULL_JOB).to_outputs(project_id="p", region="eu-de")
    assert tuple(outputs) == tuple(field.name for field in OUTPUTS)
    assert {f.name: outputs[f.name] for f in OUTPUTS if not isinstance(outputs[f.name], f.type)} == {}
    assert None not in outputs.values()  # every field was really read, not left out


def test_the_readme_outputs_table_is_the_definition() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| Output | Type | Meaning |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+?(?:\\\|[^|]+?)?) \| (.+) \|$", table, re.MULTILINE)
    described = [(name, kind.replace("\\|", "|"), "*Moves on its own*" in text) for name, kind, text in rows]
    assert described == [(f.name, getattr(f.type, "__name__", str(f.type)), f.moves) for f in OUTPUTS]


def test_the_readme_configuration_table_names_every_setting_and_variable() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| Stack config | Environment | Default / meaning |", 1)[1].split("\n\n", 1)[0]
    rows = [row.split(" | ")[:2] for row in table.strip().splitlines()[1:]]
    keys = [re.findall(r"`(?:modelarts:)?(\w+)`", config) for config, _ in rows]
    variables = [re.findall(r"\b[A-Z][A-Z_]+[A-Z]\b", env) for _, env in rows]
    others = [*(alias for key in SETTING_KEYS for alias in key.aliases), ENDPOINTS_KEY.partition(":")[2]]
    assert sorted(key for row in keys for key in row) == sorted([key.config for key in SETTING_KEYS] + others)
    by_config = {key.config: key for key in SETTING_KEYS}
    # Each row lists the variables of its keys in the order they are read (the first set one wins).
    assert [name for row in variables for name in row] == [
        name for row in keys for key in row if key in by_config for name in by_config[key].env
    ]


def test_the_readme_errors_table_gives_each_class_its_exit_code() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| Error | When | CLI exit code |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)`(?: \(`(\w+)`\))? \| .+ \| (\d) \|$", table, re.MULTILINE)
    codes = {name: int(code) for *names, code in rows for name in names if name}
    errors = {name for name in pulumi_modelarts.__all__ if name.endswith("Error")} - {"ModelArtsError"}  # type: ignore[attr-defined]
    assert codes == {name: getattr(pulumi_modelarts, name).exit_code for name in errors}


def test_the_root_exports_what_its_imports_list() -> None:
    exported = pulumi_modelarts.__all__  # type: ignore[attr-defined]
    assert {"VisualizationJob", "get_visualization_job_output", "ModelArtsClient", "Settings"} <= set(
        exported
    )
    assert len(exported) == len(set(exported)) == 25
    assert [name for name in exported if getattr(pulumi_modelarts, name) is None] == []
    assert pulumi_modelarts.VisualizationJob is VisualizationJob
    assert dir(pulumi_modelarts) == sorted(exported)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        pulumi_modelarts.nothing_here  # type: ignore[attr-defined]  # noqa: B018


def test_type_checkers_see_every_export_typed_and_refuse_a_misspelt_one(tmp_path: Path) -> None:
    names = pulumi_modelarts.__all__  # type: ignore[attr-defined]
    lines = ["import pulumi_modelarts", *(f"reveal_type(pulumi_modelarts.{name})" for name in names)]
    program = tmp_path / "program.py"
    program.write_text("\n".join([*lines, "pulumi_modelarts.VisualisationJob", ""]), encoding="utf-8")
    argv = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), program.name]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    revealed = re.findall(r'^program\.py:\d+: note: Revealed type is "(.+)"$', done.stdout, re.MULTILINE)
    assert len(revealed) == len(names) and "Any" not in revealed, done.stdout
    errors = re.findall(r"^program\.py:(\d+): error: ([^;]+)", done.stdout, re.MULTILINE)
    assert errors == [(str(len(lines) + 1), 'Module has no attribute "VisualisationJob"')], done.stdout


def test_the_metadata_states_the_version_and_the_pythons_the_package_has() -> None:
    info = metadata.metadata("pulumi-modelarts")
    assert info["Version"] == pulumi_modelarts.__version__  # what `modelarts-vis --version` shows
    classifiers = "\n".join(info.get_all("Classifier") or [])
    pythons = re.findall(r"^Programming Language :: Python :: (3\.\d+)$", classifiers, re.MULTILINE)
    assert pythons == ["3.10", "3.11", "3.12", "3.13"] and info["Requires-Python"] == f">={pythons[0]}"
    typed = (Path(pulumi_modelarts.__file__).parent / "py.typed").is_file()
    assert typed and "Typing :: Typed" in classifiers.splitlines()


def _zipped(package: Path, into: Path) -> Path:
    archive = into / "site.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in package.rglob("*.py"):
            zipped.write(path, path.relative_to(package.parent))
    return archive


def _sourceless(package: Path, into: Path) -> Path:
    """As ``compileall -b`` leaves it with the sources removed."""
    copy = shutil.copytree(package, into / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-b", str(copy)], check=True)
    for source in copy.rglob("*.py"):
        source.unlink()
    return into


@pytest.mark.parametrize("install", [_zipped, _sourceless])
def test_the_root_exports_from_a_zipped_or_sourceless_install(install: Any, tmp_path: Path) -> None:
    site = install(Path(pulumi_modelarts.__file__).parent, tmp_path)
    code = "import pulumi_modelarts as m; print(m.__file__, len(m.__all__), m.JobStatus.RUNNING.name)"
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(site)) and done.stdout.split()[1:] == ["25", "RUNNING"]


LAZY = """
import sys
{imports}
loaded = sorted(name for name in {absent} if name in sys.modules)
assert not loaded, loaded
"""


@pytest.mark.parametrize(
    ("imports", "absent"),
    [
        pytest.param(
            "import pulumi\nfrom pulumi_modelarts import VisualizationJob, JobStatus, ModelArtsError, OUTPUT_FIELDS",
            ("requests", "pydantic", "pydantic_core", "urllib3"),
            id="a resource-only program: no HTTP client, no pydantic",
        ),
        pytest.param(
            "from pulumi_modelarts import get_visualization_job_output, GetVisualizationJobResult",
            ("requests", "pydantic", "pydantic_core", "urllib3"),
            id="the function forms until their first read",
        ),
        pytest.param(
            "import pulumi_modelarts.cli, pulumi_modelarts.emulator",
            ("pulumi",),
            id="the CLI and the emulator: no Pulumi SDK",
        ),
    ],
)
def test_imports_stay_lazy(imports: str, absent: tuple[str, ...]) -> None:
    code = LAZY.format(imports=imports, absent=absent)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("VisualizationJob", "resource"),
        ("get_visualization_job_output", "functions"),
        ("ModelArtsClient", "client"),
        ("Settings", "settings"),
    ],
)
def test_importtime_reports_the_module_a_lazy_export_loads(name: str, module: str) -> None:
    """``-X importtime`` is how a user (and figure 2 of docs/performance.md) sees what an import costs."""
    argv = [sys.executable, "-X", "importtime", "-c", f"from pulumi_modelarts import {name}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assert re.search(rf"\| pulumi_modelarts\.{module}$", done.stderr, re.MULTILINE), done.stderr


#: How the Python language host finds a distribution's pulumi-plugin.json, verbatim from pulumi/pulumi
#: sdk/python/cmd/pulumi-language-python/main.go (``pulumiPluginJSONPathsScript``). For a `pulumi-*`
#: distribution without one, the host reports a resource plugin named after it (``modelarts``, at the
#: package's version) that every `pulumi up`, preview, refresh and destroy then tries to download.
PLUGIN_JSON_PATHS = """import importlib.metadata, importlib.util, os, sys, json
result = {}
for pkg_name in sys.argv[1:]:
\ttry:
\t\tdist = importlib.metadata.distribution(pkg_name)
\t\tmodule = dist.metadata['Name'].replace('-', '_')
\t\tspec = importlib.util.find_spec(module)
\t\tlocs = list(spec.submodule_search_locations or []) if spec else []
\t\tfound = [p for l in locs for p in [os.path.join(str(l), 'pulumi-plugin.json')] if os.path.isfile(p)]
\t\tresult[pkg_name] = found[0] if found else ''
\texcept Exception:
\t\tresult[pkg_name] = ''
print(json.dumps(result))"""


def test_the_language_host_finds_that_the_package_has_no_plugin_to_download() -> None:
    found = subprocess.run(
        [sys.executable, "-c", PLUGIN_JSON_PATHS, "pulumi-modelarts"],
        capture_output=True,
        text=True,
        check=True,
    )
    path = json.loads(found.stdout)["pulumi-modelarts"]
    assert path, "no pulumi-plugin.json: the CLI would look for a `modelarts` resource plugin"
    with open(path, encoding="utf-8") as plugin_json:
        assert json.load(plugin_json)["resource"] is False
    # In the wheel too: [tool.setuptools.package-data] (tomllib is not in Python 3.10).
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    shipped = json.loads(re.findall(r"^pulumi_modelarts = (\[.*\])$", pyproject, re.MULTILINE)[0])
    assert any(fnmatch.fnmatch("pulumi-plugin.json", pattern) for pattern in shipped)


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The absolute module names an import statement loads (``from . import x`` loads none of theirs)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [node.module] if node.level == 0 and node.module else []


def _runs(body: list[ast.stmt]) -> typing.Iterator[ast.stmt]:
    """The statements of ``body`` that run with it, in order, those of its blocks included, but not
    those of a nested function or class or of an ``if TYPE_CHECKING:`` block."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) or (
            isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test)
        ):
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _runs(getattr(statement, field, []))


def test_every_module_imports_a_package_before_its_submodules() -> None:
    """python/cpython#83065 (benchmarks/import_race.py): a thread importing ``requests.auth`` while
    another imports ``requests`` can fail with ``_DeadlockError``; the pool and the provider's threads
    import the HTTP modules lazily, so no module may load a submodule of a package not loaded yet."""
    misordered = []
    for path in sorted((REPO_ROOT / "provider" / "pulumi_modelarts").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        loaded = {
            name.split(".")[0]
            for node in _runs(tree.body)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for name in _imported(node)
        }
        scopes = [
            tree.body,
            *(
                node.body
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            ),
        ]
        for body in scopes:
            seen = set() if body is tree.body else set(loaded)
            for node in _runs(body):
                for name in _imported(node) if isinstance(node, ast.Import | ast.ImportFrom) else ():
                    package = name.partition(".")[0]
                    if "." in name and package not in seen and package not in sys.stdlib_module_names:
                        misordered.append(f"{path.name}:{node.lineno} {name} before {package}")
                    seen.add(package)
    assert misordered == []
