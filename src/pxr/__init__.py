"""pxr — Proactive Experience Recovery.

Notice that a customer's experience has gone wrong, decide what to give
them, and tell them first, in their own language, over a channel that
reaches them.
"""

from __future__ import annotations

from pxr.channels import (
    AddressRefused,
    Channel,
    DeliveryResult,
    DeliveryStatus,
    Notifier,
    NotifierFactory,
)
from pxr.compensation import CompensationFactory, CompensationPolicy, CompensationRequest
from pxr.engine import Recovery
from pxr.errors import (
    EventError,
    LedgerError,
    PolicyError,
    PxrError,
    UnknownKindError,
    ValidationError,
)
from pxr.hookspecs import hookimpl
from pxr.ledger import Ledger, LedgerFactory, OutboxEntry, open_ledger
from pxr.ledger.memory import MemoryLedger
from pxr.ledger.sqlite import SQLiteLedger
from pxr.model import (
    Action,
    Breach,
    Compensation,
    Customer,
    Message,
    Severity,
    Signal,
)
from pxr.money import Money
from pxr.plugins import Plugins
from pxr.policy import Policy, load_policy, loads_policy
from pxr.registry import ThresholdFactory
from pxr.thresholds import Threshold

__version__ = "0.1.0.dev0"

__all__ = [
    "Action",
    "AddressRefused",
    "Breach",
    "Channel",
    "Compensation",
    "CompensationFactory",
    "CompensationPolicy",
    "CompensationRequest",
    "Customer",
    "DeliveryResult",
    "DeliveryStatus",
    "EventError",
    "Ledger",
    "LedgerError",
    "LedgerFactory",
    "MemoryLedger",
    "Message",
    "Money",
    "Notifier",
    "NotifierFactory",
    "OutboxEntry",
    "Plugins",
    "Policy",
    "PolicyError",
    "PxrError",
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
