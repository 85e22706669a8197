"""pxr's catalogs: complete, consistent, current, and overridable by a host."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shlex
import shutil
import string
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from pxr import Compensation, Customer, Money, hookimpl
from pxr.channels.gsm import is_gsm7, normalize_spaces
from pxr.i18n import LOCALE_DIR, SHIPPED, fallback_chain, translator
from pxr.messages import compose, join, render
from pxr.money import in_euro_if_bulgarian_lev
from pxr.plugins import Plugins

from .conftest import at

ROOT = Path(__file__).parent.parent


def po(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "pxr.po").open("rb") as stream:
        return read_po(stream, locale=language)


def template() -> Catalog:
    with (LOCALE_DIR / "pxr.pot").open("rb") as stream:
        return read_po(stream)


def strings(value: object) -> tuple[str, ...]:
    """A message's id or string as a tuple (plural entries have several)."""
    if isinstance(value, str):
        return (value,)
    assert isinstance(value, tuple | list)
    return tuple(str(v) for v in value)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def ids(catalog: Catalog) -> set[object]:
    return {m.id for m in catalog if m.id}


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    catalog = po(language)
    for message in catalog:
        if not message.id:
            continue
        assert all(strings(message.string)), f"{language}: {message.id!r} is untranslated"
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
    assert not catalog.obsolete


@pytest.mark.parametrize("language", SHIPPED)
def test_no_header_is_fuzzy_and_its_fields_are_filled(language: str) -> None:
    """``pybabel compile`` skips a catalog whose header is fuzzy, silently."""
    catalog = po(language)
    assert not catalog.fuzzy
    header = dict(catalog.mime_headers)
    for field in ("Last-Translator", "Language-Team", "PO-Revision-Date"):
        assert header[field]
        assert not any(word in header[field] for word in ("FULL NAME", "EMAIL", "YEAR", "LL@"))


def test_every_entry_tells_translators_what_each_placeholder_holds() -> None:
    for message in template():
        if not message.id:
            continue
        comment = " ".join(message.auto_comments)
        assert comment.startswith("NOTE:"), f"{message.id!r} has no translator comment"
        for name in set().union(*(fields(s) for s in strings(message.id))):
            assert f"{{{name}}}" in comment, f"{message.id!r}: the comment does not explain {name}"


@pytest.mark.parametrize("language", SHIPPED)
def test_gnu_msgfmt_check_is_clean(language: str) -> None:
    """What Poedit runs on save; requires GNU gettext (``apt-get install gettext``)."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt is not None, "msgfmt not found: install GNU gettext (apt-get install gettext)"
    path = LOCALE_DIR / language / "LC_MESSAGES" / "pxr.po"
    result = subprocess.run(  # noqa: S603 - GNU msgfmt on a catalog of ours
        [msgfmt, "-c", "-o", os.devnull, str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("language", SHIPPED)
def test_placeholders_match_the_source(language: str) -> None:
    """A translation uses only the source's fields, and drops none but ``name``."""
    for message in po(language):
        if not message.id:
            continue
        wanted = set().union(*(fields(s) for s in strings(message.id)))
        for text in strings(message.string):
            got = fields(text)
            assert got <= wanted, f"{language}: {text!r} adds {got - wanted}"
            assert wanted - got <= {"name"}, f"{language}: {text!r} drops {wanted - got}"


@pytest.mark.parametrize("language", SHIPPED)
def test_plural_entries_have_the_forms_the_language_needs(language: str) -> None:
    needed = get_plural(language).num_plurals
    plurals = [m for m in po(language) if isinstance(m.id, tuple)]
    assert plurals
    for message in plurals:
        assert len(strings(message.string)) == needed, f"{language}: {message.id!r}"


@pytest.mark.parametrize("language", SHIPPED)
def test_no_catalog_is_stale_against_the_template(language: str) -> None:
    assert ids(po(language)) == ids(template())


def test_the_template_is_current_with_the_source() -> None:
    """Re-extracting from ``src/pxr`` gives exactly the committed ``pxr.pot``."""
    method_map = [("**.py", "python")]
    extracted = {
        (message, tuple(comments))
        for _, _, message, comments, _ in extract_from_dir(
            str(ROOT / "src" / "pxr"), method_map, comment_tags=("NOTE:",)
        )
    }
    assert extracted == {(m.id, tuple(m.auto_comments)) for m in template() if m.id}


@pytest.mark.parametrize("language", SHIPPED)
def test_compiled_catalogs_match_their_po_files(language: str) -> None:
    """Every translation in the ``.po`` is in the shipped ``.mo``, and nothing else.

    Compared message by message, not byte by byte: the header names the Babel
    version that compiled it, which differs between machines.
    """
    with (LOCALE_DIR / language / "LC_MESSAGES" / "pxr.mo").open("rb") as stream:
        compiled = read_mo(stream)

    def pairs(catalog: Catalog) -> dict[tuple[str, ...], tuple[str, ...]]:
        return {
            tuple(strings(m.id)): tuple(strings(m.string))
            for m in catalog
            if m.id and m.string and not m.fuzzy
        }

    assert pairs(compiled) == pairs(po(language)), (
        f"run: pybabel compile -d src/pxr/locale -D pxr ({language})"
    )


# ------------------------------------------------------------------ the workflow


def documented(arguments: list[str], locale_dir: Path) -> list[str]:
    """A documented pybabel command, pointed at a copy of the catalogs."""
    return [
        str(Path(sys.executable).with_name("pybabel")),
        *(a.replace("src/pxr/locale", str(locale_dir)) for a in arguments),
    ]


def run_documented(arguments: list[str], locale_dir: Path) -> str:
    result = subprocess.run(  # noqa: S603 - pybabel from this environment
        documented(arguments, locale_dir), cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout + result.stderr


def workflow() -> Any:
    """scripts/translations.py, whose commands the docs give verbatim."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        "translations", ROOT / "scripts" / "translations.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_give_the_commands_the_script_runs() -> None:
    docs = (ROOT / "docs" / "localization.md").read_text(encoding="utf-8")
    script = workflow()
    for arguments in (script.EXTRACT, script.UPDATE, script.COMPILE):
        assert shlex.join(["pybabel", *arguments]) in docs


def test_the_documented_extract_gives_the_committed_template(tmp_path: Path) -> None:
    """Messages and translator comments, as the installed Babel extracts them."""
    run_documented(workflow().EXTRACT, tmp_path)
    with (tmp_path / "pxr.pot").open("rb") as stream:
        extracted = read_po(stream)

    def entries(catalog: Catalog) -> set[tuple[object, tuple[str, ...]]]:
        return {(m.id, tuple(m.auto_comments)) for m in catalog if m.id}

    assert entries(extracted) == entries(template())


def test_the_documented_update_keeps_every_translation(tmp_path: Path) -> None:
    locale_dir = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale_dir)
    run_documented(workflow().UPDATE, locale_dir)
    for language in SHIPPED:
        with (locale_dir / language / "LC_MESSAGES" / "pxr.po").open("rb") as stream:
            updated = read_po(stream, locale=language)
        assert not updated.fuzzy
        assert {(m.id, strings(m.string), m.fuzzy) for m in updated if m.id} == {
            (m.id, strings(m.string), m.fuzzy) for m in po(language) if m.id
        }


def test_a_translator_edit_compiles_with_the_documented_command_and_shows(
    tmp_path: Path,
) -> None:
    """Edit a .po as Poedit would, run the documented compile, render: the edit is there."""
    locale_dir = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale_dir)
    path = locale_dir / "pl" / "LC_MESSAGES" / "pxr.po"
    with path.open("rb") as stream:
        catalog = read_po(stream, locale="pl")
    catalog["No need to do anything."].string = "Nic nie musisz robić, zajmiemy się wszystkim."
    with path.open("wb") as stream:
        write_po(stream, catalog, width=100)
    output = run_documented(workflow().COMPILE, locale_dir)
    for language in SHIPPED:
        assert f"LC_MESSAGES/pxr.po to {locale_dir}/{language}/LC_MESSAGES/pxr.mo" in output
    assert "skipping" not in output
    rendered = render(
        "notice", customer("pl-PL"), "PL-1", form="short", catalogs=(("pxr", locale_dir),)
    )
    assert rendered.text.endswith("Nic nie musisz robić, zajmiemy się wszystkim.")


def test_romanian_uses_comma_below_never_the_cedilla() -> None:
    text = "".join("".join(strings(m.string)) for m in po("ro"))
    assert not set(text) & set("şţŞŢ")
    assert set(text) & set("șț")


@pytest.mark.parametrize("language", ["en", "nl", "nl_BE"])
def test_dutch_and_english_stay_in_gsm7(language: str) -> None:
    """No en dash or curly quote sneaks in and turns a cheap SMS into UCS-2."""
    for message in po(language):
        for text in strings(message.string):
            assert is_gsm7(normalize_spaces(text)), f"{language}: {text!r}"


# ------------------------------------------------------------------ rendering


def customer(locale: str, **extra: object) -> Customer:
    return Customer(id="c", locale=locale, timezone="Europe/Warsaw", **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("pl-PL", "Przepraszamy, Twoje zamówienie PL-1 jest opóźnione – to już 5 godzin."),
        ("bg-BG", "Съжаляваме, поръчката Ви PL-1 закъснява с 5 часа."),
        ("nl-NL", "Het spijt ons dat je bestelling PL-1 al 5 uur vertraging heeft."),
        ("nl-BE", "Het spijt ons dat uw bestelling PL-1 al 5 uur vertraging heeft."),
        ("ro-RO", "Ne pare rău că comanda dumneavoastră PL-1 întârzie cu 5 ore."),
        ("en-GB", "We're sorry that your order PL-1 is 5 hours late."),
    ],
)
def test_each_customer_reads_their_own_language(locale: str, expected: str) -> None:
    rendered = render(
        "notice", customer(locale), "PL-1", topic="delivery", delay=dt.timedelta(hours=5)
    )
    assert rendered.text.startswith(expected)


def test_plural_forms_follow_cldr() -> None:
    def title(locale: str, n: int) -> str:
        parts = compose("notice", customer(locale), "PL-1", form="email")
        return join([parts] * n, locale).title or ""

    assert title("pl", 2) == "2 wiadomości od nas"
    assert title("pl", 5) == "5 wiadomości od nas"
    assert title("ro", 2) == "2 mesaje de la noi"
    assert title("ro", 20) == "20 de mesaje de la noi"
    assert title("bg", 3) == "3 съобщения от нас"
    assert title("en", 2) == "2 updates from us"


def test_fallback_chain() -> None:
    assert fallback_chain("pl_PL", "ro") == ("pl_PL", "pl", "ro", "en")
    assert fallback_chain("de_AT") == ("de_AT", "de", "en")


def test_a_locale_without_a_catalog_falls_back_and_is_reported_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="pxr.i18n")
    german = customer("de-AT", name="Lena")
    rendered = render("notice", german, "AT-1", topic="delivery", fallback_locale="ro")
    assert rendered.text.startswith("Ne pare rău că comanda dumneavoastră AT-1 întârzie.")
    render("notice", german, "AT-2", topic="delivery", fallback_locale="ro")
    assert caplog.text.count("no catalog for locale 'de_AT'") == 1


def test_amounts_and_dates_are_in_the_customer_locale_and_zone() -> None:
    voucher = Compensation(
        kind="voucher",
        amount=Money(Decimal("20"), "EUR"),
        code="ABCDE-FGHJK",
        expires_at=dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC),
    )
    sofia = Customer(id="c", locale="bg-BG", timezone="Europe/Sofia")
    text = render("notice", sofia, "BG-1", compensations=[voucher]).text
    assert "20,00\u00a0€" in text
    # Expiring at 15:00 Sofia time on 1 June, the voucher is whole until 31 May.
    assert "до 31.05.2026\u202fг. включително." in text


def test_bulgarian_leva_after_the_euro_are_paid_in_euro() -> None:
    leva = Money(Decimal("195.58"), "BGN")
    assert in_euro_if_bulgarian_lev(leva, dt.date(2025, 12, 31)) == leva
    assert in_euro_if_bulgarian_lev(leva, dt.date(2026, 1, 2)) == Money(Decimal("100.00"), "EUR")


def test_email_form_has_a_subject_and_a_greeting() -> None:
    rendered = render(
        "notice", customer("nl-NL", name="Sanne"), "NL-1", form="email", topic="delivery"
    )
    assert rendered.title == "Sorry, je bestelling NL-1 heeft vertraging"
    assert rendered.text.startswith("Beste Sanne,\n\n")


def test_polish_greets_without_the_name_it_would_have_to_decline() -> None:
    rendered = render("notice", customer("pl", name="Anna"), "PL-1", form="email")
    assert rendered.text.startswith("Dzień dobry,\n\n")


# ------------------------------------------------------------------ host catalogs


def host_catalog(tmp_path: Path, language: str, entries: dict[object, object]) -> Path:
    """A host's compiled catalog, domain 'acme', as pybabel compile would write it."""
    catalog = Catalog(locale=language, domain="acme")
    for msgid, msgstr in entries.items():
        catalog.add(msgid, msgstr)  # type: ignore[arg-type]
    folder = tmp_path / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "acme.mo").open("wb") as stream:
        write_mo(stream, catalog)
    return tmp_path


