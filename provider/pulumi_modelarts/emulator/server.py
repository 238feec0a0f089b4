"""HTTP/1.1 plumbing that knows nothing about ModelArts: one ``app(Request)`` call per request,
kept-alive connections with TCP_NODELAY (delayed ACKs would add ~40 ms to each call), and a
connection dropped or reset when a fault asks for it."""

from __future__ import annotations

import contextlib
import dataclasses
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
from typing import Any

from .wire import Reply, Request, gateway_error

#: What the gateway takes (§3.4): larger bodies get 413, longer URIs 414, both unread.
MAX_BODY_BYTES, MAX_URI_BYTES = 12 << 20, 32 << 10
_REASONS = {**BaseHTTPRequestHandler.responses, 494: ("Request Header Too Large", "")}


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threading HTTP server on IPv4 or IPv6 that stops at once and closes keep-alive connections:
    its accept loop, woken by a self-pipe, replaces ``serve_forever``'s polling (a wait per stop)."""

    timeout = 0  # handle_request() must not block: the accept loop calls it only when ready
    request_queue_size = 128  # socketserver's 5: the kernel drops the rest of a burst of clients

    def __init__(self, host: str, port: int, app: Callable[[Request], Reply]) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.connections: dict[socket.socket, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        super().__init__((host, port), _Handler)
        self._wake_reader, self._wake_writer = socket.socketpair()  # once bound: a port in use leaks none

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS ``getfqdn`` call, which can stall start-up."""
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def start(self, name: str) -> None:
        """Accept connections in a daemon thread until :meth:`stop`."""
        self._accepting = threading.Thread(target=self._accept_until_stopped, name=name, daemon=True)
        self._accepting.start()

    def _accept_until_stopped(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopped.is_set():
                for key, _events in selector.select():
                    if key.fileobj is self.socket and not self._stopped.is_set():
                        self.handle_request()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a daemon thread, registered before it starts so that ``stop``
        cannot miss it."""
        thread = threading.Thread(target=self._connection, args=(request, client_address), daemon=True)
        with self._lock:
            self.connections[request] = thread
        thread.start()

    def _connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self.connections.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that went away (timeouts, resets); report real bugs."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def stop(self, timeout: float) -> None:
        """Stop accepting, shut every open connection down, wait (bounded) for the threads serving
        them, and close the server."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")
        self._accepting.join(timeout)
        with self._lock:
            open_now = list(self.connections.items())
        for sock, _thread in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _sock, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.server_close()
        self._wake_reader.close()
        self._wake_writer.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    timeout = 300  # idle keep-alive connections eventually free their thread
    server_version = "ModelArtsEmulator"
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the emulator keeps its own request log."""

    def _serve(self) -> None:
        request_id = uuid.uuid4().hex
        length = ",".join({value.strip() for value in self.headers.get_all("Content-Length", ["0"])})
        framed = length.isascii() and length.isdigit() and len(length) <= 12
        if not framed or "Transfer-Encoding" in self.headers:
            # Where the next request starts is unknown (two lengths too, "0,5"): answer, then close.
            reply = _refusal(400, "Request body without a usable length", request_id)
        elif int(length) > MAX_BODY_BYTES:  # refused unread, as the gateway does
            reply = _refusal(413, "Request body larger than 12 MB", request_id)
        elif len(self.path) > MAX_URI_BYTES:
            reply = _refusal(414, "Request URI larger than 32 KB", request_id)
        else:
            path, _, query = self.path.partition("?")
            headers = {name.lower(): value.strip() for name, value in self.headers.items()}
            body = self.rfile.read(int(length))
            try:
                reply = self.server.app(Request(self.command, path, query, headers, body, request_id))
            except Exception:
                traceback.print_exc()
                reply = _refusal(500, "The emulator failed to handle the request", request_id)
        if reply.action == "reset":  # SO_LINGER 0: the kernel sends a TCP RST instead of a FIN
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.rfile.close()  # the makefile() reference must go too before the fd really closes
        if reply.action in ("drop", "reset"):
            self.close_connection = True
        else:
            self._send(reply, request_id)

    def __getattr__(self, name: str) -> Any:
        """Every method (HEAD, OPTIONS, any other) takes the one path: the gateway's answer, logged."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, *_explain: object) -> None:
        """The standard library's refusals (a line too long, bad syntax) as the gateway's JSON, not HTML."""
        status = 494 if code == 431 else code  # the gateway's status for headers too large
        request_id = uuid.uuid4().hex
        self._send(_refusal(status, message or "Bad request", request_id), request_id)

    def _send(self, reply: Reply, request_id: str) -> None:
        """Status line, headers and body in a single write (one segment for small replies)."""
        self.close_connection = self.close_connection or reply.action == "refuse"  # then it closes
        empty = reply.status in (204, 304)  # ended by their headers: a body would open the next answer
        lines = [
            f"{self.protocol_version} {reply.status} {_REASONS.get(reply.status, ('Unknown',))[0]}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            *([f"Content-Type: {reply.content_type}"] if reply.content_type and not empty else []),
            *([] if empty else [f"Content-Length: {len(reply.body)}"]),
            f"X-Request-Id: {request_id}",
            *(f"{name}: {value}" for name, value in reply.headers.items()),
            *(["Connection: close"] if self.close_connection else []),
        ]
        body = b"" if self.command == "HEAD" or empty else reply.body  # HEAD: the headers alone
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _refusal(status: int, message: str, request_id: str) -> Reply:
    """The gateway's APIG.0201 for a request it cannot take as it is."""
    return dataclasses.replace(gateway_error(status, "APIG.0201", message, request_id), action="refuse")
