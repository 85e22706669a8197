"""pxr — Proactive Experience Recovery.

Notice that a customer's experience has gone wrong, decide what to give
them, and tell them first, in their own language, over a channel that
reaches them.
"""

from __future__ import annotations

import logging

from pxr.channels import (
    AddressRefused,
    Channel,
    DeliveryResult,
    DeliveryStatus,
    Notifier,
    NotifierFactory,
)
from pxr.compensation import CompensationFactory, CompensationPolicy, CompensationRequest
from pxr.customers import CustomerDirectory, InMemoryDirectory, LookupDirectory
from pxr.engine import Recovery
from pxr.errors import (
    CurrencyMismatchError,
    EventError,
    LedgerError,
    PolicyError,
    PxrError,
    UnknownKindError,
    ValidationError,
)
from pxr.hookspecs import hookimpl
from pxr.ledger import (
    Case,
    CaseStatus,
    Ledger,
    LedgerFactory,
    OutboxEntry,
    OutboxStatus,
    open_ledger,
)
from pxr.ledger.memory import MemoryLedger
from pxr.ledger.sqlite import SQLiteLedger
from pxr.model import (
    Action,
    Breach,
    Compensation,
    Content,
    Customer,
    Message,
    Purpose,
    Reason,
    Severity,
    Signal,
)
from pxr.money import Money, Rates
from pxr.plugins import Plugins
from pxr.policy import Policy, load_policy, loads_policy
from pxr.registry import ThresholdFactory
from pxr.thresholds import Threshold

__version__ = "0.1.0.dev0"

# A library stays quiet unless its host configures logging: without a handler
# of ours, Python's last-resort handler would print warnings on the host's stderr.
logging.getLogger("pxr").addHandler(logging.NullHandler())

__all__ = [
    "Action",
    "AddressRefused",
    "Breach",
    "Case",
    "CaseStatus",
    "Channel",
    "Compensation",
    "CompensationFactory",
    "CompensationPolicy",
    "CompensationRequest",
    "Content",
    "CurrencyMismatchError",
    "Customer",
    "CustomerDirectory",
    "DeliveryResult",
    "DeliveryStatus",
    "EventError",
    "InMemoryDirectory",
    "Ledger",
    "LedgerError",
    "LedgerFactory",
    "LookupDirectory",
    "MemoryLedger",
    "Message",
    "Money",
    "Notifier",
    "NotifierFactory",
    "OutboxEntry",
    "OutboxStatus",
    "Plugins",
    "Policy",
    "PolicyError",
    "Purpose",
    "PxrError",
    "Rates",
    "Reason",
    "Recovery",
    "SQLiteLedger",
    "Severity",
    "Signal",
    "Threshold",
    "ThresholdFactory",
    "UnknownKindError",
    "ValidationError",
    "__version__",
    "hookimpl",
    "load_policy",
    "loads_policy",
    "open_ledger",
]
