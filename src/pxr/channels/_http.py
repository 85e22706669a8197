"""A small HTTP client on the standard library, for the provider transports.

One :class:`HttpClient` keeps a connection alive per server (scheme, host,
port) between requests, until :meth:`HttpClient.close`. Each reply says
whether the request surely did not take effect (no connection, a refusal
to talk, 429, 502, 503) or may have (the request went out and the answer
was lost: a timeout or a reset after sending, or a 504 from a gateway).
URLs can carry tokens, so only :func:`mask_url`'s form of a URL is logged.
"""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["HttpClient", "HttpReply", "mask_url"]

log = logging.getLogger("pxr.channels.http")

#: Query parameters whose values are secrets.
_SECRET_PARAMS = frozenset(
    {"access_token", "token", "auth_token", "key", "api_key", "apikey", "secret", "password"}
)


def mask_url(url: str) -> str:
    """``url`` with any user info and secret query values replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{name}={'***' if name.lower() in _SECRET_PARAMS else value}"
        for name, _, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@attrs.frozen
class HttpReply:
    """A provider's answer: the status (0 for no answer at all) and its JSON body.

    ``request_sent`` is true once the whole request went out: with no answer
    after that, the provider may have acted on it.
    """

    status: int
    body: Mapping[str, Any]
    problem: str | None = None
    request_sent: bool = True

    @property
    def uncertain(self) -> bool:
        """The request went out and its outcome is unknown."""
        return (self.status == 0 and self.request_sent) or self.status == 504

    @property
    def transient(self) -> bool:
        """Surely not acted on, and worth trying again: no connection, 429, 5xx."""
        return not self.uncertain and (self.status in {0, 429} or self.status >= 500)


class HttpClient:
    """POSTs over kept-alive connections, one per server; safe to share between threads."""

    def __init__(self, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._lock = threading.Lock()
        #: How many connections were opened; a test and an operator's check.
        self.opened = 0

    def post(self, url: str, data: bytes, headers: Mapping[str, str]) -> HttpReply:
        """POST ``data``; return the status and decoded JSON (``{}`` if none)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("only http and https URLs are allowed")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        server = (parts.scheme, parts.hostname, port)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        with self._lock:
            reply = self._post(server, target, data, headers)
        log.debug("POST %s: %s", mask_url(url), reply.status or reply.problem)
        return reply

    def _post(
        self,
        server: tuple[str, str, int],
        target: str,
        data: bytes,
        headers: Mapping[str, str],
    ) -> HttpReply:
        try:
            connection = self._connection(server)
            connection.request("POST", target, body=data, headers=dict(headers))
        except (OSError, http.client.HTTPException) as error:
            # Part of the request at most: the provider cannot have acted on it.
            self._drop(server)
            return HttpReply(0, {}, f"no answer: {type(error).__name__}", request_sent=False)
        try:
            with connection.getresponse() as response:
                raw = response.read()
                status = response.status
        except (OSError, http.client.HTTPException) as error:
            self._drop(server)
            return HttpReply(0, {}, f"answer lost after sending: {type(error).__name__}")
        return HttpReply(status, _json(raw))

    def _connection(self, server: tuple[str, str, int]) -> http.client.HTTPConnection:
        connection = self._connections.get(server)
        if connection is not None and connection.sock is not None and _dropped(connection.sock):
            # The server closed the idle connection (a keep-alive timeout):
            # find out now, not after sending a request into it.
            self._drop(server)
            connection = None
        if connection is None or connection.sock is None:
            scheme, host, port = server
            if scheme == "https":
                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=self._ssl_context
                )
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            connection.connect()  # here, so that a failure is before anything was sent
            self.opened += 1
            self._connections[server] = connection
        return connection

    def _drop(self, server: tuple[str, str, int]) -> None:
        connection = self._connections.pop(server, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Close every kept-alive connection; the client reconnects if used again."""
        with self._lock:
            for server in list(self._connections):
                self._drop(server)


def _dropped(sock: socket.socket) -> bool:
    """An idle connection is readable only when the server closed it (or broke protocol)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _json(raw: bytes) -> Mapping[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
