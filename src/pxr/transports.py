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
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pxr.channels import Notifier
from pxr.errors import PolicyError, ValidationError
from pxr.registry import Registry, lookup

__all__ = ["load_transports"]


def load_transports(path: str | os.PathLike[str], registry: Registry) -> dict[str, Notifier]:
    """Notifiers by channel name. Raises :class:`~pxr.errors.PolicyError` naming file and key."""
    name = os.fspath(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(name, "", f"cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PolicyError(name, "", f"not valid TOML: {error}") from None
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
        raise PolicyError(name, error.where, error.problem) from None
    return notifiers
