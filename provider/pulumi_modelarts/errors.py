"""Typed errors whose one line says what failed, where (job, project, host, HTTP status, ModelArts
error code, request ID) and what to do; never credentials: every error is scrubbed (:func:`redact`)."""

from __future__ import annotations

import base64
import bisect
import contextlib
import functools
import json
import re
import string
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from os.path import commonprefix
from typing import Any
from urllib.parse import unquote, urlsplit

from .locks import Lock

#: A secret echoed in part (a server cut or split it) is scrubbed when the echo is a prefix or suffix of
#: at least MIN_SECRET_PREFIX characters and half the (encoded) secret, or ENOUGH_SECRET_PREFIX of a long one;
#: one shorter than MIN_SECRET_PREFIX only as a whole word; one under _MIN_SECRET_CHARS, never.
MIN_SECRET_PREFIX = 8
ENOUGH_SECRET_PREFIX = 24
#: ... and a run from inside one (a long token echoed wrapped over lines, or cut in three) of
#: MIN_SECRET_FRAGMENT characters, a quarter of the secret, or ENOUGH_SECRET_PREFIX, the least.
MIN_SECRET_FRAGMENT = 12
#: A run of fewer distinct characters (the zeros of ``SKEXAMPLE0000...``) is as likely the text's own.
_FRAGMENT_VARIETY = 6
_MIN_SECRET_CHARS = 4
_MAX_SECRETS = 1024
_GROUP_SIZE = 32
#: Text past this is dropped before it is scrubbed: every caller shows a few hundred characters.
_MAX_REDACTED_CHARS = 1 << 16
#: Text read past a cut, so that a secret straddling it is known by more than its cut prefix.
_PAST_THE_CUT = 4096
_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # keeps every index
#: Escapes a server may apply to any character it echoes, ASCII ones too, in text already
#: case-folded, by kind: JSON's (a surrogate pair as one), runs of percent-encoded UTF-8, HTML references.
_ESCAPES = tuple(
    re.compile(kind)
    for kind in (r"\\ud[89ab]..\\ud[c-f]..|\\u[0-9a-f]{4}|\\[^u]", r"(?:%[0-9a-f]{2})+", r"&#?[0-9a-z]{1,8};")
)
_ANY_ESCAPE = re.compile("|".join(kind.pattern for kind in _ESCAPES))  # one scan of text that holds none
#: Decoding rounds: an echo JSON-escaped inside JSON, or URL-encoded inside JSON, needs two.
_DECODINGS = 2


