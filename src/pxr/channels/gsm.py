"""GSM 03.38 encoding and SMS segment counting.

A text that fits the GSM 7-bit default alphabet (with its extension table,
whose characters cost two septets) is sent as GSM-7: 160 septets in one
message, 153 a part when split. Anything else is UCS-2: 70 code units, 67 a
part. An escape pair, or a UTF-16 surrogate pair, is never split across parts.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "is_gsm7",
    "normalize_spaces",
    "sms_encoding",
    "sms_segments",
]

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[]~|€")

#: Babel puts no-break spaces into amounts and dates; they are not GSM-7.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " "})


def normalize_spaces(text: str) -> str:
    """Replace no-break and thin spaces with a plain space."""
    return text.translate(_SPACES)


_GSM_ALL = GSM_BASIC | GSM_EXTENSION


def is_gsm7(text: str) -> bool:
    """Whether every character is in the GSM 7-bit alphabet or its extension."""
    return _GSM_ALL.issuperset(text)


def sms_encoding(text: str) -> Literal["GSM-7", "UCS-2"]:
    """``"GSM-7"`` if the text fits the GSM alphabet, else ``"UCS-2"``."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _units(text: str, encoding: str) -> list[int]:
    """The cost of each character: septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if encoding == "GSM-7":
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_segments(text: str) -> int:
    """How many SMS parts ``text`` needs (an empty text still costs one)."""
    encoding = sms_encoding(text)
    single, part = (160, 153) if encoding == "GSM-7" else (70, 67)
    if encoding == "GSM-7":
        wide = sum(text.count(ch) for ch in GSM_EXTENSION)
        total = len(text) + wide
    else:
        total = len(text.encode("utf-16-le")) // 2
        wide = total - len(text)
    if total <= single:
        return 1
    if not wide:  # every character costs one unit: nothing can straddle a boundary
        return -(-total // part)
    units = _units(text, encoding)
    segments, used = 1, 0
    for cost in units:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments
