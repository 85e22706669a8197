"""Reading a transport's settings table: types checked, secrets from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pxr.errors import ValidationError


def text(settings: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    """A required (or defaulted) string setting."""
    value = settings.get(key, default)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{where}.{key}", "required, a non-empty string")
    return value


def optional(settings: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional string setting."""
    value = settings.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(f"{where}.{key}", "expected a non-empty string")
    return value


def number(settings: Mapping[str, Any], key: str, where: str, default: float) -> float:
    """A positive number setting (seconds, a port)."""
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValidationError(f"{where}.{key}", "expected a positive number")
    return float(value)


def secret(settings: Mapping[str, Any], key: str, where: str) -> str:
    """``key`` itself, or the environment variable named by ``key_env``.

    Prefer ``key_env`` in files: a secret in a file ends up in backups and
    version control. The value never appears in an error.
    """
    found = optional_secret(settings, key, where)
    if found is None:
        raise ValidationError(f"{where}.{key}_env", "required: the environment variable holding it")
    return found


def optional_secret(settings: Mapping[str, Any], key: str, where: str) -> str | None:
    """Like :func:`secret`, but ``None`` when neither ``key`` nor ``key_env`` is given."""
    if key in settings:
        return text(settings, key, where)
    env = settings.get(f"{key}_env")
    if env is None:
        return None
    if not isinstance(env, str) or not env:
        raise ValidationError(f"{where}.{key}_env", "expected an environment variable name")
    value = os.environ.get(env)
    if not value:
        raise ValidationError(f"{where}.{key}_env", f"the environment variable {env} is not set")
    return value


def reject_unknown(settings: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """Refuse keys a transport does not know (a typo would otherwise be ignored)."""
    unknown = sorted(set(settings) - allowed - {"transport"})
    if unknown:
        raise ValidationError(
            f"{where}.{unknown[0]}", f"unknown setting; expected {sorted(allowed)}"
        )