def brand_plugin(directory: Path) -> object:
    class Brand:
        __name__ = "acme-brand"

        @hookimpl
        def register_catalogs(self, register: Callable[[str, Path], None]) -> None:
            register("acme", directory)

    return Brand()


def test_a_host_catalog_overrides_one_message_and_keeps_the_rest(tmp_path: Path) -> None:
    directory = host_catalog(
        tmp_path,
        "pl",
        {"No need to do anything.": "Nie musisz nic robić – ACME dba o wszystko."},
    )
    plugins = Plugins(load_entry_points=False)
    plugins.add(brand_plugin(directory), name="acme-brand")
    catalogs = tuple((d, p) for d, p in plugins.registry.catalogs if d != "pxr")
    rendered = render(
        "notice", customer("pl-PL"), "PL-1", form="short", topic="delivery", catalogs=catalogs
    )
    assert rendered.text.startswith("Przepraszamy, paczka PL-1 jest opóźniona.")
    assert rendered.text.endswith("Nie musisz nic robić – ACME dba o wszystko.")


def test_an_untranslated_plural_filled_with_english_does_not_hide_pxr_translation(
    tmp_path: Path,
) -> None:
    """pybabel compile fills an untranslated plural with the msgids: that is not a translation."""
    source = ("{count} update from us", "{count} updates from us")
    directory = host_catalog(tmp_path, "bg", {source: source})
    t = translator("bg", "en", (("acme", directory),))
    assert t.ngettext(*source, 3) == "{count} съобщения от нас"


