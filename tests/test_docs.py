"""What a newcomer reads and runs first: every README's Python snippets run as written (as Pulumi
programs under mocks, with the emulator's settings in their environment; a ```python notest block
is illustrative and skipped), the shell steps install the package before they use its CLI and run
against the emulator as typed, and the package ships the license it declares."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt
from packaging.requirements import Requirement
from packaging.version import Version

from pulumi_modelarts import (
    ModelArtsClient,
    ModelArtsError,
    Settings,
    cli,
    client,
    functions,
    settings,
    transport,
)
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from tests.programs import CLOUD_VARIABLE_PREFIXES, EXAMPLES_DIR, REPO_ROOT, modelarts_requests, run_program

DOCS = [REPO_ROOT / "README.md", *sorted(EXAMPLES_DIR.rglob("README.md"))]
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
ILLUSTRATIVE = "notest"
CLOUD_HOST = "modelarts.eu-de.otc.t-systems.com"  # the host the README's messages name


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    language: str
    flags: tuple[str, ...]
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of ``path`` in reading order, parsed as CommonMark."""
    blocks = []
    for token in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        if token.type == "fence" and token.map is not None:
            language, *flags = token.info.split() or [""]
            blocks.append(Block(path, token.map[0] + 1, language, tuple(flags), token.content))
    return blocks


PYTHON_BLOCKS = [block for path in DOCS for block in fenced_blocks(path) if block.language == "python"]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda block: block.where)
def test_python_snippet_runs_as_written(block: Block, emulator: ModelArtsEmulator, tmp_path: Path) -> None:
    if ILLUSTRATIVE in block.flags:
        pytest.skip(f"{block.where} is marked illustrative (```python {ILLUSTRATIVE})")
    (tmp_path / "__main__.py").write_text(block.code, encoding="utf-8")
    run = run_program(tmp_path, project="readme-snippet", env=emulator.environ())
    assert run.error is None, f"{block.where} fails as written:\n{run.error['traceback']}"
    # A data source never mutates the cloud, snippets included.
    assert [request for request in modelarts_requests(emulator) if request[0] != "GET"] == []


def test_the_readme_has_snippets_that_run() -> None:
    """Guards the parametrization above: a parser that found nothing would skip everything."""
    runnable = [block for block in PYTHON_BLOCKS if ILLUSTRATIVE not in block.flags]
    assert any(block.path == REPO_ROOT / "README.md" for block in runnable)
    assert any("ModelArtsEmulator" in block.code for block in runnable)


YAML_BLOCKS = [block for path in DOCS for block in fenced_blocks(path) if block.language == "yaml"]


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda block: block.where)
def test_yaml_snippet_shows_what_the_manifest_holds(block: Block) -> None:
    """A `Stack` spec fragment in a README is the one in the `stack.yaml` beside it; its envRefs
    sketch has every entry the manifest has, as the manifest writes it."""
    manifest = yaml.safe_load_all((block.path.parent / "stack.yaml").read_text(encoding="utf-8"))
    spec = next(document for document in manifest if document["kind"] == "Stack")["spec"]
    shown = yaml.safe_load(block.code)
    refs = shown.pop("envRefs", None)
    assert shown == {key: spec.get(key) for key in shown}, block.where
    assert refs is None or {key: refs[key] for key in spec["envRefs"]} == spec["envRefs"], block.where


# -- shell steps ---------------------------------------------------------------------------------


def shell_commands(block: Block) -> list[list[str]]:
    """The simple commands of a shell block as a reader types them (a console block: its `$`
    lines), split at `&&`, `||`, `;`, `|` and `&`."""
    lines = block.code.replace("\\\n", " ").splitlines()
    if block.language == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    commands: list[list[str]] = [[]]
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        for word in lexer:
            if set(word) <= set(";&|"):
                commands.append([])
            else:
                commands[-1].append(word)
        commands.append([])
    return [command for command in commands if command]


