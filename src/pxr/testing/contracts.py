"""Contract test suites for channels and notifiers (these need pytest).

Subclass one in your plugin's tests, provide the fixtures it names, and
pytest runs every check against your channel or notifier::

    from pxr.testing.contracts import NotifierContract

    class TestMyNotifier(NotifierContract):
        @pytest.fixture
        def notifier(self, my_fake_server): ...
        @pytest.fixture
        def good_message(self): ...
        ...

The checks: bad addresses are refused with a reason that does not repeat
the address; a refused recipient is a *permanent* failure and a provider
outage a *transient* one; sending never raises; no secret, phone number or
e-mail address appears in a repr, a result, or the log.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pxr.channels import AddressRefused, Channel, DeliveryStatus, Notifier
from pxr.ledger.contract import LedgerContract
from pxr.model import Customer, Message
from pxr.testing import message_for

__all__ = ["ChannelContract", "LedgerContract", "NotifierContract"]


class ChannelContract:
    """What every :class:`~pxr.channels.Channel` must do.

    Fixtures to provide: ``channel``, ``reachable`` (a customer the channel
    can reach) and ``unreachable`` (a customer with an address the channel
    must refuse).
    """

    def test_reachable_customer_gets_an_address(
        self, channel: Channel, reachable: Customer
    ) -> None:
        """A customer with a good contact point is reachable."""
        assert channel.address_for(reachable)

    def test_bad_address_is_refused_with_a_reason(
        self, channel: Channel, unreachable: Customer
    ) -> None:
        """A bad address raises AddressRefused, with a reason that does not repeat it."""
        with pytest.raises(AddressRefused) as caught:
            channel.address_for(unreachable)
        assert caught.value.reason
        assert caught.value.channel == channel.name
        for secret in _personal(unreachable):
            assert secret not in str(caught.value)

    def test_customer_without_address_is_skipped(self, channel: Channel) -> None:
        """No contact point: ``None``, so the next channel is tried."""
        assert channel.address_for(Customer(id="nobody")) is None

    def test_shape_keeps_the_message_for_this_channel(
        self, channel: Channel, reachable: Customer
    ) -> None:
        """Shaping returns a message still addressed through this channel."""
        address = channel.address_for(reachable)
        assert address is not None
        shaped = channel.shape(message_for(channel.name, address))
        assert shaped.channel == channel.name
        assert shaped.text


def _personal(customer: Customer) -> list[str]:
    values = [customer.phone, customer.email, customer.messenger, *customer.contacts.values()]
    return [v for v in values if v]


class NotifierContract:
    """What every :class:`~pxr.channels.Notifier` must do.

    Fixtures to provide: ``notifier`` (talking to a fake provider),
    ``good_message`` (one the provider accepts), ``refused_message`` (one
    whose recipient the provider refuses for good), ``outage_notifier`` (a
    notifier whose provider is down or answers 5xx) and ``secrets`` (strings
    that must never appear: tokens, passwords).

    ``server_loggers`` names loggers of the fake provider your tests run
    (its own log may show addresses; yours must not).
    """

    server_loggers: tuple[str, ...] = ()

    def test_good_message_is_sent(self, notifier: Notifier, good_message: Message) -> None:
        """The provider accepted it."""
        assert notifier.send(good_message).status is DeliveryStatus.SENT

    def test_refused_recipient_is_permanent(
        self, notifier: Notifier, refused_message: Message
    ) -> None:
        """A recipient the provider refuses for good: try the next channel."""
        assert notifier.send(refused_message).status is DeliveryStatus.PERMANENT

    def test_outage_is_transient(self, outage_notifier: Notifier, good_message: Message) -> None:
        """A provider that is down: try again later, never raise."""
        assert outage_notifier.send(good_message).status is DeliveryStatus.TRANSIENT

    def test_no_secrets_or_addresses_leak(
        self,
        notifier: Notifier,
        refused_message: Message,
        good_message: Message,
        secrets: list[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Not in the repr, not in a result's detail, not in the log."""
        caplog.set_level(logging.DEBUG)
        results: list[Any] = [notifier.send(refused_message), notifier.send(good_message)]
        logged = [
            record.getMessage()
            for record in caplog.records
            if not record.name.startswith(self.server_loggers)
        ]
        shown = [repr(notifier), *(r.detail or "" for r in results), *logged]
        for text in shown:
            for secret in [*secrets, refused_message.to, good_message.to]:
                assert secret not in text, f"{secret!r} leaked"

    def test_channel_name_is_declared(self, notifier: Notifier) -> None:
        """The notifier says which channel it sends."""
        assert isinstance(notifier.channel, str)
        assert notifier.channel
