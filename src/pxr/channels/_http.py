"""A small HTTP client on the standard library, for the provider transports.

Network failures and HTTP 5xx/429 are transient; the caller maps other
error bodies. Nothing here logs a URL, since URLs can carry tokens.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["HttpReply", "post"]


@attrs.frozen
class HttpReply:
    """A provider's answer: the status (0 for no answer at all) and its JSON body."""

    status: int
    body: Mapping[str, Any]
    problem: str | None = None

    @property
    def transient(self) -> bool:
        """No answer, rate limited, or a server error: worth trying again."""
        return self.status in {0, 429} or self.status >= 500


def post(
    url: str,
    data: bytes,
    headers: Mapping[str, str],
    timeout: float,
) -> HttpReply:
    """POST ``data``; return the status and decoded JSON (``{}`` if none)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("only http and https URLs are allowed")
    request = urllib.request.Request(url, data=data, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return HttpReply(response.status, _json(response.read()))
    except urllib.error.HTTPError as error:
        return HttpReply(error.code, _json(error.read()))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return HttpReply(0, {}, problem=f"no answer: {type(reason).__name__}")


def _json(raw: bytes) -> Mapping[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