def installs_the_package(command: list[str], cwd: Path) -> bool:
    """Whether ``command`` is a pip install that brings pulumi-modelarts: by name, git URL or
    path, or through a requirements file that does."""
    program = Path(command[0]).name
    if program.startswith("python") and command[1:3] == ["-m", "pip"]:
        command = command[2:]
    elif program not in ("pip", "pip3"):
        return False
    if command[1:2] != ["install"]:
        return False
    targets: list[str] = []
    arguments = iter(command[2:])
    for argument in arguments:
        if argument in ("-r", "--requirement"):
            lines = (cwd / next(arguments)).read_text(encoding="utf-8").splitlines()
            targets += [line.removeprefix("-e").strip() for line in lines if not line.startswith("#")]
        else:
            targets.append(argument)
    return any(
        target.startswith("pulumi-modelarts")
        or Path(target).name == "pulumi-modelarts"
        or (target and (cwd / target).resolve() == REPO_ROOT)
        for target in targets
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_shell_steps_install_the_package_before_its_cli(doc: Path) -> None:
    """Typed in reading order, no `modelarts-vis` command comes before a step that installs
    pulumi-modelarts, and none needs a `python` that a clean shell lacks (Debian, Ubuntu and macOS
    have only `python3`, which is all the README asks for)."""
    cwd, installed = doc.parent, False
    for block in (block for block in fenced_blocks(doc) if block.language in SHELL_LANGUAGES):
        for command in shell_commands(block):
            program = Path(command[0]).name
            assert command[0] != "python", f"{block.where}: `{shlex.join(command)}`: use python3"
            if program == "cd" and len(command) > 1:
                cwd = (cwd / os.path.expanduser(command[1])).resolve()
            elif installs_the_package(command, cwd):
                installed = True
            elif program == "modelarts-vis":
                assert installed, (
                    f"{block.where}: `{shlex.join(command)}` runs before the package is installed"
                )


#: What a reader must fill in before a command runs: ``<git host>``, ``/path/to/``.
PLACEHOLDER = re.compile(r"<[^<>\n]+>|/path/to/")


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_a_block_not_marked_notest_has_nothing_to_fill_in(doc: Path) -> None:
    """A block is typed as it stands unless marked ```sh notest, as the README's Development section
    says to mark one that shows placeholders."""
    typed = [b for b in fenced_blocks(doc) if b.language in SHELL_LANGUAGES - {"console"} | {"python"}]
    to_fill = [
        f"{b.where}: {m[0]}"
        for b in typed
        if ILLUSTRATIVE not in b.flags and (m := PLACEHOLDER.search(b.code))
    ]
    assert to_fill == []


@pytest.fixture
def served() -> Iterator[ModelArtsEmulator]:
    """What `modelarts-vis emulator` serves: the sample jobs and the fixed demo credentials."""
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH) as emulator:
        yield emulator


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_shell_steps_run_against_the_emulator(
    doc: Path, served: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every shell block not marked ```sh notest (those need the cloud, a cluster or placeholders
    filled in), typed in reading order against the emulator: the `export`s are what `modelarts-vis
    emulator` prints, `modelarts-vis` reads succeed with the outputs' keys, `make` targets exist,
    `pulumi config set` and `pulumi up` run the project under mocks (a StackReference sees the
    earlier stacks) in a stack of their own, never the cloud walkthroughs' `dev`, whose
    `Pulumi.dev.yaml` they would overwrite, and a `$ pulumi stack output --json` block shows what
    that run exported."""
    emulator, cwd, exported, port = served, doc.parent, dict[str, str](), None
    config: dict[Path, dict[str, str]] = defaultdict(dict)
    secret: dict[Path, list[str]] = defaultdict(list)
    stack: dict[Path, str] = {}  # as `pulumi stack init` or `select` named it, in each directory
    stacks: dict[str, dict[str, object]] = {}
    last = ""  # the stack of the latest `pulumi up`

    def environ() -> dict[str, str]:
        """The exports with the emulator's URL for the port they name, else the emulator's own."""
        if port is None:
            return emulator.environ()
        shown = {name: exported.get(name) for name in emulator.environ()}
        assert shown == {
            k: v.replace(emulator.url, f"http://127.0.0.1:{port}") for k, v in emulator.environ().items()
        }
        return {k: v.replace(f"http://127.0.0.1:{port}", emulator.url) for k, v in exported.items()}

    for block in fenced_blocks(doc):
        if block.language == "console" and block.code.startswith("$ pulumi stack output --json\n"):
            shown = json.loads(block.code.split("\n", 1)[1].split("\n$ ", 1)[0])
            assert shown == stacks[last], block.where
        if block.language not in SHELL_LANGUAGES - {"console"} or ILLUSTRATIVE in block.flags:
            continue
        for command in shell_commands(block):
            program, args = Path(command[0]).name, command[1:]
            if program == "cd":
                cwd = (cwd / args[0]).resolve()
            elif program == "export":
                exported |= dict(word.split("=", 1) for word in args)
            elif program == "make":
                makefile = (cwd / "Makefile").read_text(encoding="utf-8")
                assert re.search(rf"^{re.escape(args[0])}:", makefile, re.MULTILINE), block.where
            elif program == "modelarts-vis" and args[0] == "emulator":
                # Typed as shown, not served here: a usage sketch (`[--seed FILE]`) fails in a shell.
                port = cli.build_parser().parse_args(args).port
            elif program == "modelarts-vis":
                for name in [name for name in os.environ if name.startswith(CLOUD_VARIABLE_PREFIXES)]:
                    monkeypatch.delenv(name)
                for name, value in environ().items():
                    monkeypatch.setenv(name, value)
                out, err = io.StringIO(), io.StringIO()
                assert cli.run(args, out, err) == 0, f"{block.where}: {shlex.join(command)}: {err.getvalue()}"
                if "table" not in args:
                    printed = json.loads(out.getvalue())
                    records = printed if isinstance(printed, list) else [printed]
                    assert records and all(list(r) == list(OUTPUT_FIELDS) for r in records), block.where
            elif command[:3] in (["pulumi", "stack", "init"], ["pulumi", "stack", "select"]):
                stack[cwd] = next(arg for arg in args[2:] if not arg.startswith("-"))
            elif command[:2] == ["pulumi", "config"] or command[:2] == ["pulumi", "up"]:
                assert stack.get(cwd, "dev") != "dev", (
                    f"{block.where}: `{shlex.join(command)}` in the cloud's stack"
                )
            if command[:3] == ["pulumi", "config", "set"]:
                key, value = [arg for arg in args[2:] if not arg.startswith("--")]
                config[cwd][key] = value
                secret[cwd] += [key] if "--secret" in args else []
            elif command[:2] == ["pulumi", "up"]:
                project = yaml.safe_load((cwd / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
                spaced = {key: key if ":" in key else f"{project}:{key}" for key in config[cwd]}
                run = run_program(
                    cwd,
                    project=project,
                    config={spaced[key]: value for key, value in config[cwd].items()},
                    secret_keys=[spaced[key] for key in secret[cwd]],
                    env=environ(),
                    stack_references=stacks,
                )
                assert run.error is None, f"{block.where}: pulumi up in {cwd}: {run.error['message']}"
                last = f"organization/{project}/{stack[cwd]}"  # a top-level null is no stack output
                stacks[last] = {key: value for key, value in run.values().items() if value is not None}
    assert [request for request in modelarts_requests(emulator) if request[0] != "GET"] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_the_cloud_steps_leave_the_emulators_variables_and_stack_behind(doc: Path) -> None:
    """Typed in the shell of the emulator walkthrough, the cloud's `pulumi up` (in a ```sh notest
    block) runs with none of the walkthrough's exports left but those it sets again (else it reads
    the emulator's project at its endpoint, in its demo backend), and in a stack of its own; a README
    with both shows the cloud's `pulumi up` in a block, so that this is checked."""
    cwd, exported, stack = doc.parent, set[str](), dict[Path, str]()
    emulator_stacks, cloud_runs = set[tuple[Path, str]](), 0
    for block in (block for block in fenced_blocks(doc) if block.language in SHELL_LANGUAGES - {"console"}):
        cloud = ILLUSTRATIVE in block.flags
        for command in shell_commands(block):
            program, args = Path(command[0]).name, command[1:]
            if program == "cd":
                cwd = (cwd / args[0]).resolve()
            elif program == "export":
                names = {word.split("=", 1)[0] for word in args}
                exported = exported - names if cloud else exported | names
            elif program == "unset":
                exported -= set(args)
            elif command[:3] in (["pulumi", "stack", "init"], ["pulumi", "stack", "select"]):
                stack[cwd] = next(arg for arg in args[2:] if not arg.startswith("-"))
            elif command[:2] == ["pulumi", "up"] and not cloud:
                emulator_stacks.add((cwd, stack.get(cwd, "dev")))
            elif command[:2] == ["pulumi", "up"]:
                cloud_runs += 1
                assert not exported, (
                    f"{block.where}: the cloud's `pulumi up` with the emulator's {sorted(exported)}"
                )
                assert (cwd, stack.get(cwd, "dev")) not in emulator_stacks, (
                    f"{block.where}: the emulator's stack"
                )
    mentions_cloud = "## Run it against the cloud" in doc.read_text(encoding="utf-8")
    assert cloud_runs or not (emulator_stacks and mentions_cloud), (
        f"{doc.name}: no cloud `pulumi up` to check"
    )


