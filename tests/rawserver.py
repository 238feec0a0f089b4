"""Purpose-built loopback servers for answers the emulator does not give: trickled or silent
replies, arbitrary bytes and headers, compressed bodies, and a forwarding HTTP proxy.

A :class:`RawServer` plays a script per request: the script gets the request head and yields
``bytes`` (sent at once) or ``float`` (seconds of silence). Everything stops promptly on exit.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pulumi_modelarts.settings import Settings

Script = Callable[[bytes], Iterable[bytes | float]]
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


class RawServer:
    """Serves every request on loopback with ``script``; records each request head."""

    def __init__(self, script: Script, *, scheme: str = "http", tls: ssl.SSLContext | None = None) -> None:
        self._script = script
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if tls is not None else scheme
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self.heads: list[bytes] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []

    def __enter__(self) -> RawServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._listener.close()
        for client in list(self._clients):
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        self._listener.settimeout(0.1)  # closing a socket does not wake accept(): poll the stop flag
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self._clients.append(client)
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        try:
            if self._tls is not None:
                client = self._tls.wrap_socket(client, server_side=True)
            while not self._stop.is_set():
                head = self._read_head(client)
                if not head:
                    return
                self.heads.append(head)
                for step in self._script(head):
                    if isinstance(step, float | int) and not isinstance(step, bool):
                        if self._stop.wait(float(step)):
                            return
                    else:
                        client.sendall(step)
        except OSError:
            return
        finally:
            client.close()

    @staticmethod
    def _read_head(client: socket.socket) -> bytes:
        """The request head and its body (by Content-Length), so that keep-alive stays in step."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                return b""
            body += chunk
        return head + b"\r\n\r\n" + body


def settings_for(url: str, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """AK/SK settings with a fixed project, so that the only request is the one under test."""
    args = {"endpoint": url, "project_id": PROJECT, "access_key": "AK-RAW-TEST", "secret_key": "SK-RAW-TEST"}
    return Settings.from_sources(args={**args, **overrides}, environ=environ or {})


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the path of its certificate (its own CA)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


class ForwardProxy:
    """A plain-HTTP forward proxy on loopback that records what it forwarded."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []  # (absolute URL, Proxy-Authorization)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.requests.append((self.path, self.headers.get("Proxy-Authorization")))
                target = http.client.urlsplit(self.path)  # type: ignore[attr-defined]
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-authorization"}
                upstream.request(
                    "GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers
                )
                answer = upstream.getresponse()
                body = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                upstream.close()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def header(head: bytes, name: str) -> str:
    """A request header's value from a recorded head ('' when absent)."""
    for line in head.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        key, _, value = line.decode("latin-1").partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return ""


def trickle(first: bytes, unit: bytes, every: float, count: int) -> Iterator[bytes | float]:
    """``first``, then ``unit`` every ``every`` seconds, ``count`` times: never silent long enough
    for a read timeout."""
    yield first
    for _ in range(count):
        yield every
        yield unit
