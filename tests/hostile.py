"""Hostile servers and answers the emulator does not give: a :class:`RawServer` playing a script per
request, a CONNECT proxy, an IAM echoing what it issued, and catalogues of slow servers, compression
bombs, other jobs in disguise, non-finite numbers, foreign "not found"s and echoed secrets."""

from __future__ import annotations

import base64
import codecs
import contextlib
import functools
import gzip
import hashlib
import html
import http.client
import io
import json
import shutil
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import pytest

from pulumi_modelarts.errors import ENOUGH_SECRET_PREFIX, MIN_SECRET_PREFIX
from pulumi_modelarts.settings import Settings

if TYPE_CHECKING:
    from typing_extensions import Self

Script = Callable[[bytes], Iterable[bytes | float]]
RESET = -1.0  #: a script's step that resets the connection
CLOSE = (
    -2.0
)  #: a script's step that closes the connection (an orderly close: the end of a body without length)
PROJECT = "0123456789abcdef0123456789abcdef"
JOB_197 = {"job_id": 197, "job_name": "apiTest-11", "status": 8, "duration": 33000}


def reply(status: int = 200, body: bytes | str | dict[str, Any] = b"", **headers: str) -> bytes:
    """A complete HTTP/1.1 response; a dict body is sent as JSON. Header names use '_' for '-'."""
    if isinstance(body, dict):
        body = json.dumps(body)
    data = body.encode("utf-8") if isinstance(body, str) else body
    fields = {"Content-Type": "application/json", "Content-Length": str(len(data))}
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("latin-1") + data


class RawServer(socketserver.ThreadingTCPServer):
    """Serves every request on loopback with ``script`` (given the request head, it yields ``bytes``
    to send, ``float`` seconds of silence, RESET or CLOSE); records each request head, and each answer's size once sent."""

    daemon_threads, block_on_close = True, False

    def __init__(self, script: Script, scheme: str = "http", *, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _ScriptPlayer)
        self.script, self.tls = script, tls
        self.url = f"{'https' if tls else scheme}://127.0.0.1:{self.server_address[1]}"
        self.heads: list[bytes] = []
        self.sent: list[int] = []
        self.stop, self.clients = threading.Event(), list[socket.socket]()
        self._arrival = threading.Condition()

    def arrived(self, into: list[Any], item: Any) -> None:
        with self._arrival:
            into.append(item)
            self._arrival.notify_all()

    def wait_until(self, reached: Callable[[], bool], timeout: float = 30) -> bool:
        """Whether ``reached`` (of the connections and request heads seen) came true within ``timeout``."""
        with self._arrival:
            return self._arrival.wait_for(reached, timeout)

    def __enter__(self) -> Self:
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        for client in list(self.clients):  # its handler closes it: closed here, a write the handler
            with contextlib.suppress(OSError):  # has under way could land on a descriptor reused since
                client.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """A connection a script or a client ended is no error here."""


class _ScriptPlayer(socketserver.BaseRequestHandler):
    server: RawServer

    def handle(self) -> None:
        client = self.request
        self.server.arrived(self.server.clients, client)
        if self.server.tls is not None:
            client = self.server.tls.wrap_socket(client, server_side=True)
            self.server.arrived(self.server.clients, client)  # the raw socket is detached now: stop this one
        with client:
            while not self.server.stop.is_set() and (head := _read_head(client)):
                self.server.arrived(self.server.heads, head)
                for step in self.server.script(head):
                    if isinstance(step, bytes):
                        client.sendall(step)
                        self.server.sent.append(len(step))
                    elif step == RESET:
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return  # closed with no linger: a reset (RST), not an orderly close
                    elif step == CLOSE or self.server.stop.wait(step):
                        return


def _read_head(client: socket.socket) -> bytes:
    """The request head and its body (by Content-Length), so that keep-alive stays in step."""
    data = b""
    while True:
        head, found, body = data.partition(b"\r\n\r\n")
        if found and len(body) >= int(header(head, "Content-Length") or 0):
            return data
        if not (chunk := client.recv(65536)):
            return b""
        data += chunk


