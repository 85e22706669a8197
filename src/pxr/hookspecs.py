"""Every pxr hook, in one place.

Plugins implement hooks with :data:`pxr.hookimpl` and are found through the
``pxr`` entry-point group (or added with :meth:`pxr.plugins.Plugins.add`).
pxr's own channels, catalogs and kinds arrive through these same hooks
(:mod:`pxr.builtins`).

Two families:

* **register_*** hooks are called once, when the plugins are first used,
  one plugin at a time in registration order (pxr's built-ins first), except
  that ``tryfirst`` implementations come before the others and ``trylast``
  ones after. Each receives a ``register`` callback; the plugin calls it for
  each thing it provides. A name registered twice is an error reported
  against the second plugin, never a silent override, and nothing a failed
  plugin registered stays. A wrapper cannot implement them.
* **lifecycle** hooks are called through pluggy after the engine's
  transaction commits, once per event, so pluggy's rules hold: ``tryfirst``
  implementations first, then the others (the plugin registered last
  first), then ``trylast``; ``wrapper=True`` and ``hookwrapper=True``
  implementations around all of them. A plugin that raises, a wrapper too, is
  reported (by name, without the message or the arguments, which hold
  personal data) and the others still run. Their return values are ignored.
  :func:`before_send` is the exception: it is called one plugin at a time, in
  the same order, inside the transaction, and a wrapper cannot implement it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pxr.channels import Channel, DeliveryResult, NotifierFactory
    from pxr.compensation import CompensationFactory
    from pxr.ledger import Case, OutboxEntry
    from pxr.ledger.urls import LedgerFactory
    from pxr.model import Breach, Compensation, Customer, Message, Severity
    from pxr.registry import ThresholdFactory

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("pxr")
hookimpl = pluggy.HookimplMarker("pxr")


@hookspec
def register_channels(register: Callable[[Channel], None]) -> None:
    """Provide channels: ``register(channel)`` for each.

    A :class:`~pxr.channels.Channel` says which contact point of a customer
    it uses and how a message is shaped for it. Its ``name`` is what a policy
    lists in ``channels = [...]``.
    """


@hookspec
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    """Provide transports: ``register(name, factory)`` for each.

    ``factory(settings)`` builds a :class:`~pxr.channels.Notifier` from the
    table of a transports file (``[sms] transport = "twilio" …``) and raises
    :class:`~pxr.errors.ValidationError` for a bad setting.
    """


@hookspec
def register_catalogs(register: Callable[[str, Path], None]) -> None:
    """Provide message catalogs: ``register(domain, locale_dir)``.

    ``locale_dir`` holds ``<lang>/LC_MESSAGES/<domain>.mo``. Catalogs
    registered later are merged over earlier ones, locale by locale, so a
    host's catalog can override pxr's wording of any message.
    """


@hookspec
def register_threshold_kinds(register: Callable[[str, ThresholdFactory], None]) -> None:
    """Provide threshold kinds: ``register(kind, factory)``.

    ``factory(table, where)`` builds a :class:`~pxr.thresholds.Threshold`
    from a ``[[thresholds]]`` table whose ``kind`` is ``kind``; ``where``
    (``"thresholds[2]"``) locates errors.
    """


@hookspec
def register_compensation_kinds(register: Callable[[str, CompensationFactory], None]) -> None:
    """Provide compensation kinds: ``register(kind, factory)``.

    ``factory(table, where, currency)`` builds a
    :class:`~pxr.compensation.CompensationPolicy` from a compensation table
    whose ``kind`` is ``kind``.
    """


@hookspec
def register_ledgers(register: Callable[[str, LedgerFactory], None]) -> None:
    """Provide ledger kinds: ``register(scheme, factory)`` for each.

    ``factory(url, create=...)`` opens the :class:`~pxr.ledger.Ledger` a URL
    ``scheme://…`` names, wherever a ledger is named (``--store``,
    ``PXR_LEDGER``, :func:`pxr.open_ledger`). With ``create=False`` a ledger
    that does not exist yet is a :class:`~pxr.errors.LedgerError`. Schemes
    are case-insensitive; pxr registers ``sqlite``, ``postgresql`` and
    ``postgres``.
    """


@hookspec
def breach_opened(breach: Breach) -> None:
    """A threshold was crossed for a subject for the first time.

    Also for a forecast crossing (``breach.forecast`` is true); it is not
    called again when an actual value confirms the forecast.
    """


@hookspec
def breach_escalated(breach: Breach, previous: Severity) -> None:
    """An open breach reached a higher severity than ``previous``."""


@hookspec
def breach_resolved(breach: Breach) -> None:
    """The host resolved a breach."""


@hookspec
def compensation_issued(breach: Breach, compensation: Compensation) -> None:
    """A compensation was recorded (once, ever, per tier and kind)."""


@hookspec
def hand_over(breach: Breach, compensation: Compensation, customer: Customer) -> None:
    """A person must take over: open a ticket in your helpdesk.

    Called once, after the commit, for ``contact`` compensations:
    ``compensation.team``, ``.priority`` and ``.due_at`` say who, how
    urgently and by when. (Named ``escalate`` before pxr 0.2: "escalation"
    now means only that a breach's severity rose.) The same follow-up also
    opens a case and calls :func:`case_handed_over`.
    """


@hookspec
def case_handed_over(case: Case, reason: str) -> None:
    """A case went to a team: open a ticket in your helpdesk.

    Called once per case and reason, after the commit, whatever handed it over
    (``reason``: ``complaint after notice``, ``contact``, ``critical``,
    ``rejected``, ``deadline``, ``dead letter``, ``unreachable``…).
    ``case.team`` says who, ``case.due_at`` the answer deadline,
    ``case.silence_accepts`` whether the law deems the complaint accepted
    if that deadline passes unanswered. ``case.id`` is stable: use it as the
    ticket's external id.
    """


@hookspec
def before_send(message: Message, customer: Customer) -> Any:
    """Amend or veto a message just before the dispatcher sends it.

    ``message`` is rendered for the customer as they are at that moment.
    Return ``None`` to leave it, a new :class:`~pxr.model.Message` to amend
    it (the next plugin sees the amended one), or a string to veto it — the
    message is then ``cancelled`` and the string kept as the reason; no later
    plugin is asked. Plugins are asked in pluggy's order (``tryfirst`` first,
    ``trylast`` last). A plugin that raises leaves the message as it was. Do
    not send anything from here.
    """


@hookspec
def delivery_result(entry: OutboxEntry, result: DeliveryResult) -> None:
    """A send was attempted from the outbox; ``result`` says what happened."""
