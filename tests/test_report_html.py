"""The HTML page (tracelens/report/html.py), loaded in a real headless Chromium.

Chromium is Debian's `chromium` package; .ci/run installs it. Only where it truly cannot be found
do the browser tests skip.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.report_sample import sample_report
from tracelens.report import html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOGGING = ("--enable-logging=stderr", "--v=0")  # console messages appear as ":CONSOLE" lines
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")


def rendered(report, **options) -> str:
    buf = io.StringIO()
    html.render(report, buf, **options)
    return buf.getvalue()


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", *LOGGING, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, the decompressed scanlines) of a PNG, with the standard library only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_the_html_matches_the_golden_file(golden):
    golden("report.html", rendered(sample_report(), jaeger_ui="http://localhost:16686"))


def test_the_page_is_self_contained_and_has_no_script():
    text = rendered(sample_report(), jaeger_ui="http://localhost:16686")
    assert "<script" not in text
    assert not re.search(
        r"""(src|href)=["']?(https?:)?//""", text.replace('href="http://localhost:16686/trace/', "")
    )  # the only URLs are the trace links the user configured
    assert "@import" not in text
    assert text.count("<svg") >= 3  # histogram, intervals, two waterfalls


@needs_chromium
def test_chromium_loads_the_page_without_console_errors_and_shows_the_numbers(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(rendered(sample_report()), encoding="utf-8")
    dom = chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    assert ":CONSOLE" not in dom.stderr  # nothing logged: no error, no warning
    assert '<b id="p90">15.2 s</b>' in dom.stdout
    assert "4.1 s (−73%)" in dom.stdout  # the top fix
    assert 'id="histogram"' in dom.stdout
    assert 'id="typical-path"' in dom.stdout

    shot = tmp_path / "shot.png"
    done = chromium(f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri())
    assert done.returncode == 0, done.stderr
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1000, 1400)
    assert len(set(pixels)) > 50  # not a blank page: text, bars and lines in many shades


@needs_chromium
def test_the_console_check_would_catch_an_error(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<script>nosuch()</script>", encoding="utf-8")
    assert ":CONSOLE" in chromium("--dump-dom", page.as_uri()).stderr
