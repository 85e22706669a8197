"""The transports file: which notifier sends each channel, and its settings.

```toml
[sms]
transport = "twilio"
account_sid = "AC…"
auth_token_env = "TWILIO_AUTH_TOKEN"   # the secret comes from the environment
from = "+48…"

[email]
transport = "smtp"
host = "smtp.example.com"
from = "care@example.com"
username = "care@example.com"
password_env = "SMTP_PASSWORD"
```

Each table is named after a channel; ``transport`` names a notifier
registered through the ``register_notifiers`` hook.

:func:`check_transports` (``pxr check --transports FILE``) validates a file
without sending anything: every table, every key, and that every secret's
environment variable is set. The notifiers :func:`load_transports` returns
hold connections open between sends: close them at the end of a dispatch run
with :func:`~pxr.channels.close_notifiers`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pxr.channels import Notifier, close_notifiers
from pxr.errors import TransportsError, ValidationError
from pxr.registry import Registry, lookup

__all__ = ["check_transports", "close_notifiers", "load_transports"]


def load_transports(path: str | os.PathLike[str], registry: Registry) -> dict[str, Notifier]:
    """Notifiers by channel name.

    Raises :class:`~pxr.errors.TransportsError` (a
    :class:`~pxr.errors.PolicyError`) naming the file and the key.
    """
    name = os.fspath(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise TransportsError(name, "", f"cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise TransportsError(name, "", f"not valid TOML: {error}") from None
    notifiers: dict[str, Notifier] = {}
    try:
        for channel, settings in data.items():
            if not isinstance(settings, dict):
                raise ValidationError(channel, "expected a table")
            lookup("channel", registry.channels, channel, channel)
            factory = lookup(
                "transport", registry.notifiers, settings.get("transport"), f"{channel}.transport"
            )
            notifier = factory(settings)
            notifiers[channel] = notifier
    except ValidationError as error:
        close_notifiers(notifiers.values())
        raise TransportsError(name, error.where, error.problem) from None
    return notifiers


def check_transports(path: str | os.PathLike[str], registry: Registry) -> dict[str, str]:
    """Validate a transports file: ``{channel: transport}`` if every table can be used.

    Builds each notifier as a dispatcher would (settings, secrets from the
    environment, SMTP security), opens no connection and sends nothing.
    Raises :class:`~pxr.errors.TransportsError` naming the file and the key.
    """
    notifiers = load_transports(path, registry)
    close_notifiers(notifiers.values())
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return {channel: str(data[channel]["transport"]) for channel in notifiers}
