"""Reading a PNG screenshot without an imaging library: enough of the format
(8-bit RGB or RGBA, not interlaced) for what Chromium writes."""

from __future__ import annotations

import struct
import zlib

import attrs

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@attrs.frozen
class Picture:
    """Decoded pixels, row by row; each row is ``width * channels`` bytes."""

    width: int
    height: int
    channels: int
    rows: tuple[bytes, ...]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The (red, green, blue) of one pixel."""
        i = x * self.channels
        r, g, b = self.rows[y][i : i + 3]
        return r, g, b

    def count_in_row(self, y: int, colour: tuple[int, int, int], tolerance: int = 12) -> int:
        """How many pixels of row ``y`` are within ``tolerance`` of ``colour``."""
        row, step = self.rows[y], self.channels
        return sum(
            1
            for i in range(0, len(row), step)
            if abs(row[i] - colour[0]) <= tolerance
            and abs(row[i + 1] - colour[1]) <= tolerance
            and abs(row[i + 2] - colour[2]) <= tolerance
        )


def read_png(data: bytes) -> Picture:
    """Decode ``data``; raises ``ValueError`` for anything but 8-bit RGB(A), not interlaced."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG")
    pos, chunks, header = len(_SIGNATURE), [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, previous, channels)
        rows.append(bytes(line))
        previous = line
    return Picture(width, height, channels, tuple(rows))


def _unfilter(kind: int, line: bytearray, up: bytearray, bpp: int) -> None:
    if kind == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif kind == 2:
        for i in range(len(line)):
            line[i] = (line[i] + up[i]) & 255
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + up[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = up[i], (up[i - bpp] if i >= bpp else 0)
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    elif kind != 0:
        raise ValueError(f"unknown PNG filter {kind}")
