"""The transports file: loading, validating (``pxr check --transports``), closing."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxr.cli import main
from pxr.errors import PolicyError, TransportsError
from pxr.plugins import get_plugins
from pxr.transports import check_transports, load_transports

from .servers import TWILIO_SID, TWILIO_TOKEN

GOOD = f"""
[sms]
transport = "twilio"
account_sid = "{TWILIO_SID}"
auth_token_env = "PXR_TEST_TWILIO_TOKEN"
from = "+48500000000"

[email]
transport = "smtp"
host = "smtp.example.com"
from = "care@example.com"
username = "care@example.com"
password_env = "PXR_TEST_SMTP_PASSWORD"
unsubscribe_url = "https://shop.example/unsubscribe?t={{token}}"
unsubscribe_secret_env = "PXR_TEST_UNSUBSCRIBE"
"""

SECRET = "smtp-password-never-shown"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PXR_TEST_TWILIO_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("PXR_TEST_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("PXR_TEST_UNSUBSCRIBE", "unsubscribe-secret")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "transports.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.usefixtures("secrets")
def test_a_good_file_checks_out(tmp_path: Path) -> None:
    found = check_transports(write(tmp_path, GOOD), get_plugins().registry)
    assert found == {"sms": "twilio", "email": "smtp"}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("host = ", "hots = "), "email.hots"),  # a typo is not ignored
        (('transport = "smtp"', 'transport = "smpt"'), "email.transport"),
        (("[sms]", "[sns]"), "sns"),
        (
            ('host = "smtp.example.com"', 'host = "smtp.example.com"\nsecurity = "none"'),
            "email.security",
        ),
        (("https://shop", "http://shop"), "email.unsubscribe_url"),
    ],
)
@pytest.mark.usefixtures("secrets")
def test_a_bad_setting_is_named_by_file_and_key(
    tmp_path: Path, change: tuple[str, str], where: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(TransportsError) as raised:
        check_transports(path, get_plugins().registry)
    assert raised.value.path == str(path)
    assert raised.value.where == where
    assert isinstance(raised.value, PolicyError)  # callers that catch PolicyError still do


def test_a_missing_secret_names_its_environment_variable(
    tmp_path: Path, secrets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PXR_TEST_SMTP_PASSWORD")
    with pytest.raises(TransportsError) as raised:
        check_transports(write(tmp_path, GOOD), get_plugins().registry)
    assert raised.value.where == "email.password_env"
    assert "PXR_TEST_SMTP_PASSWORD" in str(raised.value)


def test_not_toml_says_where(tmp_path: Path) -> None:
    with pytest.raises(TransportsError, match="line 3"):
        load_transports(
            write(tmp_path, "[sms]\ntransport = 'twilio'\nfrom = \n"), get_plugins().registry
        )


@pytest.mark.usefixtures("secrets")
def test_pxr_check_transports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    assert main(["check", "--transports", str(path)]) == 0
    out = capsys.readouterr().out
    assert out == f"{path}: ok — sms via twilio, email via smtp\n"


@pytest.mark.usefixtures("secrets")
def test_pxr_check_transports_refuses_a_login_in_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2; stderr names file and key; the password is not shown."""
    path = write(tmp_path, GOOD.replace("[email]", '[email]\nsecurity = "none"'))
    assert main(["check", "--transports", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"pxr: {path}: email.security: ")
    assert SECRET not in captured.err


def test_pxr_check_needs_something_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "--transports" in capsys.readouterr().err
