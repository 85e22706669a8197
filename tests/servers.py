"""Real servers on loopback that speak the providers' request and response
shapes: Twilio's Messages API, Messenger's Send API, and SMTP (aiosmtpd)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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

    def answer(self, recorded: Recorded) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(recorded)
            return self.script.pop(0) if self.script else self.default


@contextmanager
def fake_provider(default: tuple[int, dict[str, Any]]) -> Iterator[FakeProvider]:
    provider = FakeProvider(default)

    class Handler(BaseHTTPRequestHandler):
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