def _forms(secret: str) -> set[str]:
    """What an echo of ``secret`` decodes to: itself, '+' for each space, JSON-escaped (when the
    secret holds text that looks like an escape and the server escaped only some of it), or in
    base64; past ASCII also in upper or lower case (ASCII's is folded), in either Unicode normal
    form, and as its UTF-8 bytes in a header, read as Latin-1."""
    forms = {secret, secret.replace(" ", "+"), json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= _base64_forms(secret)
    if not secret.isascii():
        import unicodedata  # only for a secret past ASCII

        forms |= {unicodedata.normalize("NFC", secret), unicodedata.normalize("NFD", secret)}
        forms |= {secret.lower(), secret.upper(), secret.encode("utf-8", "replace").decode("latin-1")}
    return forms


def _base64(data: bytes) -> set[str]:
    text = base64.b64encode(data).decode("ascii")
    return {text, text.translate(_URLSAFE)}


_URLSAFE = str.maketrans("+/", "-_")


def _base64_forms(secret: str) -> set[str]:
    """``secret``'s UTF-8 bytes in base64 (standard or URL-safe): whole, and at each of the three
    places it may start inside a longer value (``Basic base64(user:secret)``), the characters its
    bytes alone decide."""
    data = secret.encode("utf-8", "replace")
    forms = _base64(data)
    for offset in range(3):
        inner = base64.b64encode(bytes(offset) + data).decode("ascii")[
            -(-offset * 4 // 3) : (offset + len(data)) * 4 // 3
        ]
        if len(inner) >= MIN_SECRET_PREFIX:
            forms |= {inner, inner.translate(_URLSAFE)}
    return forms


@functools.lru_cache(maxsize=1024)  # a page of escapes repeats a few
def _unescaped(token: str) -> str:
    """An escape's text, case-folded as the text around it is."""
    if token[0] == "&":
        import html  # only once a server echoes an escape

        decoded = html.unescape(token)
    elif token[0] == "%":
        decoded = unquote(token)
    else:
        try:
            decoded = str(json.loads(f'"{token}"'))
        except ValueError:
            decoded = token
    return decoded.translate(_ASCII_FOLD)


def _unescaped_match(match: re.Match[str]) -> str:
    return _unescaped(match.group())


Spans = list[tuple[int, int]]


@dataclass(slots=True)
class _Reading:
    """A reading of a text: the text itself, case-folded, or a reading of it with every escape of
    one kind decoded once (``source``). Where a decoded character came from is worked out only for
    what is found, so a page of escapes costs one ``re.sub`` per reading."""

    text: str
    source: tuple[_Reading, re.Pattern[str]] | None = None
    _table: tuple[list[int], list[tuple[int, int, int]]] | None = None

    def origin(self, start: int, end: int) -> tuple[int, int]:
        """Where the characters ``start`` to ``end`` of this reading are in the original text."""
        return self._origin_of(start)[0], self._origin_of(end - 1)[1]

    def _origin_of(self, index: int) -> tuple[int, int]:
        if self.source is None:
            return index, index + 1
        parent, escape = self.source
        starts, matches = self._table = self._table or _escapes_in(parent.text, escape)
        k = bisect.bisect_right(starts, index) - 1
        if k < 0:
            return parent._origin_of(index)
        parent_start, parent_end, length = matches[k]
        if index < starts[k] + length:  # inside the decoded escape: all of it
            return parent.origin(parent_start, parent_end)
        return parent._origin_of(parent_end + index - starts[k] - length)


def _escapes_in(text: str, escape: re.Pattern[str]) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Per ``escape`` in ``text``: where its decoding starts in the decoded text, and its span and
    decoded length in ``text``."""
    starts: list[int] = []
    matches: list[tuple[int, int, int]] = []
    shift = 0
    for match in escape.finditer(text):
        start, end = match.span()
        length = len(_unescaped(match.group()))
        starts.append(start + shift)
        matches.append((start, end, length))
        shift += length - (end - start)
    return starts, matches


Matcher = tuple[re.Pattern[str], dict[str, list[tuple[str, int]]]]


def _matcher(forms: set[str], *, whole: bool = False) -> Matcher:
    """A pattern of every form's first characters; per match, the forms and their least echo (the
    whole form, for ``whole``)."""
    table: dict[str, list[tuple[str, int]]] = {}
    for form in forms:
        half = -(-len(form) // 2)
        partial = min(len(form), max(MIN_SECRET_PREFIX, min(half, ENOUGH_SECRET_PREFIX)))
        table.setdefault(form[:MIN_SECRET_PREFIX], []).append((form, len(form) if whole else partial))
    return re.compile("|".join(map(re.escape, sorted(table, key=len, reverse=True)))), table


Grams = dict[str, list[tuple[str, int, int]]]


def _grams(forms: set[str]) -> Grams:
    """Pieces of MIN_SECRET_PREFIX characters of each form, each with the form, where it starts and the
    least run echoed that counts; as few as a run of that length always holds one, one ending at the
    form's end too (a long token's: few)."""
    grams: Grams = {}
    for form in forms:
        least = min(ENOUGH_SECRET_PREFIX, max(MIN_SECRET_FRAGMENT, len(form) // 4))
        for start in range(0, len(form) - MIN_SECRET_PREFIX + 1, least - MIN_SECRET_PREFIX + 1):
            places = grams.setdefault(form[start : start + MIN_SECRET_PREFIX], [])
            places += [(form, start, least)] if len(places) < 8 else []  # a repetitive secret: a few will do
    return grams


def _fragments(folded: str, groups: list[Grams]) -> Spans:
    """Where in ``folded`` a run from a form of one of ``groups`` is echoed for at least its least length."""
    found: Spans = []
    position = 0
    while position <= len(folded) - MIN_SECRET_PREFIX:
        end = position + 1
        window = folded[position : position + MIN_SECRET_PREFIX]
        for grams in groups:
            for form, start, least in grams.get(window, ()):
                head = folded[max(0, position - start) : position]
                before = len(commonprefix((form[:start][::-1], head[::-1])))  # noqa: RUF071
                after = len(commonprefix((form[start:], folded[position : position + len(form) - start])))  # noqa: RUF071
                if (
                    before + after >= least
                    and len(set(folded[position - before : position + after])) >= _FRAGMENT_VARIETY
                ):
                    found.append((position - before, position + after))
                    end = max(end, position + after)
        position = end
    return found


class _Group:
    """Up to _GROUP_SIZE secrets and the patterns that find them, built when first needed after a
    change: a new secret rebuilds its own group's patterns, not every secret's, so the work per new
    secret is bounded, as is each pattern ``re`` keeps in its cache of the last few hundred compiled."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.changed()

    def changed(self) -> None:
        self._redacting: tuple[Matcher, Matcher, Grams] | None = None  # prefixes; suffixes, reversed; runs
        self._whole: Matcher | None = None  # every secret whole

    def _folded_forms(self) -> set[str]:
        """Every form of every secret of the group, ASCII case-folded as the text searched is."""
        return {form.translate(_ASCII_FOLD) for value in self.values for form in _forms(value)}

    def redacting(self) -> tuple[Matcher, Matcher, Grams]:
        if self._redacting is None:
            forms = self._folded_forms()
            self._redacting = (_matcher(forms), _matcher({form[::-1] for form in forms}), _grams(forms))
        return self._redacting

    def whole(self) -> Matcher:
        if self._whole is None:
            self._whole = _matcher(self._folded_forms(), whole=True)
        return self._whole


