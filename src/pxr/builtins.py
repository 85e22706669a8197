"""pxr's own channels, transports, catalogs and kinds, registered through the
same hooks as any plugin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pxr.channels import Channel, NotifierFactory
from pxr.compensation import Apology, CompensationFactory, Contact, Gift, Refund, Voucher
from pxr.hookspecs import hookimpl
from pxr.ledger.urls import LedgerFactory
from pxr.registry import ThresholdFactory
from pxr.statutory import EU261


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """SMS, e-mail, Messenger and the console preview."""
    from pxr.channels.builtin import Console, Email, Messenger, Sms  # noqa: PLC0415

    for channel in (Sms(), Email(), Messenger(), Console()):
        register(channel)


@hookimpl
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    """Twilio SMS, SMTP e-mail, the Messenger Send API, and the console."""
    from pxr.channels.console import console_notifier  # noqa: PLC0415
    from pxr.channels.email import smtp_notifier  # noqa: PLC0415
    from pxr.channels.messenger import messenger_notifier  # noqa: PLC0415
    from pxr.channels.sms import twilio_notifier  # noqa: PLC0415

    register("twilio", twilio_notifier)
    register("smtp", smtp_notifier)
    register("messenger", messenger_notifier)
    register("console", console_notifier)


@hookimpl
def register_catalogs(register: Callable[[str, Path], None]) -> None:
    """pxr's own messages in en, pl, bg, nl and ro."""
    register("pxr", Path(__file__).parent / "locale")


@hookimpl
def register_threshold_kinds(register: Callable[[str, ThresholdFactory], None]) -> None:
    """``tiered``: ``above`` / ``below`` with minor, major and critical bounds."""
    from pxr.policy import tiered_threshold  # noqa: PLC0415

    register("tiered", tiered_threshold)


@hookimpl
def register_compensation_kinds(register: Callable[[str, CompensationFactory], None]) -> None:
    """apology, refund, voucher, gift, contact and eu261."""
    kinds: dict[str, CompensationFactory] = {
        "apology": Apology.from_config,
        "refund": Refund.from_config,
        "voucher": Voucher.from_config,
        "gift": Gift.from_config,
        "contact": Contact.from_config,
        "eu261": EU261.from_config,
    }
    for name, factory in kinds.items():
        register(name, factory)


@hookimpl
def register_ledgers(register: Callable[[str, LedgerFactory], None]) -> None:
    """``sqlite:///path.db`` and ``postgresql://…`` (also ``postgres://…``)."""
    from pxr.ledger.urls import postgres_ledger, sqlite_ledger  # noqa: PLC0415

    register("sqlite", sqlite_ledger)
    register("postgresql", postgres_ledger)
    register("postgres", postgres_ledger)