def settings_for(url: str, *, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """AK/SK settings with a fixed project, so that the only request is the one under test."""
    args = {"endpoint": url, "project_id": PROJECT, "access_key": "AK-RAW-TEST", "secret_key": "SK-RAW-TEST"}
    return Settings.from_sources(args={**args, **overrides}, environ=environ or {})


def self_signed(directory: Path, names: str = "IP:127.0.0.1", days: int = 2) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context and the path of its certificate (its own CA), for ``names`` (subject
    alternative names), valid for ``days`` from now (a negative number: expired since)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key, request, extensions = (directory / name for name in ("cert.pem", "key.pem", "cert.csr", "ext"))
    extensions.write_text(f"subjectAltName={names}\nbasicConstraints=CA:TRUE\n")
    new = [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=t",
    ]
    sign = f"x509 -req -days {days} -extfile {extensions}".split()
    subprocess.run([openssl, *new, "-keyout", key, "-out", request], check=True, capture_output=True)
    subprocess.run(
        [openssl, *sign, "-in", request, "-signkey", key, "-out", cert], check=True, capture_output=True
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def ca_signed(directory: Path, ca_extensions: str, extensions: str) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 whose certificate (``extensions``, one per line) a CA signed
    (``ca_extensions``), and the path of that CA's certificate."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    (directory / "ca.ext").write_text(f"{ca_extensions}\n")
    (directory / "ext").write_text(f"subjectAltName=IP:127.0.0.1\n{extensions}\n")
    key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    commands = f"""req -new {key} -subj /CN=ca -keyout ca.key -out ca.csr
        req -new {key} -subj /CN=t -keyout key.pem -out cert.csr
        x509 -req -days 2 -in ca.csr -signkey ca.key -extfile ca.ext -out ca.pem
        x509 -req -days 2 -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile ext -out cert.pem"""
    for command in commands.splitlines():
        subprocess.run([openssl, *command.split()], cwd=directory, check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context, directory / "ca.pem"


class TunnelProxy:
    """A proxy on loopback that opens ``CONNECT`` tunnels and records what it was asked for; it
    answers its first ``CONNECT``s with the statuses in ``refusals``, as Squid does when the endpoint
    refuses (503), and sends ``interim`` (1xx answers) before the one opening a tunnel. (A plain-HTTP
    proxy needs no class: a :class:`RawServer` answering the absolute-form request is one.)"""

    def __init__(self, refusals: Iterable[int] = (), interim: bytes = b"") -> None:
        self.requests: list[str] = []
        self.refusals = list(refusals)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_CONNECT(self) -> None:
                proxy.requests.append(self.path)
                if proxy.refusals:
                    self.send_response(proxy.refusals.pop(0))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                host, _, port = self.path.rpartition(":")
                with socket.create_connection((host, int(port)), timeout=10) as upstream:
                    self.wfile.write(interim)
                    self.send_response(200, "Connection established")
                    self.end_headers()
                    self.wfile.flush()
                    relay = threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True)
                    relay.start()
                    _pipe(self.connection, upstream)
                    relay.join(timeout=10)
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> TunnelProxy:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes until ``source`` ends, then end ``target``'s sending side too."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def header(head: bytes, name: str) -> str:
    """A request header's value from a recorded head ('' when absent)."""
    fields = head.split(b"\r\n\r\n")[0].partition(b"\r\n")[2]
    return str(http.client.parse_headers(io.BytesIO(fields + b"\r\n\r\n")).get(name, "")).strip()


def trickled(first: bytes, *units: bytes) -> Script:
    """A script sending ``first``, then each unit (``units`` or 200 spaces) after 0.2 s of silence:
    never silent long enough for a read timeout."""
    return lambda _: [first, *(step for unit in units or [b" "] * 200 for step in (0.2, unit))]


def silent(_: bytes) -> Iterable[bytes | float]:
    """Accepts the request and never answers."""
    yield 60.0


def silent_in_body(_: bytes) -> Iterable[bytes | float]:
    yield OK_HEAD + b"Content-Length: 100\r\n\r\n{"
    yield 60.0


OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
GZIPPED = gzip.compress(b'{"job_id": 197, "job_name": "' + b"x" * 100 + b'", "status": 8}')
GZIP_HEAD = OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(GZIPPED)
CHUNKED_HEAD = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
#: name -> (script, scheme)
SLOW_SERVERS: dict[str, tuple[Script, str]] = {
    "status line trickled": (trickled(b"HTTP/1.1 200"), "http"),
    "headers trickled": (trickled(OK_HEAD, *[b"X-Slow: 1\r\n"] * 200), "http"),
    "body trickled": (trickled(OK_HEAD + b"Content-Length: 1000\r\n\r\n{"), "http"),
    "chunked body trickled": (trickled(CHUNKED_HEAD, *[b"1\r\n \r\n"] * 200), "http"),
    "gzip body trickled": (trickled(GZIP_HEAD, *map(bytes, zip(GZIPPED))), "http"),
    # No Content-Length: the body ends when the connection does, so a cut looks complete.
    "body without length trickled": (trickled(OK_HEAD + b'Connection: close\r\n\r\n{"job_id": 197'), "http"),
    "silent before the status line": (silent, "http"),
    "silent in the body": (silent_in_body, "http"),
    # A 16 KiB TLS handshake record, trickled: only the deadline ends the handshake.
    "TLS handshake trickled": (trickled(b"\x16\x03\x03\x40\x00", *[b"\x00"] * 200), "https"),
}


# -- compression bombs ---------------------------------------------------------------------------


@functools.cache
def bomb(wbits: int, decoded_mib: int) -> bytes:
    """``decoded_mib`` MiB of zero bytes, compressed in the given zlib container (31: gzip)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, wbits)
    block = b"\0" * (1 << 20)
    return b"".join([compressor.compress(block) for _ in range(decoded_mib)] + [compressor.flush()])


def chunked(head: bytes, data: bytes) -> Iterator[bytes]:
    """A response head and ``data`` in 64 KiB chunks (Transfer-Encoding: chunked)."""
    yield head + b"Transfer-Encoding: chunked\r\n\r\n"
    for start in range(0, len(data), 65536):
        part = data[start : start + 65536]
        yield b"%x\r\n%s\r\n" % (len(part), part)
    yield b"0\r\n\r\n"


BOMBS: dict[str, Script] = {
    "gzip, 100 MiB": lambda _: [reply(200, bomb(31, 100), Content_Encoding="gzip")],
    "deflate, 100 MiB": lambda _: [reply(200, bomb(15, 100), Content_Encoding="deflate")],
    "raw deflate, 100 MiB": lambda _: [reply(200, bomb(-15, 100), Content_Encoding="deflate")],
    "gzip members, 100 MiB": lambda _: [reply(200, bomb(31, 1) * 100, Content_Encoding="gzip")],
    "gzip, chunked, 100 MiB": lambda _: chunked(OK_HEAD + b"Content-Encoding: gzip\r\n", bomb(31, 100)),
    "gzip in gzip, 100 MiB": lambda _: [
        reply(200, gzip.compress(bomb(31, 100)), Content_Encoding="gzip, gzip")
    ],
    "gzip, just past the limit": lambda _: [reply(200, bomb(31, 11), Content_Encoding="x-gzip")],
}


def as_json(document: object) -> bytes:
    return json.dumps(document).encode("utf-8")


# -- another job in disguise: each must be refused as the answer for job 197 ----------------------

OTHER_JOB = {"job_id": 999, "job_name": "someone-else", "status": 8}
DEEP = b"[" * 100_000 + b"]" * 100_000
ANOTHER_JOB_IN_DISGUISE = {
    "UTF-8 BOM": codecs.BOM_UTF8 + as_json(OTHER_JOB),
    "UTF-16 with BOM": json.dumps(OTHER_JOB).encode("utf-16"),
    "UTF-16-BE": json.dumps(OTHER_JOB).encode("utf-16-be"),
    "UTF-32": json.dumps(OTHER_JOB).encode("utf-32"),
    "deep nesting": b'{"job_id": 999, "job_name": "x", "status": 8, "extra": ' + DEEP + b"}",
    "lone surrogate": b'{"job_id": 999, "job_name": "x\\ud800", "status": 8}',
    "lone surrogate, UTF-8 BOM": codecs.BOM_UTF8 + b'{"job_id": 999, "job_name": "\\udfff", "status": 8}',
    "Latin-1 text": '{"job_id": 999, "job_name": "f\u00fcr", "status": 8}'.encode("latin-1"),
    "ID as text": as_json({**OTHER_JOB, "job_id": "999"}),
    "ID as float": as_json({**OTHER_JOB, "job_id": 999.0}),
    "duplicate ID, the last one foreign": b'{"job_id": 197, "job_name": "x", "status": 8, "job_id": 999}',
    "surrounding whitespace": b"\r\n\t " + as_json(OTHER_JOB) + b" \n",
    "is_success true": as_json({**OTHER_JOB, "is_success": True}),
}


#: Non-finite numbers, and numbers past 2**53 - 1 that the engine's doubles do not carry exactly,
#: as JSON tokens and as text, for any numeric field.
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9007199254740993", "-" + "9" * 30]
NON_FINITE += [f'"{text}"' for text in ("nan", "inf", "-Infinity", "1e999", "NaN", "9007199254740993")]
NON_FINITE += ['"1_000"', '"\u0661\u0669\u0667"']  # text Python's float() and int() would take


# -- "not found" in words other than ModelArts' error codes: never a missing job --------------------

JSON = "application/json"
#: name -> (status, body, content type)
FOREIGN_NOT_FOUNDS: dict[str, tuple[int, bytes | dict[str, Any], str]] = {
    '{"message": "Not Found"}': (404, {"message": "Not Found"}, JSON),
    "{}": (404, {}, JSON),
    "empty body": (404, b"", JSON),
    "null": (404, b"null", JSON),
    "Spring Boot error": (404, {"timestamp": "2024-01-01T00:00Z", "status": 404, "error": "Not Found"}, JSON),
    "Kong": (404, {"message": "no Route matched with those values"}, JSON),
    "nested error object": (404, {"error": {"code": 404, "message": "Not Found"}}, JSON),
    "Go text": (404, b"404 page not found\n", "text/plain"),
    "Express HTML": (404, b"<pre>Cannot GET /v1/p/visualization-jobs/197</pre>", "text/html"),
    "API gateway code": (404, {"error_code": "APIG.1009", "error_msg": "AppKey is invalid"}, JSON),
    "another ModelArts code": (404, {"error_code": "ModelArts.0104", "error_message": "bad"}, JSON),
    "not-found code in a 500": (500, {"error_code": "ModelArts.2775", "error_message": "x"}, JSON),
    "410 Gone": (410, {"message": "Gone"}, JSON),
    "not-found code as a number": (404, {"error_code": 15, "error_msg": "Not Found"}, JSON),
    "not-found code in other words": (404, {"error_code": "ModelArts.0015.x", "error_msg": "x"}, JSON),
}


# -- secrets echoed back by a server --------------------------------------------------------------

ISSUED_TOKEN = "MIIechoTOKEN-" + "Qz7x" * 24
PASSWORD = 'pa"ss\\w\u00f6rd/with+sp ace&more=9e107d9d37'


def every_character(secret: str, template: str) -> str:
    """``secret`` with each character (or, for a %-template, each UTF-8 byte) escaped."""
    units = secret.encode() if template.startswith("%") else map(ord, secret)
    return "".join(template.format(unit) for unit in units)


#: Escapes a server may apply to every character of an echo, ASCII ones included.
PER_CHARACTER = ("\\u{:04x}", "\\u{:04X}", "%{:02x}", "%{:02X}", "&#{};")


def b64(text: str, alphabet: str = "+/") -> str:
    return base64.b64encode(text.encode(), altchars=alphabet.encode()).decode()


def echoed_forms(secret: str) -> set[str]:
    """How a server may quote a value: raw, JSON-escaped (once or twice), URL-encoded,
    HTML-escaped, in base64, or every character escaped."""
    forms = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret), html.escape(secret)}
    forms |= {b64(secret), b64(secret, "-_")}
    forms |= {json.dumps(json.dumps(secret))[1:-1], *(every_character(secret, t) for t in PER_CHARACTER)}
    forms.add(" ".join("".join(secret.split())))  # UTF-16 read as UTF-8 and made one line
    for ensure_ascii in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        forms |= {escaped, escaped.replace("/", "\\/")}
    return forms


def leaked_forms(text: str, secret: str) -> list[str]:
    """Prefixes of any echoed form long enough that the package promises to scrub them."""
    found = []
    for form in echoed_forms(secret):
        least = min(len(form), max(MIN_SECRET_PREFIX, min(-(-len(form) // 2), ENOUGH_SECRET_PREFIX)))
        if form[:least].lower() in text.lower():
            found.append(form[:least])
    return found


def _bad_job(text: str, ensure_ascii: bool = True) -> bytes:
    job = {"job_id": 197, "job_name": ["not a name", text], "status": 8}
    return json.dumps(job, ensure_ascii=ensure_ascii).encode()


def _error(status: int, text: str, code: str = "X.1", **headers: str) -> bytes:
    return reply(status, {"error_code": code, "error_message": text}, **headers)


def _go_escaped(text: str) -> str:
    """As Go's encoding/json quotes a string: '<', '>' and '&' as \\u escapes, '/' as '\\/'."""
    escaped = json.dumps(text)
    return escaped.translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&"}).replace("/", "\\/")


def _page(text: str) -> bytes:
    return reply(502, f"<html>{text}</html>", Content_Type="text/html")


def _page_in(encoding: str, text: str, errors: str = "strict") -> bytes:
    page = f"<html>{text}</html>".encode(encoding, errors)
    return reply(502, page, Content_Type="text/html; charset=" + encoding)


LOGIN = "https://login.example/?t="
U, PCT = partial(every_character, template="\\u{:04x}"), partial(every_character, template="%{:02X}")
#: Echo places an error never shows: a Retry-After that is neither seconds nor a date is ignored, unquoted.
UNQUOTED = {"Retry-After header", "Retry-After header, UTF-8 bytes"}
#: place -> answer carrying the secret there
ECHOES: dict[str, Callable[[str], bytes]] = {
    "error_message": lambda s: _error(400, f"bad {s}", "ModelArts.0104"),
    "error_code": lambda s: reply(400, {"error_code": s, "error_message": "bad"}),
    "body request_id": lambda s: reply(400, {"error_code": "X.1", "request_id": s}),
    "X-Request-Id header": lambda s: _error(400, "bad", X_Request_Id=s),
    "Location header, raw": lambda s: reply(302, Location=LOGIN + s),
    "Location header, quote_plus": lambda s: reply(302, Location=f"https://login.example/?{quote_plus(s)}"),
    "Retry-After header": lambda s: _error(429, "slow down", "APIG.0308", Retry_After=s),
    "non-API body, raw": _page,
    "non-API body, HTML-escaped": lambda s: _page(html.escape(s)),
    "non-API body, URL-encoded": lambda s: _page(
        f"<a href='?x={quote(s, safe='')}'>?x={quote(s, safe='')}</a>"
    ),
    "ill-typed JSON, \\u-escaped": lambda s: reply(200, _bad_job(s)),
    "ill-typed JSON, UTF-8": lambda s: reply(200, _bad_job(s, ensure_ascii=False)),
    "ill-typed JSON, escaped slashes": lambda s: reply(200, _bad_job(s).replace(b"/", b"\\/")),
    "error_message, the first 60 %": lambda s: _error(400, s[: len(s) * 6 // 10]),
    "error_message, upper-case percent-encoding": lambda s: _error(400, quote(s)),
    "error_message, lower-case percent-encoding": lambda s: _error(400, quote(s).lower()),
    "error_msg of a 401": lambda s: reply(401, {"error_code": "APIG.0301", "error_msg": s}),
    "error_message of a missing job": lambda s: _error(404, s, "ModelArts.0015"),
    "error_message, every character \\u-escaped": lambda s: _error(400, every_character(s, "\\u{:04X}")),
    "error_message, JSON-escaped twice": lambda s: _error(400, json.dumps(json.dumps(s))),
    "error_message, JSON-escaped as Go does": lambda s: _error(400, _go_escaped(s)),
    "non-API body, every byte percent-encoded": lambda s: _page(every_character(s, "%{:02x}")),
    "non-API body, HTML character references": lambda s: _page(every_character(s, "&#{};")),
    "non-API body, URL-encoded in JSON": lambda s: _page(json.dumps({"next": f"/?t={quote(s)}"})),
    "X-Request-Id header, every character \\u-escaped": lambda s: _error(400, "bad", X_Request_Id=U(s)),
    "Location header, every byte percent-encoded": lambda s: reply(302, Location=LOGIN + PCT(s)),
    **{
        f"non-API body, {encoding}": partial(_page_in, encoding)
        for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be")
    },
    "error_message, base64": lambda s: _error(400, f"bad {b64(s)}"),
    "X-Request-Id header, URL-safe base64": lambda s: _error(
        400, "bad", X_Request_Id=b64(s, "-_").rstrip("=")
    ),
    "non-API body, Basic base64(user:secret)": lambda s: _page(
        f"Authorization: Basic {b64('echo-user:' + s)}"
    ),
    "error JSON in UTF-16": lambda s: reply(
        400, json.dumps({"error_code": "X.1", "error_message": s}).encode("utf-16")
    ),
}


def _as_header(text: str) -> str:
    """``text`` as its UTF-8 bytes go on the wire in a header (``reply`` sends header text as Latin-1)."""
    return text.encode().decode("latin-1")


#: A password past ASCII, echoed in a legacy charset, as UTF-8 bytes in a header (which http.client
#: reads as Latin-1), or in another Unicode normal form: place -> answer carrying it there.
LEGACY_PASSWORDS = [PASSWORD, "s\u20accret-w\u00f6rd/9e107d9d37-and-more"]
LEGACY_ECHOES: dict[str, Callable[[str], bytes]] = {
    **{  # what a charset lacks as an HTML character reference, as a server writes it
        f"non-API body, {charset}": partial(_page_in, charset, errors="xmlcharrefreplace")
        for charset in ("iso-8859-1", "windows-1252")
    },
    "error JSON in Latin-1": lambda s: reply(
        400, json.dumps({"error_code": "X.1", "error_message": s}, ensure_ascii=False).encode("cp1252")
    ),
    "X-Request-Id header, UTF-8 bytes": lambda s: _error(400, "bad", X_Request_Id=_as_header(s)),
    "Location header, UTF-8 bytes": lambda s: reply(302, Location=LOGIN + _as_header(s)),
    "Retry-After header, UTF-8 bytes": lambda s: _error(429, "slow", "APIG.0308", Retry_After=_as_header(s)),
    "error_message, decomposed (NFD)": lambda s: _error(400, unicodedata.normalize("NFD", s)),
    "error_message, upper case": lambda s: _error(400, s.upper()),
}


def _twice(answer: bytes, name: str, first: str, second: str) -> bytes:
    """``answer`` with the header ``name`` sent twice, which a client joins ("first, second")."""
    head, _, body = answer.partition(b"\r\n\r\n")
    return head + f"\r\n{name}: {first}\r\n{name}: {second}\r\n\r\n".encode("latin-1") + body


#: A secret cut in two, each half echoed (or only the second): place -> answer carrying them.
SPLIT_ECHOES: dict[str, Callable[[str, str], bytes]] = {
    "X-Request-Id sent twice": lambda a, b: _twice(_error(400, "bad"), "X-Request-Id", a, b),
    "Location sent twice": lambda a, b: _twice(reply(302), "Location", LOGIN + a, b),
    "error_message and request_id": lambda a, b: reply(
        400, {"error_code": "X.1", "error_message": a, "request_id": b}
    ),
    "the second half alone": lambda _, b: _error(400, f"bad {b}"),
    "the second half alone, URL-encoded": lambda _, b: _error(400, f"bad {quote(b, safe='')}"),
    "the second half alone, JSON-escaped twice": lambda _, b: _error(400, json.dumps(json.dumps(b))),
}


#: An IAM token of a real one's length (PKI tokens run to KiB), no stretch of it like another: in
#: ISSUED_TOKEN's repeats, a piece from the middle is also a piece of its end.
LONG_TOKEN = "MIIL" + "".join(hashlib.sha256(bytes([n])).hexdigest() for n in range(40))


def _thrice(answer: bytes, name: str, text: str) -> bytes:
    """``answer`` with the header ``name`` sent three times, ``text`` cut in three over them."""
    third = len(text) // 3
    head, _, body = answer.partition(b"\r\n\r\n")
    parts = (text[:third], text[third : 2 * third], text[2 * third :])
    return head + "".join(f"\r\n{name}: {part}" for part in parts).encode("latin-1") + b"\r\n\r\n" + body


def _middle(text: str) -> str:
    return text[len(text) // 3 : len(text) // 3 + max(len(text) // 3, 16)]


def _runs_near_the_end(text: str) -> str:
    """Each run of ``text`` as short as is scrubbed (errors.py) that starts in its last two such lengths."""
    least = min(24, max(12, len(text) // 4))
    return "\n".join(
        text[start : start + least] for start in range(len(text) - 2 * least, len(text) - least + 1)
    )


#: A whole secret echoed in pieces, or a piece from inside it alone: place -> answer carrying it.
INNER_ECHOES: dict[str, Callable[[str], bytes]] = {
    "wrapped at 64 characters": lambda s: _error(400, "\n".join(s[i : i + 64] for i in range(0, len(s), 64))),
    "wrapped at 24 characters in a page": lambda s: _page(
        "<br>".join(s[i : i + 24] for i in range(0, len(s), 24))
    ),
    "X-Request-Id sent three times": lambda s: _thrice(_error(400, "bad"), "X-Request-Id", s),
    "a third from the middle": lambda s: _error(400, f"bad {_middle(s)}"),
    "a third from the middle, URL-encoded": lambda s: _error(400, f"bad {quote(_middle(s), safe='')}"),
    "a third from the middle, \\u-escaped": lambda s: _error(400, every_character(_middle(s), "\\u{:04x}")),
    "each run near its end alone, a line each": lambda s: _error(400, _runs_near_the_end(s)),
}


def _head_with(secret: str, template: str) -> bytes:
    return template.format(secret).encode("latin-1")


#: Server text that urllib3 logs as sent (a retry's exception quotes the status line; header lines it
#: cannot parse), each an answer no attempt can use: place -> answer carrying the secret there.
LOGGED_ECHOES: dict[str, Callable[[str], bytes]] = {
    "status code": partial(_head_with, template="HTTP/1.1 {} OK\r\n\r\n"),
    "status code, URL-encoded": lambda s: _head_with(quote(s, safe=""), "HTTP/1.1 {} OK\r\n\r\n"),
    "status code, JSON-escaped": lambda s: _head_with(json.dumps(s)[1:-1], "HTTP/1.1 {}\r\n\r\n"),
    "status code, UTF-8 bytes": lambda s: _head_with(_as_header(s), "HTTP/1.1 {} OK\r\n\r\n"),
    "status line after an interim answer": partial(
        _head_with, template="HTTP/1.1 103 E\r\n\r\nHTTP/1.1 {}\r\n\r\n"
    ),
    "a header line that is no field": partial(_head_with, template="HTTP/1.1 200 OK\r\n{}\r\n\r\n"),
    "a header name with a space": partial(_head_with, template="HTTP/1.1 200 OK\r\nX {}: 1\r\n\r\n"),
    "a first header line folded": partial(_head_with, template="HTTP/1.1 200 OK\r\n {}\r\n\r\n"),
}


NO_AKSK = {"access_key": None, "secret_key": None}


class EchoServer:
    """IAM and ModelArts in one: issues ISSUED_TOKEN, then echoes a secret back as told."""

    @staticmethod
    def settings(url: str, password: str = PASSWORD) -> Settings:
        """Password login at this server (IAM at ``/v3``), no retries."""
        login = {"user_name": "echo-user", "password": password, "domain_name": "echo-domain"}
        return settings_for(url, environ=None, auth_url=f"{url}/v3", max_retries=0, **NO_AKSK, **login)

    def __init__(self) -> None:
        self.echo = ECHOES["error_message"]
        self.secret = self.issued = ISSUED_TOKEN
        self.seen_tokens: list[str] = []

    def __call__(self, head: bytes) -> Iterator[bytes]:
        if head.startswith(b"POST ") and b"/auth/tokens" in head.split(b"\r\n")[0]:
            expires = {"expires_at": "2099-01-01T00:00:00.000000Z", "project": {"id": PROJECT}}
            yield reply(201, {"token": expires}, X_Subject_Token=self.issued)
            return
        self.seen_tokens.append(header(head, "X-Auth-Token"))
        yield self.echo(self.secret)


class FakeCloud:
    """IAM (a password login, a project list) and ModelArts (job 197) as another deployment may
    answer them: ``token`` is the token body's ``token`` object, sent in the ``header`` named."""

    def __init__(
        self, token: dict[str, Any] | None = None, projects: list[Any] | None = None, header: str = ""
    ) -> None:
        self.token = {"project": {"id": PROJECT}} if token is None else token
        self.projects = [{"id": PROJECT, "name": "eu-de"}] if projects is None else projects
        self.header, self.paths = header or "X-Subject-Token", list[str]()

    @staticmethod
    def settings(url: str, auth: str = "password", **overrides: Any) -> Settings:
        login = {"user_name": "u", "password": PASSWORD, "domain_name": "d", **NO_AKSK}
        chosen = {"password": login, "token": {"auth_token": ISSUED_TOKEN, **NO_AKSK}, "aksk": {}}[auth]
        return settings_for(url, environ=None, auth_url=f"{url}/v3", max_retries=0, **chosen, **overrides)

    def __call__(self, head: bytes) -> Iterator[bytes]:
        path = head.split(b" ")[1].decode()
        self.paths.append(path)
        if path.startswith("/v3/auth/tokens"):
            yield reply(201, {"token": self.token}, **{self.header: ISSUED_TOKEN})
        else:
            yield reply(200, {"projects": self.projects} if path.startswith("/v3/") else JOB_197)


# -- list servers that page their own way ------------------------------------------------------


def listed_job(job_id: int, name: str | None = None) -> dict[str, Any]:
    return {"job_id": job_id, "job_name": name or f"job-{job_id}", "status": 8}


class PagingServer(RawServer):
    """Answers the list call with ``pages(page number)`` (a dict sent as JSON, or a full reply) and
    a job's details from ``jobs`` (ModelArts' not-found answer for any other). It refuses a
    ``per_page`` over 100, as a server keeping to the API reference's older pages does."""

    def __init__(self, pages: Callable[[int], Any], jobs: Iterable[dict[str, Any]] = ()) -> None:
        self.pages, self.jobs = pages, {job["job_id"]: job for job in jobs}
        super().__init__(self._answer)

    def _answer(self, head: bytes) -> Iterator[bytes | float]:
        target = head.split(b" ")[1].decode()
        path, _, query = target.partition("?")
        if query:
            params = dict(part.split("=") for part in query.split("&"))
            if int(params["per_page"]) > 100:
                error = {"is_success": False, "error_code": "ModelArts.0104", "error_message": "per_page"}
                yield reply(400, error)
                return
            page = self.pages(int(params["page"]))
            yield page if isinstance(page, bytes) else reply(200, page)
        elif (job_id := int(path.rsplit("/", 1)[1])) in self.jobs:
            yield reply(200, {**self.jobs[job_id], "job_type": "TensorBoard"})
        else:
            yield reply(
                400, {"is_success": False, "error_code": "ModelArts.2775", "error_message": "not found"}
            )

    def list_requests(self) -> int:
        return sum(b"visualization-jobs?" in head for head in self.heads)


def pages_of(size: int, count: int = 25, total: object = "right") -> Callable[[int], dict[str, Any]]:
    """A server with ``count`` jobs that sends ``size`` a page whatever ``per_page`` asks, with
    ``total`` as ``job_total_count`` (``"right"``: ``count``; None: no count at all)."""
    counted = {} if total is None else {"job_total_count": count if total == "right" else total}
    return lambda page: {
        **counted,
        "jobs": [listed_job(n) for n in range(1, count + 1)[(page - 1) * size :][:size]],
    }
