"""The README's set-up commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_has_two_setup_commands() -> None:
    install_and_run, install_and_test = readme_commands()[:2]
    assert "pxr simulate examples/" in install_and_run
    assert "--store" in install_and_run  # the embedded SQLite ledger
    assert "pytest" in install_and_test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[1] in ci


def test_the_example_files_named_in_the_readme_exist() -> None:
    for path in re.findall(r"examples/\S+\.(?:toml|jsonl)", readme_commands()[0]):
        assert (ROOT / path).is_file(), path
