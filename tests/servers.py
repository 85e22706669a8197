"""Real servers on loopback that speak the providers' request and response
shapes: Twilio's Messages API, Messenger's Send API, and SMTP (aiosmtpd);
and servers that take a request and then lose the answer (stall, reset),
for the "uncertain" outcome."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import attrs


@attrs.define
class Recorded:
    """One request the fake provider received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.define
class FakeProvider:
    """An HTTP server on 127.0.0.1 answering from a script, then with ``default``."""

    default: tuple[int, dict[str, Any]]
    script: list[tuple[int, dict[str, Any]]] = attrs.field(factory=list)
    requests: list[Recorded] = attrs.field(factory=list)
    url: str = ""
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    #: TCP connections accepted so far.
    connections: int = 0

    def answer(self, recorded: Recorded) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(recorded)
            return self.script.pop(0) if self.script else self.default


@contextmanager
def fake_provider(
    default: tuple[int, dict[str, Any]], *, keep_alive: bool = False
) -> Iterator[FakeProvider]:
    """``keep_alive``: speak HTTP/1.1 and keep connections open between requests
    (as real providers do); otherwise HTTP/1.0, one request per connection."""
    provider = FakeProvider(default)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
        # Headers and body go out in two writes: without TCP_NODELAY the body
        # waits for the client's delayed ACK (40 ms) on a kept-alive connection.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with provider.lock:
                provider.connections += 1

        def do_POST(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length", 0))
            recorded = Recorded(
                path=parsed.path,
                query=urllib.parse.parse_qs(parsed.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
            )
            status, body = provider.answer(recorded)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output stays readable."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-secret-token-9f8e7d"


def twilio_ok(number: int = 1) -> tuple[int, dict[str, Any]]:
    return 201, {"sid": f"SM{number:032d}", "status": "queued"}


def twilio_error(code: int, status: int = 400) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": "The 'To' number is not a valid phone number.",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def basic_auth(recorded: Recorded) -> tuple[str, str]:
    scheme, _, token = recorded.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


MESSENGER_TOKEN = "EAAGm0PX4ZCpsBA-page-token"


def messenger_ok() -> tuple[int, dict[str, Any]]:
    return 200, {"recipient_id": "2718281828459045", "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJ"}


def messenger_error(code: int, subcode: int | None, message: str) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbCdEf123"
    return 400, {"error": error}


Fault = Literal["stall", "reset", "answer-then-hang-up"]


@attrs.define
class LossyServer:
    """A TCP server on 127.0.0.1 that takes whole requests and then, per ``fault``:
    ``stall`` (never answers), ``reset`` (closes with a TCP reset) or
    ``answer-then-hang-up`` (answers, then closes the connection as an idle
    timeout would; ``hung_up`` is set once it has)."""

    fault: Fault
    port: int = 0
    #: Whole requests received (HTTP bodies, or SMTP messages after DATA).
    received: list[bytes] = attrs.field(factory=list)
    connections: int = 0
    hung_up: threading.Event = attrs.field(factory=threading.Event)
    stop: threading.Event = attrs.field(factory=threading.Event)

    def after_request(self, conn: socket.socket, answer: bytes) -> bool:
        """Lose or give the answer; ``True`` to keep serving this connection."""
        if self.fault == "stall":
            self.stop.wait()
            return False
        if self.fault == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        conn.sendall(answer)
        return False


def _read_until(conn: socket.socket, buffer: bytearray, marker: bytes) -> bytes | None:
    while marker not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    head, _, rest = bytes(buffer).partition(marker)
    buffer[:] = rest
    return head


def _serve_http(server: LossyServer, conn: socket.socket) -> None:
    buffer = bytearray()
    head = _read_until(conn, buffer, b"\r\n\r\n")
    if head is None:
        return
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(buffer) < length:
        buffer.extend(conn.recv(65536))
    server.received.append(bytes(buffer[:length]))
    body = json.dumps({"sid": "SM1", "message_id": "m_1"}).encode()
    answer = (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    server.after_request(conn, answer)


def _serve_smtp(server: LossyServer, conn: socket.socket) -> None:
    """Enough SMTP for a plain relay without login: EHLO, MAIL, RCPT, DATA, RSET, QUIT."""
    buffer = bytearray()
    conn.sendall(b"220 lossy.test ESMTP\r\n")
    while (line := _read_until(conn, buffer, b"\r\n")) is not None:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250 lossy.test\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            conn.sendall(b"250 OK\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go ahead\r\n")
            mail = _read_until(conn, buffer, b"\r\n.\r\n")
            if mail is None:
                return
            server.received.append(mail)
            if not server.after_request(conn, b"250 queued\r\n"):
                return
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"502 not here\r\n")


@contextmanager
def lossy_server(protocol: Literal["http", "smtp"], fault: Fault) -> Iterator[LossyServer]:
    """A :class:`LossyServer` speaking ``protocol``, for the duration of the block."""
    server = LossyServer(fault)
    listener = socket.create_server(("127.0.0.1", 0))
    server.port = listener.getsockname()[1]
    serve = _serve_http if protocol == "http" else _serve_smtp
    workers: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # OSError: the client went away
            serve(server, conn)
        if fault == "answer-then-hang-up":
            server.hung_up.set()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # the listener was closed: the block ended
            server.connections += 1
            worker = threading.Thread(target=handle, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        server.stop.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        acceptor.join()
        for worker in workers:
            worker.join()
