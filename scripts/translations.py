"""Run the translator workflow of docs/localization.md: extract, update, compile, check.

The ``.po`` files are the source of truth for every translation: people edit
them (Poedit, Weblate, a text editor) and this script never writes a
``msgstr``. It runs the documented commands in order:

1. ``pybabel extract`` re-reads the msgids and ``# NOTE:`` comments from the
   source into ``src/pxr/locale/pxr.pot``;
2. ``pybabel update`` merges the template into every ``.po``, keeping each
   translation (a changed msgid becomes fuzzy, with the old text as a hint);
3. ``pybabel compile`` writes the ``.mo`` files (fuzzy entries are skipped);
4. ``msgfmt -c`` (GNU gettext) checks every catalog as Poedit does on save.

Usage: ``python scripts/translations.py [extract|update|compile|check|all]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "pxr" / "locale"
POT = LOCALE / "pxr.pot"
PYBABEL = str(Path(sys.executable).with_name("pybabel"))

#: The documented commands, exactly as docs/localization.md gives them.
EXTRACT = [
    "extract",
    "-F",
    "babel.cfg",
    "-o",
    "src/pxr/locale/pxr.pot",
    "--add-comments=NOTE:",
    "--no-location",
    "--sort-output",
    "--width=100",
    "--project=pxr",
    "--version=0.1",
    "--copyright-holder=the pxr developers",
    "--msgid-bugs-address=pxr developers",
    ".",
]
UPDATE = [
    "update",
    "-i",
    "src/pxr/locale/pxr.pot",
    "-d",
    "src/pxr/locale",
    "-D",
    "pxr",
    "--width=100",
    "--ignore-obsolete",
]
COMPILE = ["compile", "-d", "src/pxr/locale", "-D", "pxr", "--statistics"]


def pybabel(arguments: list[str]) -> None:
    subprocess.run([PYBABEL, *arguments], cwd=ROOT, check=True)


def check() -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        raise SystemExit("msgfmt not found: install GNU gettext (apt-get install gettext)")
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/pxr.po")):
        subprocess.run([msgfmt, "-c", "-o", "/dev/null", str(po)], check=True)
        print(f"msgfmt -c: {po.relative_to(ROOT)} is clean")


STEPS = {
    "extract": lambda: pybabel(EXTRACT),
    "update": lambda: pybabel(UPDATE),
    "compile": lambda: pybabel(COMPILE),
    "check": check,
}


def main(argv: list[str]) -> None:
    wanted = argv or ["all"]
    for name in wanted:
        if name != "all" and name not in STEPS:
            raise SystemExit(f"unknown step {name!r}: choose from {', '.join(STEPS)} or all")
    for name, step in STEPS.items():
        if name in wanted or "all" in wanted:
            step()


if __name__ == "__main__":
    main(sys.argv[1:])