@pytest.mark.parametrize("bundle", ["/gone/ca.pem", "/etc/hostname"], ids=["removed", "not-pem"])
def test_the_emulators_exports_work_in_a_shell_naming_a_ca_bundle_for_other_tools(
    served: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, bundle: str
) -> None:
    """Plain HTTP speaks no TLS, so a CA bundle the shell names (removed since, or no PEM file) plays
    no part in the walkthroughs' reads of the emulator; where TLS is spoken it is still refused."""
    for name in [name for name in os.environ if name.startswith(CLOUD_VARIABLE_PREFIXES)]:
        monkeypatch.delenv(name)
    for name, value in {**served.environ(), "REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": ""}.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    assert cli.run(["get", "197"], out, err) == 0, err.getvalue()
    assert json.loads(out.getvalue())["job_name"] == "apiTest-11"
    monkeypatch.setenv("MODELARTS_ENDPOINT", f"https://{CLOUD_HOST}")
    assert cli.run(["get", "197"], out, err) == 2 and "REQUESTS_CA_BUNDLE" in err.getvalue()


# -- what the documents say twice, and where they point ------------------------------------------

MARKDOWN = [*DOCS, REPO_ROOT / "CHANGELOG.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def anchors(path: Path) -> set[str]:
    """The fragments GitHub gives the headings of ``path``."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    titles = [tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"]
    return {re.sub(r"[^\w\- ]", "", title.replace("`", "").lower()).replace(" ", "-") for title in titles}


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_link_and_anchor_resolves(doc: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, fragment = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        assert linked.exists(), f"{doc.name}: {target}"
        assert not fragment or fragment in anchors(linked), f"{doc.name}: {target}"


NUMBER = r"(-?\d+(?:\.\d+)?)"
#: A figure with its spread, as the headline and the README write it with a multiplication sign and
#: an en dash (``1.09\u00d7 (1.08\u20131.10)``, ``+82 ms (IQR 75\u201393``), and as the tables below the
#: headline do (``1.09x (range 1.08 to 1.10``).
QUOTED = re.compile(NUMBER + "(?:\u00d7| ms)[^(\\d]{0,30}\\((?:IQR )?" + NUMBER + "\u2013" + NUMBER)
MEASURED = re.compile(NUMBER + r"(?:x| ms)[^(\d]{0,30}\((?:range|IQR) " + NUMBER + " to " + NUMBER)


def test_performance_figures_quoted_twice_agree() -> None:
    """Every figure the README quotes is the headline's, and every headline figure is one of the
    tables' below it, rounded as the headline writes it."""

    def text(path: Path) -> str:
        return re.sub(r"\s+", " ", path.read_text(encoding="utf-8")).replace("\u2212", "-")  # a minus sign

    headline, tables = text(REPO_ROOT / "docs/performance.md").split("## Headline ", 1)[1].split("## 1. ", 1)
    readme = text(REPO_ROOT / "README.md").split("## Performance and reliability ", 1)[1].split("## ", 1)[0]
    quoted, measured = set(QUOTED.findall(headline)), set(MEASURED.findall(tables))
    assert len(quoted) > 10 and set(QUOTED.findall(readme)) <= quoted

    def rounded(figure: tuple[str, ...], like: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(
            f"{float(value):.{len(shown.partition('.')[2])}f}"
            for value, shown in zip(figure, like, strict=True)
        )

    assert [figure for figure in quoted if not any(rounded(m, figure) == figure for m in measured)] == []


#: How long a measurement takes, as its report and the README say it: "4 to 6 minutes".
MINUTES = re.compile(r"(\d+½?) to (\d+½?) minutes")


def test_the_time_a_measurement_takes_is_what_its_report_measured() -> None:
    """Each report says how long its command takes, in a span holding the run it reports (its
    **Machine:** line gives that run's seconds), and the README's commands table says the same."""
    readme = re.sub(r"\s+", " ", (REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    row = re.search(r"\| `make bench`, `make reliability` \| [^|]+ \| ([^|]+) and ([^|]+) \|", readme)
    assert row, "the README's commands table has no row for make bench and make reliability"
    for report, said in zip(("performance", "reliability"), row.groups(), strict=True):
        text = re.sub(r"\s+", " ", (REPO_ROOT / "docs" / f"{report}.md").read_text(encoding="utf-8"))
        reproduce, machine = text.split("**Reproduce:**", 1)[1].split("**Machine:**", 1)
        span, ran = MINUTES.search(reproduce), re.search(r"(\d+) s[;)]", machine)
        assert span and ran, f"docs/{report}.md says no time, or no run's seconds"
        low, high = (float(limit.replace("½", ".5")) * 60 for limit in span.groups())
        assert low <= int(ran[1]) <= high, f"docs/{report}.md: {span[0]}, but its run took {ran[1]} s"
        assert said.strip() == span[0], f"the README says {said.strip()!r} for docs/{report}.md's {span[0]!r}"


def quoted(doc: Path, pattern: str) -> re.Pattern[str]:
    """The message ``doc`` quotes (``pattern`` finds it, in its text on one line), as a pattern in
    which each elision (``…``, with what it cuts short) stands for one field's text, or, before a
    closing parenthesis, for the fields left."""
    text = re.sub(r"\s+", " ", (REPO_ROOT / doc).read_text(encoding="utf-8"))
    found = re.search(pattern, text)
    assert found, f"{doc}: {pattern}"
    parts = re.split(r"\w*\u2026", found[1])
    elisions = [".+?" if part.startswith(")") else "[^,]+?" for part in parts[1:]]
    return re.compile(
        "".join(re.escape(part) + elision for part, elision in zip(parts, [*elisions, ""], strict=True))
    )


def test_messages_the_documents_quote_are_printed_word_for_word(emulator: ModelArtsEmulator) -> None:
    """What the package prints, the emulator's host standing in for the cloud's in the README."""
    reader = ModelArtsClient(Settings.from_sources(environ=emulator.environ()))

    def message(call: Callable[[], object]) -> str:
        with pytest.raises(ModelArtsError) as caught:
            call()
        return str(caught.value).replace(f"host {emulator.host}:{emulator.port}", f"host {CLOUD_HOST}")

    printed = {
        ("README.md", r"```text (get visualization job: .+?) ```"): message(
            lambda: reader.get_visualization_job(4242)
        ),
        ("examples/lookup-by-name/README.md", r"Example: `error: (.+?)`"): message(
            lambda: reader.get_visualization_job(999)
        ),
        ("README.md", r"`(job_id must be a whole number [^`]+)`"): message(
            lambda: reader.get_visualization_job("7a")
        ),
        ("README.md", r"`(status must be a whole number [^`]+)`"): message(
            lambda: reader.list_visualization_jobs(status=8.5)
        ),
        ("README.md", r"e\.g\. `(modelarts:accessKey is set but [^`]+)`"): message(
            lambda: Settings.from_sources(stack_config={"modelarts:accessKey": "AK-ONLY-0001"}).auth_mode()
        ),
    }
    for (doc, pattern), said in printed.items():
        assert quoted(Path(doc), pattern).match(said), (
            f"{doc} quotes a message the package does not print: {said}"
        )


def test_the_limits_and_defaults_the_readme_states_are_the_packages() -> None:
    defaults, retries = Settings.from_sources(environ={}), settings._NUMBERS["max_retries"]
    readme = re.sub(r"\s+", " ", (REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    stated = [
        f"up to {functions.MAX_CONCURRENT_READS} in flight",
        f"over {client.MAX_LISTED_JOBS:,} jobs",
        f"from page 1, up to {['once', 'twice', 'three times'][client.MAX_LISTINGS - 1]} in all",
        f"`Retry-After` (capped at {transport.RETRY_AFTER_CAP_SECONDS} s",
        f"Bodies are capped at {transport.MAX_BODY_BYTES >> 20} MiB",
        f"| `{defaults.max_retries}` ({retries[1]}\u2013{retries[2]}) |",
        f"| `{defaults.timeout:g}`: seconds one call may take",
        f"| `{defaults.connect_timeout:g}`, `{defaults.read_timeout:g}` seconds per attempt |",
    ]
    assert [phrase for phrase in stated if phrase not in readme] == []


@pytest.mark.parametrize("example", sorted(EXAMPLES_DIR.iterdir()), ids=lambda path: path.name)
def test_an_examples_configuration_table_is_its_pulumi_yaml(example: Path) -> None:
    """Every key in the README's table with the default Pulumi.yaml declares, or required."""
    declared = yaml.safe_load((example / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    readme = (example / "README.md").read_text(encoding="utf-8")
    table = readme.split("| Key | Default | Meaning |", 1)[1].split("\n\n", 1)[0]
    documented: dict[str, str | None] = {}
    for keys, defaults in re.findall(r"^\| (.+?) \| (.+?) \|", table, re.MULTILINE)[1:]:
        shown = re.findall(r"`([^`]*)`", defaults) or [None] * len(re.findall(r"`\w+`", keys))
        documented |= dict(zip(re.findall(r"`(\w+)`", keys), shown, strict=True))
    assert documented == {
        key: None if "default" not in entry else '""' if entry["default"] == "" else str(entry["default"])
        for key, entry in declared.items()
    }


def test_the_readme_names_the_quickstarts_config_as_its_pulumi_yaml_declares_it() -> None:
    """Every key of the root Pulumi.yaml, required or with the default it declares, and no other."""
    declared = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    readme = re.sub(r"\s+", " ", (REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    sentence = re.search(r"Project config of the quickstart: (.+?)\. ", readme)
    assert sentence, "the README does not name the quickstart's project config"
    named = dict(re.findall(r"`(\w+)` \(([^)]*)\)", sentence[1]))
    assert sorted(named) == sorted(declared)
    for key, entry in declared.items():
        said = named[key]
        if "default" not in entry:
            assert said == "required", key
        elif entry["default"] == "":
            assert said.startswith("optional"), key
        else:
            assert said == f"default `{entry['default']}`", key


def test_the_gitops_readme_names_the_secret_config_its_secret_is_made_from() -> None:
    """The stack config the Kubernetes Secret takes as secrets is what Pulumi.yaml declares secret
    (the project ID it also holds is plain config)."""
    readme = re.sub(r"\s+", " ", (EXAMPLES_DIR / "gitops" / "README.md").read_text(encoding="utf-8"))
    named = re.search(r"The credentials come from \*\*secret\*\* stack config \(([^)]*)\)", readme)
    declared = yaml.safe_load((EXAMPLES_DIR / "gitops" / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    assert named, "the gitops README does not say which stack config its Secret's credentials come from"
    assert set(re.findall(r"`(\w+)`", named[1])) == {
        key for key, entry in declared.items() if entry.get("secret")
    }


@pytest.mark.parametrize(
    "project",
    [REPO_ROOT, *sorted(EXAMPLES_DIR.iterdir())],
    ids=lambda path: path.name if path != REPO_ROOT else "quickstart",
)
def test_the_virtualenv_a_project_names_is_ignored_by_git(project: Path) -> None:
    """Following a README's steps leaves no untracked virtualenv in the checkout."""
    settings = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))
    python = project / settings["runtime"]["options"]["virtualenv"] / "bin" / "python"
    check = subprocess.run(["git", "check-ignore", "--quiet", str(python)], cwd=REPO_ROOT, check=False)
    assert check.returncode == 0, f"{python.relative_to(REPO_ROOT)} is not ignored by .gitignore"


# -- packaging ----------------------------------------------------------------------------------


def test_the_package_declares_and_ships_its_license() -> None:
    """The SPDX form setuptools no longer warns about, with the license text in the package."""
    info = metadata.metadata("pulumi-modelarts")
    assert info["License-Expression"] == "Apache-2.0"
    assert info.get_all("License-File") == ["LICENSE"]
    assert info.get_all("License") is None  # the deprecated free-text field
    text = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a pointer to it
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "\n## Unreleased\n" in changelog and f"\n## {info['Version']}\n" in changelog


def test_make_demo_installs_only_the_runtime_dependencies(tmp_path: Path) -> None:
    """`make demo` on a fresh clone: a virtualenv with `pip install -e .`, no dev extras."""
    venv = tmp_path / "venv"
    planned = _make("--dry-run", "--always-make", "demo", f"VENV={venv}").stdout
    assert f"-m venv --clear {venv}" in planned
    assert "pip install --quiet --disable-pip-version-check -e .\n" in planned
    assert "[dev]" not in planned and "pip install" not in planned.split(" -e .\n", 1)[1]
    assert planned.rstrip().endswith("scripts/demo.py")
    runtime = [r for r in metadata.requires("pulumi-modelarts") or [] if "extra ==" not in r]
    names = sorted(re.split(r"[<>=!~ ;\[]", r)[0] for r in runtime)
    assert names == ["PyYAML", "pulumi", "pydantic", "requests", "urllib3"]


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    command = ["make", "--no-print-directory", *args]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def _old_python(path: Path) -> Path:
    """An interpreter that is Python 3.9 to what asks it (`python -c CODE`), as on an older distribution."""
    path.parent.mkdir(parents=True, exist_ok=True)
    patched = "import sys; sys.version_info = (3, 9, 18, 'final', 0); exec(sys.argv[1])"
    path.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "{patched}" "$2"\n')
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("python", ["python3.9", "not-installed"])
def test_make_demo_with_a_python_too_old_says_so_in_one_line_and_makes_no_virtualenv(
    tmp_path: Path, python: str
) -> None:
    interpreter = {
        "python3.9": lambda: _old_python(tmp_path / "bin" / "python3.9"),
        "not-installed": lambda: tmp_path / "bin" / "python3",
    }[python]()
    venv = tmp_path / "venv"
    done = _make("demo", f"VENV={venv}", f"PYTHON={interpreter}")
    assert done.returncode != 0 and not venv.exists()
    said = f"make: {interpreter} is not Python 3.10 or newer: name one, e.g. make demo PYTHON=python3.12"
    assert said in done.stderr.splitlines()
    assert "Requires-Python" not in done.stdout + done.stderr  # not pip's list of every release


@pytest.mark.parametrize("interpreter", ["removed", "deleted", "present"])
def test_make_demo_makes_a_virtualenv_anew_once_its_python_is_gone(tmp_path: Path, interpreter: str) -> None:
    """A virtualenv that ran the demo before (its stamp newer than pyproject.toml), whose Python was
    since removed or upgraded away: the next `make demo` makes it anew; a working one is kept."""
    venv, python = tmp_path / "venv", tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    if interpreter != "deleted":
        python.symlink_to(tmp_path / "gone" / "python3" if interpreter == "removed" else sys.executable)
    (venv / ".installed-runtime").touch()
    planned = _make("--dry-run", "demo", f"VENV={venv}", f"PYTHON={sys.executable}").stdout
    assert (f"-m venv --clear {venv}" in planned) == (interpreter != "present"), planned
    assert planned.rstrip().endswith("scripts/demo.py")


@pytest.mark.slow
@pytest.mark.parametrize("left", ["older-python", "no-pip"])
def test_make_demo_makes_a_virtualenv_it_cannot_use_anew(tmp_path: Path, left: str) -> None:
    """A first try left a virtualenv of Python 3.9, or one without pip (`uv venv`, a Python without
    ensurepip): the next `make demo` replaces it and runs, with a PYTHON whose path has a space."""
    venv, python = tmp_path / "venv", tmp_path / "my pythons" / "python3"
    if left == "older-python":
        _old_python(venv / "bin" / "python")
    else:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    done = _make("demo", f"VENV={venv}", f"PYTHON={python}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ModelArts emulator running at http://127.0.0.1:" in done.stdout
    version = subprocess.run(
        [venv / "bin" / "python", "-c", "import sys; print(sys.version_info >= (3, 10))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.stdout.strip() == "True"


def test_the_dev_extra_admits_only_lint_tools_make_lint_passes_with() -> None:
    """A fresh clone's `make lint` gets the newest ruff and mypy the [dev] extra admits (or, under a
    constraints file, an older one): ruff 0.16 and mypy 1.17 fail it, and each ruff minor release
    adds stable rules and style, so ruff stays in the minor series of the one installed here."""
    dev = [Requirement(r) for r in metadata.requires("pulumi-modelarts") or [] if 'extra == "dev"' in r]
    specifiers = {requirement.name: requirement.specifier for requirement in dev}
    ruff = Version(metadata.version("ruff"))
    assert not specifiers["ruff"].contains("0.16.99") and not specifiers["mypy"].contains("1.17.99")
    assert specifiers["ruff"].contains(ruff) and not specifiers["ruff"].contains(f"0.{ruff.minor + 1}.0")


def test_every_variable_the_package_reads_is_in_the_readme() -> None:
    """The README names every environment variable the package reads, not only the settings' own."""
    package = REPO_ROOT / "provider" / "pulumi_modelarts"
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(package.rglob("*.py")))
    read = set(re.findall(r"\"((?:HW|OS|MODELARTS)_[A-Z_]+)\"", source))
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(read) > 30 and sorted(name for name in read if f"`{name}`" not in readme) == []


def test_every_setting_and_variable_a_document_names_is_one_the_package_reads() -> None:
    """The other direction, in every document, example and project file: a `modelarts:<key>` or an
    `HW_`/`OS_`/`MODELARTS_` variable named anywhere is one the package reads (no misspelt name)."""
    package = REPO_ROOT / "provider" / "pulumi_modelarts"
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(package.rglob("*.py")))
    read = set(re.findall(r"\"((?:HW|OS|MODELARTS)_[A-Z_]+)\"", source))
    keys = {key.config for key in settings.SETTING_KEYS} | {settings.ENDPOINTS_KEY.partition(":")[2]}
    keys |= {alias for key in settings.SETTING_KEYS for alias in key.aliases}
    files = [*DOCS, *sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "CHANGELOG.md"]
    files += [REPO_ROOT / "Pulumi.yaml", REPO_ROOT / "__main__.py", REPO_ROOT / "scripts" / "demo.py"]
    files += sorted(path for path in EXAMPLES_DIR.rglob("*") if path.suffix in (".py", ".yaml"))
    unknown = set()
    for path in files:
        text = path.read_text(encoding="utf-8").replace("modelarts:VisualizationJob", "")
        named = set(re.findall(r"\bmodelarts:([A-Za-z]\w*)", text)) - keys
        named |= set(re.findall(r"\b((?:HW|OS|MODELARTS)_[A-Z][A-Z_]*[A-Z])\b", text)) - read
        unknown |= {f"{path.relative_to(REPO_ROOT)}: {name}" for name in named}
    assert len(read) > 30 and len(files) > 15 and sorted(unknown) == []


def test_the_documents_run_the_repositorys_modules_with_its_virtualenvs_python() -> None:
    """A clean shell has no `python` (only `python3`), and no other Python has the dependencies: a
    module of this repository is run as `.venv/bin/python -m`, the interpreter `make` creates."""
    ours = {path.parent.name for path in REPO_ROOT.glob("*/__main__.py")} | {"pulumi_modelarts"}
    bare = [
        f"{doc.name}: {prefix}python -m {module}"
        for doc in [*DOCS, *sorted((REPO_ROOT / "docs").glob("*.md"))]
        for prefix, module in re.findall(r"(\S*)python3?\s+-m\s+(\w+)", doc.read_text(encoding="utf-8"))
        if module in ours and not prefix.endswith(".venv/bin/")
    ]
    assert len(ours) > 2 and bare == []
