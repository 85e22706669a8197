"""Masks for personal data in reprs, logs and error messages."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """Keep the country prefix and the last three digits: ``+48******678``."""
    if not phone:
        return repr(phone)
    digits = phone.strip()
    if len(digits) <= 6:
        return "***"
    return digits[:3] + "*" * (len(digits) - 6) + digits[-3:]


def mask_email(email: str | None) -> str:
    """Keep the first letter and the domain: ``a***@example.com``."""
    if not email:
        return repr(email)
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_address(address: str | None) -> str:
    """Mask whatever kind of address it is (phone, e-mail, an opaque id)."""
    if not address:
        return repr(address)
    if "@" in address:
        return mask_email(address)
    if address.startswith("+") or address.replace(" ", "").isdigit():
        return mask_phone(address)
    return address[:2] + "***"


def redacted(_value: object) -> str:
    """A repr for a field that must never be shown."""
    return "'***'"
