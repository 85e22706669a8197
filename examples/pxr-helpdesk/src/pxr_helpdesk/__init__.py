"""An example pxr plugin: each case pxr hands over opens a ticket in a helpdesk.

It speaks the shape of Zendesk's Tickets API (``POST /api/v2/tickets.json``
with ``{"ticket": {...}}``, basic auth as ``email/token:API_TOKEN``), which
Freshdesk and most helpdesks mirror closely. The case id is the ticket's
``external_id``, so an agent can find the case in ``pxr tasks`` and a
helpdesk automation can call back into :mod:`pxr.cases`.

Installed, it reads ``PXR_HELPDESK_URL``, ``PXR_HELPDESK_EMAIL`` and
``PXR_HELPDESK_TOKEN`` when the first case is handed over; a host may instead
``plugins.add(HelpdeskTickets(url, email, token), name="helpdesk")``. The
ticket holds the case id, the subject and the reason, never the customer's
contact details: the agent looks them up in the host's own system.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request

import attrs

import pxr
from pxr import Case, PxrError

__all__ = ["HelpdeskError", "HelpdeskTickets", "case_handed_over"]


class HelpdeskError(PxrError):
    """The helpdesk refused the ticket or did not answer."""


@attrs.frozen
class HelpdeskTickets:
    """Opens a ticket for each case handed over; ``url`` is the helpdesk's base URL."""

    url: str
    email: str = attrs.field(repr=False)
    token: str = attrs.field(repr=False)
    timeout: float = 10.0

    def ticket(self, case: Case, reason: str) -> dict[str, object]:
        """The ticket for ``case``, in the Tickets API's shape."""
        silence = (
            " If it is not answered by then, the law deems the complaint accepted."
            if case.silence_accepts
            else ""
        )
        return {
            "ticket": {
                "subject": f"{case.subject}: {reason} (case {case.id})",
                "comment": {
                    "body": (
                        f"pxr handed over case {case.id} ({reason})."
                        f" Answer by {case.due_at.isoformat()}.{silence}"
                        f" Status: {case.status}."
                    ),
                    "public": False,
                },
                "external_id": case.id,
                "group_name": case.team,
                "priority": "urgent" if reason in ("deadline", "critical") else "normal",
                "due_at": case.due_at.isoformat(),
                "tags": ["pxr", reason.replace(" ", "-")],
            }
        }

    @pxr.hookimpl
    def case_handed_over(self, case: Case, reason: str) -> None:
        """POST the ticket; a refusal raises :class:`HelpdeskError` (pxr reports it)."""
        credentials = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own setting
            self.url.rstrip("/") + "/api/v2/tickets.json",
            data=json.dumps(self.ticket(case, reason)).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {credentials}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310
                return
        except urllib.error.HTTPError as error:
            raise HelpdeskError(f"helpdesk refused the ticket: HTTP {error.code}") from None
        except OSError as error:
            raise HelpdeskError(f"helpdesk did not answer ({type(error).__name__})") from None


def _from_environment() -> HelpdeskTickets:
    missing = [
        name
        for name in ("PXR_HELPDESK_URL", "PXR_HELPDESK_EMAIL", "PXR_HELPDESK_TOKEN")
        if not os.environ.get(name)
    ]
    if missing:
        raise HelpdeskError(f"set {', '.join(missing)} to open helpdesk tickets")
    return HelpdeskTickets(
        os.environ["PXR_HELPDESK_URL"],
        os.environ["PXR_HELPDESK_EMAIL"],
        os.environ["PXR_HELPDESK_TOKEN"],
    )


@pxr.hookimpl
def case_handed_over(case: Case, reason: str) -> None:
    """As installed through the entry point: settings from the environment."""
    _from_environment().case_handed_over(case, reason)
