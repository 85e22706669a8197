"""The package as a neighbour in a host's process."""

from __future__ import annotations

import subprocess
import sys


def test_the_library_prints_nothing_on_a_hosts_stderr() -> None:
    """A warning from a pxr logger reaches no stream while the host has set
    up no logging (Python's last-resort handler would print it): run in a
    fresh interpreter, as a host would."""
    code = (
        "import logging, pxr\n"
        "logging.getLogger('pxr.channels.http').warning('provider said no')\n"
        "logging.getLogger('elsewhere').warning('the host own warning')\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "provider said no" not in done.stderr
    assert "the host own warning" in done.stderr  # the control: last resort still works
