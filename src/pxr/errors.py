"""The typed exceptions pxr raises.

Every error says *what* was wrong and *where* (a file, a line, a key), and
never carries personal data: phone numbers and e-mail addresses are masked
before they reach a message.
"""

from __future__ import annotations

__all__ = [
    "CurrencyMismatchError",
    "EventError",
    "LedgerBusyError",
    "LedgerConflict",
    "LedgerError",
    "PolicyError",
    "PxrError",
    "TransportsError",
    "UnknownKindError",
    "ValidationError",
]


class PxrError(Exception):
    """Base class of every error pxr raises on purpose."""


class ValidationError(PxrError, ValueError):
    """A value was rejected at the boundary.

    ``where`` names the field or key (``"signal.at"``,
    ``"thresholds[2].above.major"``); ``problem`` says what was wrong.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)

    def within(self, prefix: str) -> ValidationError:
        """The same error, located under ``prefix`` (``"signal"`` + ``"at"``)."""
        where = f"{prefix}.{self.where}" if self.where else prefix
        return type(self)(where, self.problem)


class UnknownKindError(ValidationError):
    """A policy named a threshold or compensation kind nobody registered."""


class CurrencyMismatchError(ValidationError):
    """Amounts in two currencies met with no rate between them.

    Raised by :class:`~pxr.money.Money` arithmetic and comparisons across
    currencies, and by a conversion for which neither the policy's rates nor
    a euro changeover give a rate. pxr never guesses a rate or skips a cap.
    """


class PolicyError(PxrError):
    """A policy file cannot be used; names the file and the key or line."""

    def __init__(self, path: str, where: str, problem: str) -> None:
        self.path = path
        self.where = where
        self.problem = problem
        location = f"{path}: {where}" if where else path
        super().__init__(f"{location}: {problem}")


class TransportsError(PolicyError):
    """A transports file cannot be used; names the file and the key (``email.security``)."""


class EventError(PxrError):
    """One line of an events file was rejected; the rest can still be read."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path}:{line}: {problem}")


class LedgerError(PxrError):
    """The ledger could not record a step; nothing of that step was kept."""


class LedgerBusyError(LedgerError):
    """Another process held the ledger's lock for longer than the busy timeout."""


class LedgerConflict(LedgerError):
    """The database ended this transaction to let a concurrent one through (a
    deadlock between two batches, say). Nothing of it was kept: run it again."""
