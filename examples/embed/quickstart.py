"""The first lines of embedding pxr in an application."""

import datetime as dt

from pxr import Customer, Recovery, Signal, SQLiteLedger, load_policy


def customer_from_your_database(customer_id: str) -> Customer | None:
    """pxr keeps no customers: it asks your application (``None``: unknown)."""
    if customer_id != "c-anna":
        return None
    return Customer(id="c-anna", locale="pl-PL", timezone="Europe/Warsaw", phone="+48512345678")


recovery = Recovery(
    load_policy("examples/parcel/policy.toml"),
    SQLiteLedger("pxr-ledger.db"),
    customers=customer_from_your_database,
)
actions = recovery.observe(
    Signal(
        customer="c-anna",
        subject="PL-1001",
        metric="delivery_delay",
        value=26,
        at=dt.datetime.now(dt.UTC),
        context={"order_total": "249.00", "currency": "PLN"},
    )
)
for action in actions:
    print(action.to_dict())
