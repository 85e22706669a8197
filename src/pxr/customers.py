"""Where customers come from: the host.

pxr keeps no list of customers of its own. The engine asks a
:class:`CustomerDirectory` for the customer a signal names and the
dispatcher asks it again when it sends, so a changed address or language is
used at once. :class:`InMemoryDirectory` suits tests, simulations and small
hosts; :class:`LookupDirectory` wraps the host's own look-up (a database
query, an API call) with a bounded, thread-safe cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from pxr.model import Customer

__all__ = ["CustomerDirectory", "InMemoryDirectory", "LookupDirectory"]


@runtime_checkable
class CustomerDirectory(Protocol):
    """Looks customers up by id."""

    def get(self, customer_id: str) -> Customer | None:
        """The customer with this id, or ``None`` if the host does not know them."""
        ...


class InMemoryDirectory:
    """Customers held in a dictionary: for tests, ``pxr simulate`` and small hosts."""

    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self._customers = {c.id: c for c in customers}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemoryDirectory({len(self._customers)} customers)"

    def __len__(self) -> int:
        return len(self._customers)

    def add(self, customer: Customer) -> None:
        """Make ``customer`` known, or replace what was known of them."""
        with self._lock:
            self._customers[customer.id] = customer

    def get(self, customer_id: str) -> Customer | None:
        """The customer, or ``None``."""
        return self._customers.get(customer_id)


class LookupDirectory:
    """The host's look-up function behind a bounded cache.

    ``lookup(customer_id)`` returns a :class:`~pxr.Customer` or ``None``.
    At most ``maxsize`` customers are kept, least recently used first out;
    unknown ids are not cached, so a customer created a moment later is
    found. :meth:`forget` drops one customer after the host changed them.
    """

    def __init__(self, lookup: Callable[[str], Customer | None], *, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._lookup = lookup
        self._maxsize = maxsize
        self._cache: OrderedDict[str, Customer] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LookupDirectory(cached={len(self._cache)}, maxsize={self._maxsize})"

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, customer_id: str) -> Customer | None:
        """The customer, from the cache or from the host's look-up."""
        with self._lock:
            found = self._cache.get(customer_id)
            if found is not None:
                self._cache.move_to_end(customer_id)
                return found
        customer = self._lookup(customer_id)
        if customer is None:
            return None
        with self._lock:
            self._cache[customer_id] = customer
            self._cache.move_to_end(customer_id)
            while len(self._cache) > self._maxsize:
                self._cache.popitem(last=False)
        return customer

    def forget(self, customer_id: str) -> None:
        """Drop one customer from the cache; the next look-up asks the host again."""
        with self._lock:
            self._cache.pop(customer_id, None)
