"""One ledger for every process of an application, named by a URL.

``PXR_LEDGER`` names it (``postgresql://pxr@db.internal/pxr`` in production,
``sqlite:///pxr-ledger.db`` on a laptop); the same variable tells the ``pxr``
commands where to look.
"""

import os

from pxr import Recovery, load_policy, open_ledger


def make_recovery(policy_path: str) -> Recovery:
    """A recovery engine on the ledger ``$PXR_LEDGER`` names (a local SQLite file if unset)."""
    ledger = open_ledger(os.environ.get("PXR_LEDGER", "sqlite:///pxr-ledger.db"))
    return Recovery(load_policy(policy_path), ledger)
