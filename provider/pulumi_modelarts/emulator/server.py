"""HTTP/1.1 plumbing: a threading server that turns each request into one ``app(Request)`` call.

It knows nothing about ModelArts. It keeps connections alive, frames every response with
Content-Length, sets TCP_NODELAY (otherwise delayed ACKs add ~40 ms to each keep-alive call),
and can drop or reset a connection when a fault asks for it.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, Final

from .wire import Reply, Request, gateway_error

App = Callable[[Request], Reply]

#: The gateway refuses bodies above 12 MB (§4b); reading them would only waste memory.
MAX_BODY: Final = 12 * 1024 * 1024
_MAX_LINE: Final = 65536
_DECIMAL: Final = re.compile(r"[0-9]{1,12}")
_HEX: Final = re.compile(rb"[0-9A-Fa-f]{1,12}")


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server on IPv4 or IPv6 that stops at once and closes keep-alive connections.

    ``serve_until_stopped`` replaces ``serve_forever``, whose polling makes every stop wait up to
    one poll interval; here a self-pipe wakes the accept loop immediately.
    """

    timeout = 0  # handle_request() must not block: the accept loop only calls it when ready

    def __init__(self, host: str, port: int, app: App) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        self._stopped = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__((host, port), _Handler)

    def serve_until_stopped(self) -> None:
        """Accept connections until ``stop_serving``; each one is served in its own thread."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopped.is_set():
                for key, _events in selector.select():
                    if key.fileobj is self.socket and not self._stopped.is_set():
                        self.handle_request()

    def stop_serving(self) -> None:
        """Make ``serve_until_stopped`` return promptly (callable from any thread)."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def server_close(self) -> None:
        """Close the listening socket and the wake-up pipe."""
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS ``getfqdn`` call, which can stall start-up."""
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """Serve the connection in a daemon thread, registered before it starts so a concurrent
        ``close_connections`` cannot miss it."""
        sock = request if isinstance(request, socket.socket) else request[1]
        thread = threading.Thread(
            target=self._serve_connection, args=(sock, request, client_address), daemon=True
        )
        with self._connections_lock:
            self._connections[sock] = thread
        thread.start()

    def _serve_connection(
        self,
        sock: socket.socket,
        request: socket.socket | tuple[bytes, socket.socket],
        client_address: Any,
    ) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(sock, None)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """Stay quiet about clients that went away (timeouts, resets); report real bugs."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        """Shut down every open connection and wait (bounded) for the threads serving them."""
        with self._connections_lock:
            open_now = list(self._connections.items())
        for sock, _thread in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _sock, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    timeout = 300  # idle keep-alive connections eventually free their thread
    server_version = "ModelArtsEmulator"
    server: EmulatorHTTPServer

    def version_string(self) -> str:
        """``Server`` header value (the stdlib default appends the Python version)."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the emulator keeps its own request log."""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        path, _, query = self.path.partition("?")
        request = Request(
            method=self.command,
            path=path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
            request_id=uuid.uuid4().hex,
        )
        try:
            reply = self.server.app(request)
        except Exception:
            traceback.print_exc()
            reply = gateway_error(
                500, "APIG.0201", "The emulator failed to handle the request", request.request_id
            )
        if reply.action == "drop":
            self.close_connection = True
        elif reply.action == "reset":
            self._reset()
        else:
            self._send(reply, request.request_id)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        """Consume exactly the request body so keep-alive stays in step; None if refused."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if not _DECIMAL.fullmatch(raw.strip()):
            self._refuse(400, "Invalid Content-Length header")
            return None
        length = int(raw)
        if length > MAX_BODY:
            self._refuse(413, "Request body is larger than 12 MB")
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_field = self.rfile.readline(_MAX_LINE).split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_field):
                self._refuse(400, "Invalid chunked request body")
                return None
            size = int(size_field, 16)
            if size == 0:
                while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self._refuse(413, "Request body is larger than 12 MB")
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(_MAX_LINE)

    def _refuse(self, status: int, message: str) -> None:
        """Answer a request whose framing cannot be trusted, then close the connection."""
        self.close_connection = True
        request_id = uuid.uuid4().hex
        self._send(gateway_error(status, "APIG.0201", message, request_id), request_id)

    def _send(self, reply: Reply, request_id: str) -> None:
        """Status line, headers and body in a single write (one segment for small replies)."""
        phrase = self.responses.get(reply.status, ("Unknown",))[0]
        lines = [
            f"{self.protocol_version} {reply.status} {phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
        ]
        if reply.content_type is not None:
            lines.append(f"Content-Type: {reply.content_type}")
        lines.append(f"Content-Length: {len(reply.body)}")
        lines.append(f"X-Request-Id: {request_id}")
        lines.extend(f"{name}: {value}" for name, value in reply.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + reply.body)

    def _reset(self) -> None:
        """Close with SO_LINGER 0 so the kernel sends a TCP RST instead of a FIN."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.rfile.close()  # the makefile() reference must go too before the fd really closes
