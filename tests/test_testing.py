"""pxr.testing: the recording helpers need only pxr; the contract suites need pytest."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import pxr.testing
from pxr.testing import contracts

# Runs in a fresh interpreter where importing pytest (or _pytest) fails, as in
# a host's environment without pytest installed.
WITHOUT_PYTEST = textwrap.dedent(
    """
    import sys

    class NoPytest:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {"pytest", "_pytest"}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoPytest())

    from pxr.channels import DeliveryStatus
    from pxr.testing import *

    notifier = RecordingNotifier("sms", script=[DeliveryStatus.TRANSIENT])
    first = notifier.send(message_for("sms", "+48600100200"))
    second = notifier.send(message_for("sms", "+48600100200", text="Again."))
    print(first.status.value, second.status.value, len(notifier.sent), notifier.sent[1].text)
    print(sorted(m for m in sys.modules if m.partition(".")[0] in {"pytest", "_pytest"}))
    try:
        import pxr.testing
        pxr.testing.NotifierContract
    except ImportError as error:
        print(error)
    """
)


def test_recording_helpers_work_without_pytest() -> None:
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", WITHOUT_PYTEST], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == [
        "transient sent 2 Again.",
        "[]",
        "pxr.testing.NotifierContract is a pytest suite and needs pytest: pip install pytest",
    ]


def test_the_contract_suites_are_importable_from_pxr_testing_as_before() -> None:
    """Where pytest is installed, the old import path gives the same classes."""
    assert pxr.testing.ChannelContract is contracts.ChannelContract
    assert pxr.testing.NotifierContract is contracts.NotifierContract


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="LedgerContractt"):
        _ = pxr.testing.LedgerContractt
