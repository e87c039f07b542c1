"""Screenshots of simulated phones: a PNG in the foreground app's colour.

Enough for the driver interface's `screenshot` and for tests that check
an image comes back; no pixels of the screens are drawn.
"""

from __future__ import annotations

import struct
import zlib

from phonefarm.actors.selectors import APPS


def screenshot_png(foreground: str) -> bytes:
    """A screenshot of a simulated screen: one colour, the foreground app's."""
    return _solid_png(108, 240, _screen_colour(foreground))


def _screen_colour(package: str) -> tuple[int, int, int]:
    colours = {"tiktok": (18, 18, 18), "instagram": (225, 48, 108)}
    for platform, app in APPS.items():
        if app.package == package:
            return colours[platform]
    return (240, 240, 240)


def _solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """Encode a one-colour RGB PNG (enough for a screenshot placeholder)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter byte 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