class _Secrets:
    """Every secret this process holds (credentials, issued IAM tokens); ``redact`` replaces each,
    raw or escaped as a server plausibly echoes it, whole or as a long prefix or suffix (a value
    split in two, as a header sent twice is joined: "first half, second half"), with ***."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._group_of: dict[str, _Group] = {}  # by last registration; past the cap the oldest go first
        self._groups: list[_Group] = []  # the last one takes new secrets

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= _MIN_SECRET_CHARS:
                    group = self._group_of.pop(value, None)  # one registered again is in use: the most recent
                    if group is None:
                        if not self._groups or len(self._groups[-1].values) >= _GROUP_SIZE:
                            self._groups.append(_Group())
                        group = self._groups[-1]
                        group.values.add(value)
                        group.changed()
                    self._group_of[value] = group
            while len(self._group_of) > _MAX_SECRETS:
                oldest = next(iter(self._group_of))
                group = self._group_of.pop(oldest)
                group.values.discard(oldest)
                group.changed()
                if not group.values:
                    self._groups.remove(group)

    def redact(self, text: str, keep: int | None = None) -> str:
        """``text`` scrubbed, then cut after ``keep`` characters (at most _MAX_REDACTED_CHARS): read
        past the cut, a secret that straddles it is starred, not left as a prefix too short to know."""
        with self._lock:
            matchers = [group.redacting() for group in self._groups]
        if not matchers:
            return text[:keep]
        keep = _MAX_REDACTED_CHARS if keep is None else min(keep, _MAX_REDACTED_CHARS)
        text = text[: keep + _PAST_THE_CUT]
        prefixes, suffixes, grams = (list(kind) for kind in zip(*matchers, strict=True))
        cuts = _found(text, prefixes, suffixes, grams)
        return _starred(text[:keep], [(start, min(end, keep)) for start, end in cuts if start < keep])

    def scrub_data(self, text: str) -> str:
        """A server's data (a job's text fields) with every whole secret, in any form an error's
        scrubbing reads, replaced by ***: unlike an error message's, a part of a secret may be
        ordinary text there, but a credential of this process never belongs in state or outputs
        (a server echoing the token it was sent)."""
        with self._lock:
            wholes = [group.whole() for group in self._groups]
        if not wholes or len(text) < _MIN_SECRET_CHARS:  # no secret held, or none fits
            return text
        # Read in windows overlapping by half, each as long as an error's text: what decoding holds
        # stays bounded (a body of 10 MiB of escapes held over a GiB read at once).
        half = _MAX_REDACTED_CHARS // 2
        starts = range(0, max(1, len(text) - half), half)
        found = [
            (start + a, start + b)
            for start in starts
            for a, b in _found(text[start : start + 2 * half], wholes, [], [])
        ]
        return _starred(text, found)


def _found(text: str, prefixes: list[Matcher], suffixes: list[Matcher], grams: list[Grams]) -> Spans:
    """Where in ``text`` a secret is echoed (by the forms of ``prefixes``, the reversed ones of
    ``suffixes``, the runs of ``grams``): as it is or with escapes decoded, ASCII in any case."""
    readings = [_Reading(text.translate(_ASCII_FOLD))]  # a server may change the case of hex digits
    cuts: Spans = []
    for decodings in range(_DECODINGS + 1):
        decoded: list[_Reading] = []
        for reading in readings:
            folded, size = reading.text, len(reading.text)
            found = _fragments(folded, grams) if grams else []
            found += [echo for matcher in prefixes for echo in _echoes(folded, *matcher)]
            backwards = folded[::-1] if suffixes else ""
            found += [
                (size - end, size - start)
                for matcher in suffixes
                for start, end in _echoes(backwards, *matcher)
            ]
            cuts += [reading.origin(start, end) for start, end in found]
            # Each kind of escape it holds decoded alone: where kinds mix, the others may be the
            # secret's own text ("%41", "&amp;", "\/"), or an outer layer's escapes of its escapes.
            for kind in _ESCAPES if decodings < _DECODINGS and _ANY_ESCAPE.search(folded) else ():
                text_decoded, escapes = kind.subn(_unescaped_match, folded)
                decoded += [_Reading(text_decoded, (reading, kind))] if escapes else []
        readings = decoded
    return cuts


def _echoes(folded: str, pattern: re.Pattern[str], table: dict[str, list[tuple[str, int]]]) -> Spans:
    """Where in ``folded`` a form is echoed for at least its least length."""
    found: Spans = []
    position = 0
    while match := pattern.search(folded, position):
        start = match.start()
        ends = [
            start + echoed
            for form, least in table[match.group()]
            if (echoed := len(commonprefix((form, folded[start : start + len(form)])))) >= least  # noqa: RUF071
            and (len(form) >= MIN_SECRET_PREFIX or not _inside_word(folded, start, start + echoed))
        ]
        found += [(start, max(ends))] if ends else []
        position = max(ends, default=start + 1)
    return found


def _starred(text: str, cuts: Spans) -> str:
    """``text`` with each of the (possibly overlapping) spans ``cuts`` replaced by ***."""
    parts: list[str] = []
    done = 0
    for start, end in sorted(cuts):
        parts += (text[done:start], "***") if start >= done else ()
        done = max(done, end)
    return "".join(parts) + text[done:] if parts else text


def _inside_word(text: str, start: int, end: int) -> bool:
    """A short secret ("https", "1234") is scrubbed only where it stands alone: inside a longer
    word it is ordinary text, and scrubbing it there would make every message unreadable."""
    return text[start - 1 : start].isalnum() or text[end : end + 1].isalnum()


_SECRETS = _Secrets()
register_secrets = _SECRETS.add
scrub_data = _SECRETS.scrub_data
#: The values of the secret inputs (a secret ``Output``'s) of the check or read in progress.
_SECRET_INPUTS: ContextVar[tuple[object, ...]] = ContextVar("modelarts_secret_inputs", default=())


@contextlib.contextmanager
def secret_inputs(*values: object) -> Iterator[None]:
    """Errors (and logs) made inside, on this thread or in a copy of its context, show each of these
    values as ``[secret]``: a job or project ID is no credential, but its program marked it secret."""
    token = _SECRET_INPUTS.set(tuple(value for value in values if value is not None))
    try:
        yield
    finally:
        _SECRET_INPUTS.reset(token)


def is_secret_input(value: object) -> bool:
    return value is not None and value in _SECRET_INPUTS.get()


def _input_forms(value: object) -> set[str]:
    """How a secret input may appear in text: as given, as used (without the padding a file or shell
    adds), as parsed (``"0197"``, ``197.0``: 197), an endpoint's host too; a flag (``allow_missing``)
    would hide every ``True`` and says nothing."""
    if isinstance(value, bool):
        return set()
    try:
        forms = {str(value)}
    except ValueError:  # an int of over 4300 digits, which no text can hold either
        return set()
    if isinstance(value, float) and value.is_integer():
        forms.add(str(int(value)))
    if isinstance(value, str):
        from .settings import unpadded  # here: settings imports this module

        value = unpadded(value)
        forms.add(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        forms.add(str(int(value)))
    if isinstance(value, str) and "://" in value:
        with contextlib.suppress(ValueError):
            parts = urlsplit(value)
            forms |= {value.rstrip("/"), parts.netloc, parts.hostname or ""}
    return {form for form in forms if form}


def _without_inputs(text: str) -> str:
    """``text`` with every secret input of the check or read in progress as ``[secret]``, case
    ignored (a region or hex project ID is sent in lower case); a short one only as a whole word."""
    secrets = _SECRET_INPUTS.get()
    if not secrets or not text:
        return text
    forms = sorted({form for value in secrets for form in _input_forms(value)}, key=len, reverse=True)
    long = [re.escape(form) for form in forms if len(form) >= MIN_SECRET_PREFIX]
    short = "|".join(re.escape(form) for form in forms if len(form) < MIN_SECRET_PREFIX)
    alternatives = [*long, f"(?<![0-9A-Za-z])(?:{short})(?![0-9A-Za-z])"] if short else long
    return re.sub("|".join(alternatives), "[secret]", text, flags=re.IGNORECASE) if alternatives else text


def redact(text: str, keep: int | None = None) -> str:
    """``text`` without a credential of this process (as ***) or a secret input (as ``[secret]``),
    cut after ``keep`` characters."""
    return _SECRETS.redact(_without_inputs(text), keep)


def one_line(text: object, limit: int = 200) -> str:
    """``text`` scrubbed of secrets, then whitespace and control characters collapsed so server text
    cannot break the one-line rule, then cut: scrubbed first, as a secret echoed past the start of a
    value cut short would leave a piece too short to be recognised."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in redact(str(text))).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _scrubbed(text: str | None, limit: int = 200) -> str | None:
    return one_line(text, limit) if text else None