def test_pxr_catalogs_command_shows_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    from pxr.cli import main  # noqa: PLC0415

    assert main(["catalogs"]) == 0
    out = capsys.readouterr().out
    for language in SHIPPED:
        assert f"pxr          {language:<8}" in out
    assert "100%" in out


def test_the_documented_brand_catalog_overrides_one_message() -> None:
    """docs/localization.md's example: examples/embed/brand_catalog.py and its acme.po."""
    import importlib.util  # noqa: PLC0415

    from pxr import MemoryLedger, Recovery, Signal, loads_policy  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        "brand_catalog", Path(__file__).parent.parent / "examples" / "embed" / "brand_catalog.py"
    )
    assert spec is not None
    assert spec.loader is not None
    brand_catalog = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(brand_catalog)
    plugins = Plugins(load_entry_points=False)
    plugins.add(brand_catalog, name="acme")
    policy = loads_policy(
        '[[thresholds]]\nname = "late"\ntopic = "delivery"\nmetric = "delay"\nunit = "hours"\n'
        "above = { minor = 1 }\n",
        plugins.registry,
    )
    anna = Customer(id="c", locale="pl-PL", phone="+48512345678")
    recovery = Recovery(policy, MemoryLedger(), plugins=plugins, customers=[anna])
    (message,) = [
        a
        for a in recovery.observe(
            Signal(customer="c", subject="PL-1", metric="delay", value=2, at=at())
        )
        if a.action == "message"
    ]
    text = message.to_dict()["text"]
    assert text.startswith("Przepraszamy, paczka PL-1 jest opóźniona")  # pxr's own
    assert text.endswith("Nie musisz nic robić – resztą zajmie się ACME.")  # the brand's
