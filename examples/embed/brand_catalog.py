"""Your brand's wording: a catalog that overrides pxr's messages, locale by locale.

``locale/pl/LC_MESSAGES/acme.po`` translates one pxr message differently;
every other message stays pxr's own.
"""

from collections.abc import Callable
from pathlib import Path

import pxr

LOCALE_DIR = Path(__file__).parent / "locale"


@pxr.hookimpl
def register_catalogs(register: Callable[[str, Path], None]) -> None:
    """Register the "acme" domain; it is looked up before pxr's."""
    register("acme", LOCALE_DIR)
