"""The HTML report as a browser shows it: headless Chromium renders the page; the verdict bar must be red for a
failed audit and green for a passed one, in the first screenful, above the folded technical details.

Skipped where no Chromium is installed (Debian: ``apt-get install chromium-headless-shell``).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from co3chain.audit.plain import render_html
from co3chain.audit.report import AuditReport

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
BROWSER = next((b for b in BROWSERS if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium installed")

PASS_GREEN = (0x2E, 0x7D, 0x32)
FAIL_RED = (0xC6, 0x28, 0x28)


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def count_colour(path: Path, rgb: tuple[int, int, int], max_y: int) -> int:
    width, height, rows = read_png(path)
    channels = len(rows[0]) // width
    want = bytes(rgb)
    return sum(1 for y in range(min(max_y, height)) for x in range(width)
               if rows[y][x * channels : x * channels + 3] == want)


def screenshot(html: str, tmp: Path, name: str) -> Path:
    page, png = tmp / f"{name}.html", tmp / f"{name}.png"
    page.write_text(html, encoding="utf-8")
    subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,900", f"--screenshot={png}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert png.exists() and png.stat().st_size > 10_000
    return png


def test_failed_and_passed_reports_render_with_their_colours(tmp_path: Path) -> None:
    failed = AuditReport("chain", {"toBlock": 9})
    failed.add("hash-mismatch", "node reports 0x01, recomputed 0x02", 5)
    failed.add("parent-link", "parentHash is not the hash of block 5", 6)
    passed = AuditReport("chain", {"toBlock": 9}, stats={"blocksVerified": 9})
    red = screenshot(render_html(failed), tmp_path, "failed")
    green = screenshot(render_html(passed), tmp_path, "passed")
    # The verdict bar and badge sit in the first screenful (900 px); the other colour is absent.
    assert count_colour(red, FAIL_RED, 400) > 500 and count_colour(red, PASS_GREEN, 900) == 0
    assert count_colour(green, PASS_GREEN, 400) > 500 and count_colour(green, FAIL_RED, 900) == 0
