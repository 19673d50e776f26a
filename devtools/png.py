"""Small, valid PNG images made from nothing (the demo's and the tests' product pictures)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(
    width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30), noise: int = 0, tag: str = ""
) -> bytes:
    """A width x height RGB PNG of one colour; `noise` > 0 varies the pixels (to reach a size: the bytes
    then hardly compress), seeded by the colour so equal arguments give equal bytes; `tag` goes in a
    tEXt chunk (distinct files of one picture, cheaply)."""
    seed = (rgb[0] << 16 | rgb[1] << 8 | rgb[2]) or 1
    rows = []
    for _ in range(height):
        row = bytearray(b"\x00")
        for _ in range(width):
            if noise:
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                row += bytes(((c + (seed >> s) % noise) & 0xFF) for c, s in zip(rgb, (3, 11, 19), strict=True))
            else:
                row += bytes(rgb)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    text = _chunk(b"tEXt", b"Comment\x00" + tag.encode()) if tag else b""
    data = _chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + text + data + _chunk(b"IEND", b"")


def tagged(picture: bytes, tag: str) -> bytes:
    """The same picture with `tag` in a tEXt chunk after its header: another file, as cheap as a copy."""
    return picture[:33] + _chunk(b"tEXt", b"Comment\x00" + tag.encode()) + picture[33:]
