"""``modelarts-vis``: read visualization jobs from a shell (JSON with the Pulumi outputs' keys, or a
table), and run the local emulator. Every failure is one line on stderr (``--debug`` adds the
traceback), its exit code the error class's ``exit_code`` or an ``EXIT_*``."""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
import shlex
import signal
import sys
import threading
import traceback
import unicodedata
from collections.abc import Sequence
from contextlib import redirect_stdout
from typing import Any, NoReturn, TextIO

from . import __version__
from .errors import InvalidInputError, ModelArtsError, redact
from .outputs import JobStatus, some_ids, status_name
from .validation import SORT_KEYS, as_utf8, check_target, is_loopback_host, parse_whole_number

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2  # and each error class's own ``exit_code`` (errors.py)
EXIT_INTERRUPTED = 130
PROG = "modelarts-vis"
TABLE_COLUMNS = ("job_id", "job_name", "status_name", "created_at", "service_url")


class UsageError(Exception):
    """A command line that cannot run: reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the fix instead of a usage block, and no
    abbreviated options: ``--end`` working today must not become ambiguous when an option is added."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_abbrev=False, **kwargs)
        self.argv: list[str] = []

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self.argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        if message.startswith(choice := "argument COMMAND: invalid choice: "):
            # --reg eu-de get 1: argparse set the unknown --reg aside and took eu-de for the command
            bad = next((n for n, a in enumerate(self.argv) if message.startswith(f"{choice}{a!r}")), 0)
            known = self._option_string_actions
            unknown = [a for a in self.argv[: bad + 1] if a[:1] == "-" and a.partition("=")[0] not in known]
            if unknown:
                message = f"unrecognized arguments: {unknown[0]}"
            if unknown[:1] == ["--"]:
                message = "'--' goes after the command (get -- -1, find -- -name)"
        elif message.endswith("required: NAME"):  # find -name: argparse took the name for an option
            message += "; a name that starts with '-' goes after '--' (find -- -name)"
        elif message.endswith(": expected one argument"):  # --search -test: the value taken for an option
            option = message.removeprefix("argument ").partition(":")[0]
            message += f"; a value that starts with '-' goes after '=' ({option}=-value)"
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _status_code(text: str) -> int:
    """``--status`` takes a name (RUNNING, running) or a code by the rule, and in the words, of every
    whole number, as the functions do: a fullwidth 8 or ``-1`` is no code."""
    if text.isascii() and text.upper() in JobStatus.__members__:
        return int(JobStatus[text.upper()])
    number = text[8:] if text.isascii() and len(text) < 30 else ""  # UNKNOWN_23: how a code newer than
    if number.isdigit() and status_name(int(number)) == text.upper():  # JobStatus prints, read back
        return int(number)
    if any(c.isdigit() for c in text) or not any(c.isalpha() for c in text):
        return _whole_number(text, "status", hint="Use a code, e.g. 8, or a name, e.g. RUNNING")
    raise argparse.ArgumentTypeError(
        f"unknown status {text!r}; use a code or one of {', '.join(s.name for s in JobStatus)}"
    )


def _port(text: str) -> int:
    return _whole_number(text, "port", maximum=65535)


def _whole_number(text: str, field: str, **rule: Any) -> int:
    try:
        return parse_whole_number(text, field=field, **rule)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common_options(parser: _Parser) -> _Parser:
    """Options accepted before and after the command."""
    parser.add_argument(
        "--region",
        help="region, e.g. eu-de "
        "(default: HW_REGION_NAME, OS_REGION_NAME, OS_REGION, clouds.yaml, else eu-de)",
    )
    parser.add_argument(
        "--project-id",
        help="project ID (default: HW_PROJECT_ID, OS_PROJECT_ID, OS_TENANT_ID, clouds.yaml, else looked up)",
    )
    parser.add_argument("--endpoint", help="ModelArts base URL (default: MODELARTS_ENDPOINT or derived)")
    parser.add_argument("--format", choices=("json", "table"), help="output format (default: json)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return parser


def build_parser() -> argparse.ArgumentParser:
    # The subcommands' copy has no defaults, so it never overwrites a value given before the command.
    common = _common_options(_Parser(add_help=False, argument_default=argparse.SUPPRESS))
    parser = _Parser(
        prog=PROG,
        description="Read ModelArts visualization jobs; credentials come from HW_*/OS_* variables "
        "or clouds.yaml (OS_CLOUD).",
    )
    _common_options(parser).set_defaults(format="json")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    get = commands.add_parser("get", parents=[common], help="read one job by ID")
    get.add_argument("job_id", metavar="JOB_ID")
    find = commands.add_parser("find", parents=[common], help="read one job by exact name")
    find.add_argument("job_name", metavar="NAME")
    listing = commands.add_parser("list", parents=[common], help="list jobs")
    listing.add_argument("--status", type=_status_code, help="status code or name, e.g. RUNNING")
    listing.add_argument("--search", dest="search_content", help="text to find in job names, any case")
    listing.add_argument("--sort-by", default="job_id", choices=SORT_KEYS, help="sort key (default: job_id)")
    listing.add_argument("--order", choices=("asc", "desc"), default="asc")

    emulator = commands.add_parser("emulator", help="run the local ModelArts emulator")
    emulator.add_argument(
        "--host",
        default="127.0.0.1",
        help="loopback address to listen on (default 127.0.0.1); 0.0.0.0 or :: also listens on "
        "every interface, e.g. inside a container",
    )
    emulator.add_argument("--port", type=_port, default=0, help="port to listen on (default: 0, a free one)")
    emulator.add_argument("--seed", metavar="FILE", help="JSON file of jobs (default: bundled samples)")
    return parser


def _cell(value: object) -> str:
    """A value as table text: a null empty, a number or flag as JSON spells it (true, not True); a line
    break or escape sequence from the server is shown escaped, and so is a backslash, or ``a\\nb`` would
    read as a line break."""
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c != "\\" else repr(c)[1:-1] for c in text)


def _columns(text: str) -> int:
    """The columns a terminal gives ``text``: two per wide East Asian character, none per nonspacing or
    enclosing mark (by category: a Thai vowel sign has combining class 0) nor per Hangul vowel or final
    jamo (NFD Korean: they join the initial's two columns); the emoji selector U+FE0F keeps one, as the
    symbol it follows (❤) takes two."""
    return sum(
        0
        if (unicodedata.category(c) in ("Mn", "Me") and c != "\ufe0f")
        or "\u1160" <= c <= "\u11ff"
        or "\ud7b0" <= c <= "\ud7ff"
        else 1 + (unicodedata.east_asian_width(c) in "WF")
        for c in text
    )


_WILDCARD_HOSTS = ("0.0.0.0", "::")  # noqa: S104 - listening everywhere is opt-in and announced


def _run_emulator(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator

    host = args.host.strip("[]")  # [::1], as URLs write it
    if host not in _WILDCARD_HOSTS and not is_loopback_host(host):  # the client speaks http to loopback only
        raise UsageError(
            f"--host {host!r} is not a loopback address: clients accept the emulator's plain http only "
            "on loopback; use 127.0.0.1 (or 0.0.0.0 to also listen on every interface, e.g. in a container)"
        )
    seed = SAMPLE_JOBS_PATH if args.seed is None else args.seed  # --seed '' is a missing file
    try:  # the path as the system gave it, not as_utf8's reading, or a C locale could not open it
        path = seed if args.seed is None else os.fsdecode(args.seed.encode("utf-8", "surrogateescape"))
        emulator = ModelArtsEmulator.from_seed_file(path, host=host, port=args.port)
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot load the seed file {str(seed)!r}: {reason}") from None
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while it reads the seed: as clean a stop as later
        return EXIT_OK
    try:
        emulator.start()
    except OSError as exc:
        taken = exc.errno in (errno.EADDRINUSE, errno.EACCES)
        fix = "pick another --port (0 picks a free one)" if taken else "check --host"
        raise UsageError(f"{exc.strerror}; {fix}") from None  # it names the host and port
    try:
        if host in _WILDCARD_HOSTS:
            warning = f"listening on every interface ({host}) port {emulator.port}; anyone who can reach it"
            warning += " can use the emulator's fixed demo credentials"
            if _say(err, f"warning: {warning}", EXIT_OK) == EXIT_INTERRUPTED:
                return EXIT_OK  # Ctrl-C as it was said: the same clean stop
        settings = emulator.environ(auth="aksk")  # past a proxy of this shell too
        exports = "".join(f"  export {name}={shlex.quote(value)}\n" for name, value in settings.items())
        jobs = some_ids([job["job_id"] for job in emulator.jobs()]) or "none"
        _write(
            out,
            f"ModelArts emulator listening on {emulator.url} (IAM {emulator.iam_url})\n"
            f"Point the client, the CLI or a Pulumi stack at it with:\n{exports}"
            f"Jobs: {jobs}; Ctrl-C stops.\n{json.dumps(emulator.describe())}\n",
        )
        emulator.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while it prints its URL: the same clean stop
        pass
    finally:
        emulator.stop()
    return EXIT_OK


def _read(args: argparse.Namespace) -> str:
    """``get``, ``find`` and ``list``: the text to print, once everything was read."""
    from .client import ModelArtsClient
    from .settings import Settings, unpadded

    # As a function's arguments: another region drops the configured project; blank is unset.
    keys = ("region", "project_id", "endpoint")
    place = {key: value for key in keys if (value := getattr(args, key)) and value.strip()}
    settings = Settings.from_sources()  # its credentials registered first: an error quoting one scrubs it
    for key, value in place.items():  # one refused is named as typed, as a function names its argument
        check_target(key, unpadded(value), f"--{key.replace('_', '-')}")
    with ModelArtsClient(settings.with_overrides(**place)) as client:
        if args.command == "list":
            query = {key: getattr(args, key) for key in ("status", "search_content", "sort_by", "order")}
            jobs = list(client.list_visualization_jobs(**query))
        elif args.command == "get":
            jobs = [client.get_visualization_job(args.job_id)]
        else:
            jobs = [client.find_visualization_job(args.job_name, read_by_id=f"'{PROG} get {{}}'")]
        records = [job.to_outputs(project_id=client.project_id, region=client.region) for job in jobs]
    if args.format == "json":
        return json.dumps(records if args.command == "list" else records[0], indent=2, allow_nan=False) + "\n"
    if args.command == "list":
        rows = [list(TABLE_COLUMNS), *([_cell(record[c]) for c in TABLE_COLUMNS] for record in records)]
        widths = [max(map(_columns, column)) for column in zip(*rows, strict=True)]
        cells = (zip(row, widths, strict=True) for row in rows)
        return "".join(
            "  ".join(cell + " " * (w - _columns(cell)) for cell, w in row).rstrip() + "\n" for row in cells
        )
    width = max(len(key) for key in records[0])
    return "".join(f"{key:<{width}}  {_cell(value)}".rstrip() + "\n" for key, value in records[0].items())


class _Unwritten(Exception):
    """stdout refused the output (a full disk, a reader gone): not to be taken for a read's failure."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(cause.strerror or type(cause).__name__)
        self.cause = cause


def _write(out: TextIO, text: str) -> None:
    """All of stdout goes through here, so only its own failures read "cannot write the output"."""
    try:
        out.write(text)
        out.flush()
    except OSError as exc:  # Python's recipe: stdout to devnull, so the final flush cannot raise again
        _to_devnull(out)
        raise _Unwritten(exc) from exc


def _to_devnull(stream: TextIO) -> None:
    with contextlib.suppress(OSError, ValueError):  # a StringIO has no file; a file closed, none open
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def run(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run one command; returns the exit code instead of exiting (for tests and embedding)."""
    try:  # Ctrl-C (SIGTERM) while an error is being reported, before its line: this line instead
        return _run(argv, out, err)
    except KeyboardInterrupt:
        return _say(err, "interrupted", EXIT_INTERRUPTED)


def _run(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    debug = False
    try:
        try:  # argparse drops what --help and --version cannot write: written here, a full disk is seen
            with redirect_stdout(io.StringIO()) as shown:
                args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            _write(out, shown.getvalue())
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        debug = args.debug
        # A Latin-1 terminal's é said to be so, not misnamed by a check; a --seed path is opened as given
        for key, value in vars(args).items():
            if key != "seed" and any("\ud800" <= c <= "\udfff" for c in str(value)):
                raise UsageError(f"'{value}' is not UTF-8 text (another encoding); set the terminal to UTF-8")
        if args.command == "emulator":
            return _run_emulator(args, out, err)
        _write(out, _read(args))
        return EXIT_OK
    except UsageError as exc:
        return _say(err, f"error: {_without_credentials(str(exc))}", EXIT_USAGE)
    except _Unwritten as exc:
        return _unwritten(exc, err, debug)
    except Exception as exc:
        if isinstance(exc, ModelArtsError):
            return _say(err, f"error: {exc}", exc.exit_code, debug)
        bug = f"this is a bug in {PROG}: please report it with the output of --debug"
        return _say(err, f"error: unexpected {type(exc).__name__}; {bug}", EXIT_INTERNAL, debug)


def _without_credentials(text: str) -> str:
    """A usage error quotes what was typed, before any setting is read: a credential of the
    environment typed by mistake (``get "$HW_SECRET_KEY"``) is scrubbed there as in every error."""
    from .errors import register_secrets
    from .settings import SETTING_KEYS, unpadded

    names = (name for key in SETTING_KEYS if key.secret for name in key.env)
    register_secrets(*(unpadded(as_utf8(os.environ.get(name, ""))) for name in names))
    return redact(text)


def _unwritten(exc: _Unwritten, err: TextIO, debug: bool) -> int:
    if isinstance(exc.cause, BrokenPipeError):  # the reader went away (| head): a pipeline ends quietly
        return EXIT_OK
    return _say(err, f"error: cannot write the output: {exc}", EXIT_INTERNAL, debug)


def _say(err: TextIO, text: str, code: int, debug: bool = False) -> int:
    """``modelarts-vis: <text>`` on stderr, after the traceback with ``--debug`` (scrubbed: it may quote
    a secret); a stderr that cannot take it (``2>/dev/full``) is pointed at devnull: the exit code tells.
    Ctrl-C (SIGTERM) as it is written lets the line finish, then exit code 130; a second drops the rest
    (an interrupted write loses its text: stderr is not buffered)."""
    # What argparse quotes as typed ("unrecognized arguments: ...") may hold a line break or an
    # escape sequence: shown escaped, so the line stays one and the terminal's state untouched.
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    line, stops = (redact(traceback.format_exc()) if debug else "") + f"{PROG}: {text}\n", list[int]()

    def stop(signum: int, _: object) -> None:
        if stops:
            raise KeyboardInterrupt
        stops.append(signum)

    handlers = {}
    if threading.current_thread() is threading.main_thread():  # only its handlers can be set
        handlers = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        err.write(line)
        err.flush()
    except (OSError, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            stops.append(signal.SIGINT)
        _to_devnull(err)
    finally:
        for signum, handler in handlers.items():
            if handler is not None:  # None: set outside Python, cannot be set back
                signal.signal(signum, handler)
    return EXIT_INTERRUPTED if stops else code


def main() -> None:
    """Console-script entry point. A reader that closes stdout early (``| head``) ends it quietly,
    as does a stdout (or stderr) that is not open at all (``>&-``): output goes nowhere, errors
    still end with their exit code; output that cannot be written (a full disk) is one line."""
    out, err = (stream or open(os.devnull, "w") for stream in (sys.stdout, sys.stderr))  # noqa: SIM115
    for signum in (signal.SIGINT, signal.SIGTERM):  # kill, docker stop: as Ctrl-C; SIGINT also when
        signal.signal(signum, signal.default_int_handler)  # inherited ignored (``cmd &`` in a script)
    for stream in (out, err):  # text a console's encoding (cp1252, ASCII) lacks is escaped, not a crash
        getattr(stream, "reconfigure", lambda **_: None)(errors="backslashreplace")
    try:
        code = run([as_utf8(arg) for arg in sys.argv[1:]], out=out, err=err)
    except KeyboardInterrupt:  # a second Ctrl-C as the first is reported: nothing more is said
        code = EXIT_INTERRUPTED
    sys.exit(code)


if __name__ == "__main__":  # python -m pulumi_modelarts.cli (or pulumi_modelarts: __main__.py)
    main()