#: How the one line names each piece of context, in this order.
_CONTEXT_LABELS = {"job_id": "job {}", "project_id": "project {}", "host": "host {}", "status": "HTTP {}"}
_CONTEXT_LABELS |= {"error_code": "{}", "error_message": '"{}"', "request_id": "request-id {}"}


class ModelArtsError(Exception):
    """Base class of every error raised by pulumi-modelarts."""

    default_hint: str = ""  # advice when the caller gives none
    #: The one line says what failed; the exception it replaced (a requests error holding the signed
    #: request, a YAML error quoting secure.yaml) is not kept for a debugger or a log handler to show.
    __context__ = property(lambda _: None, lambda *_: None)
    #: The CLI's exit status for this kind of failure (README, "Errors").
    exit_code: int = 5

    def __init__(
        self,
        summary: str,
        *,
        operation: str | None = None,
        job_id: int | str | None = None,
        project_id: str | None = None,
        host: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        # The one place server, setting and exception text enters an error: scrubbed, then cut.
        self.summary = one_line(summary, 400)
        self.operation, self.status = _scrubbed(operation), status  # a lookup by name names it
        hidden = job_id is not None and _without_inputs(str(job_id)) != str(job_id)
        self.job_id = "[secret]" if hidden else job_id
        self.project_id, self.host = _scrubbed(project_id, 80), _scrubbed(host, 300)
        self.error_code, self.error_message = _scrubbed(error_code, 64), _scrubbed(error_message)
        self.request_id = _scrubbed(request_id, 80)
        self.hint = one_line(hint if hint is not None else self.default_hint, 300)
        found = ((label, getattr(self, name)) for name, label in _CONTEXT_LABELS.items())
        context = [label.format(value) for label, value in found if value is not None and value != ""]
        text = f"{self.operation}: {self.summary}" if self.operation else self.summary
        text += f" ({', '.join(context)})" if context else ""
        super().__init__(f"{text}. {self.hint}" if self.hint else text)

    def __reduce__(self) -> tuple[Any, ...]:
        """Read back (from a process pool) as it was, its line not made again from the whole line."""
        return type(self).__new__, (type(self),), {**vars(self), "args": self.args}

    def details(self) -> dict[str, Any]:
        """The structured context, for logs."""
        context = {key: value for key, value in vars(self).items() if key not in ("summary", "hint")}
        return {"error": type(self).__name__, "message": str(self), **context}


class InvalidInputError(ModelArtsError):
    """A value given by the user (job ID, project, name, endpoint) is unusable; nothing was sent."""

    exit_code = 2


class AmbiguousJobNameError(InvalidInputError):
    """A name lookup matched several jobs; the user has to pick one by ID."""

    default_hint = "Read the one you mean by its ID"


class ConfigurationError(ModelArtsError):
    """Settings are missing, half-set or contradictory; nothing was sent."""

    exit_code = 2


class JobNotFoundError(ModelArtsError):
    """The visualization job does not exist: ModelArts' own not-found code with HTTP 404, 400 or
    ``is_success: false`` (a 404 without one is an :class:`InvalidResponseError`)."""

    default_hint = "Check the job ID and that it belongs to this project and region"
    exit_code = 3


class AuthenticationError(ModelArtsError):
    """The credentials were rejected or could not be exchanged for a token."""

    default_hint = "Check the access key/secret key, token or user/password/domain settings"
    exit_code = 4


class PermissionDeniedError(ModelArtsError):
    """The credentials are valid but may not read this job or project."""

    default_hint = "Check the IAM permissions and that the project ID matches the credentials"
    exit_code = 4


class ThrottledError(ModelArtsError):
    """The service kept answering 'too many requests' after every allowed retry."""

    default_hint = "Lower the parallelism or raise modelarts:maxRetries / modelarts:timeout"


class ServiceError(ModelArtsError):
    """The service failed (5xx, unexpected 4xx) or could not be reached after every retry."""

    default_hint = "Try again later; if it persists, raise modelarts:maxRetries / modelarts:timeout"


class InvalidResponseError(ModelArtsError):
    """The service answered something that is not a valid ModelArts response."""

    default_hint = "Check that the endpoint points at the ModelArts API"


#: Each error class's ``RunError`` twin, made once for the life of the process: one class per error.
_RUN_ERROR_TYPES: dict[type[BaseException], type[BaseException]] = {}


@contextlib.contextmanager
def as_run_errors() -> Iterator[None]:
    """Raise our errors as ``pulumi.RunError`` too, so a program fails with one clear line
    instead of a traceback; they stay instances of their own class for ``except`` clauses."""
    try:
        yield
    except ModelArtsError as exc:
        import pulumi  # only in a program: the CLI never loads it

        cls = type(exc)
        run_error_type = _RUN_ERROR_TYPES.setdefault(cls, type(cls.__name__, (cls, pulumi.RunError), {}))
        clean = run_error_type.__new__(run_error_type)
        clean.__dict__.update(exc.__dict__)
        clean.args = exc.args
        raise clean from None


_WHERE = ("host", "job_id", "operation", "project_id")


class RequestContext:
    """What an error about one request names, what to check when its answer is unusable (by default
    the endpoint), and when its error is of a kind in ``hints`` (credentials rejected: those in use).
    Not a dataclass: on the resource's import path one costs over half a millisecond."""

    __slots__ = (*_WHERE, "invalid_hint", "hints")

    def __init__(
        self,
        operation: str,
        host: str,
        project_id: str | None = None,
        job_id: int | None = None,
        *,
        invalid_hint: str | None = None,
        hints: Mapping[type[ModelArtsError], str] | None = None,
    ) -> None:
        self.operation, self.host, self.project_id, self.job_id = operation, host, project_id, job_id
        self.invalid_hint, self.hints = invalid_hint, hints

    def error(self, cls: type[ModelArtsError], summary: str, **extra: Any) -> ModelArtsError:
        if self.invalid_hint and cls in (InvalidResponseError, ConfigurationError):
            extra["hint"] = self.invalid_hint
        if self.hints and cls in self.hints and extra.get("hint") is None:  # where no other is given
            extra["hint"] = self.hints[cls]
        return cls(summary, **{name: getattr(self, name) for name in _WHERE}, **extra)
