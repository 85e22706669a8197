"""The documentation stays true: Python comes from tested files, every hook is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pxr import hookspecs

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_python_in_the_docs_is_included_from_a_tested_file(page: Path) -> None:
    for language, body in FENCE.findall(page.read_text(encoding="utf-8")):
        if language != "python":
            continue
        included = SNIPPET.findall(body)
        assert included, f"{page.name}: a Python block must be --8<-- included from examples/"
        assert body.strip() == f'--8<-- "{included[0]}"', f"{page.name}: nothing beside the include"
        assert included[0].startswith("examples/"), included[0]


def test_every_included_example_is_run_by_a_test() -> None:
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    for page in PAGES:
        for path in SNIPPET.findall(page.read_text(encoding="utf-8")):
            assert (ROOT / path).exists(), path
            if path.endswith(".py") and "pxr-webhook" not in path:
                assert Path(path).stem in tests, f"{path} is in the docs but no test runs it"


def test_every_hook_is_in_the_plugin_guide() -> None:
    guide = (DOCS / "plugins.md").read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "pxr_spec")]
    for name in hooks:
        assert f"        - {name}\n" in guide, f"hook {name} is missing from docs/plugins.md"


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        assert str(page.relative_to(DOCS)) in config, f"{page} is not in mkdocs.yml's nav"


def test_the_readme_python_is_the_quickstart() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [body for language, body in FENCE.findall(readme) if language == "python"]
    assert block == (ROOT / "examples" / "embed" / "quickstart.py").read_text(encoding="utf-8")
