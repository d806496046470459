"""The run page as a browser draws it (issue 20, done-when): headless Chromium (Debian's `chromium`) renders
the page of a real run to a PNG of one screen; the picture is not blank and the first table (what needs a
person) is on that first screen, also when hundreds of claims need a person. The page also prints (PDF),
and its first printed page starts with what needs a person. Skips where Chromium is absent; `.ci/run`
installs it."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from cob.run.page import render_run_page

from .test_page import REPORT, _claim, three_nights

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (Debian package chromium)")

#: one screen of a laptop: what is visible without scrolling
SCREEN = (1280, 800)
#: the table headers' background (base.html.j2: th { background: #e4e4e4 }), drawn only by tables
HEADER_GREY = (0xE4, 0xE4, 0xE4)


def chromium(page: Path, out: Path, *args: str) -> None:
    profile = out.parent / f"{out.stem}-profile"
    subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}",
                    f"--window-size={SCREEN[0]},{SCREEN[1]}", *args, page.as_uri()],
                   check=True, capture_output=True, timeout=180)
    assert out.exists() and out.stat().st_size > 0, f"chromium wrote no {out.name}"


def screenshot(page: Path, tmp_path: Path):
    from PIL import Image

    png = tmp_path / f"{page.stem}.png"
    chromium(page, png, f"--screenshot={png}")
    return Image.open(png).convert("RGB")


def first_table_row(image) -> int | None:
    """The first pixel row (from the top) holding table-header grey over a tenth of the width, or None."""
    width, height = image.size
    px = image.load()
    for y in range(height):
        if sum(1 for x in range(0, width, 4) if px[x, y] == HEADER_GREY) * 4 > width // 10:
            return y
    return None


@pytest.mark.parametrize("backend", ["sqlite"])
def test_run_page_renders_with_the_first_table_on_the_first_screen(make_site, sample_set, tmp_path):
    site = make_site()
    _, night, _ = three_nights(site, sample_set)
    image = screenshot(night.page_path, tmp_path)
    assert image.size == SCREEN
    colours = image.getcolors(maxcolors=1 << 16)
    ink = sum(n for n, rgb in colours if sum(rgb) < 3 * 128)
    assert ink > 0.01 * SCREEN[0] * SCREEN[1], "the page rendered (nearly) blank"
    top = first_table_row(image)
    assert top is not None and top < SCREEN[1] // 2, f"the first table starts at pixel row {top}"


def test_the_first_table_stays_on_the_first_screen_with_many_claims(tmp_path):
    """300 claims needing a person: the page is long, the reason table (the first table) still comes first."""
    report = dict(REPORT)
    report["claims"] = REPORT["claims"] + [_claim(f"H{n:04}", "held", "line_charge_mismatch") for n in range(300)]
    page = tmp_path / "long.html"
    page.write_text(render_run_page(report, {}, waiting=[], now=dt.datetime(2026, 3, 2)))
    top = first_table_row(screenshot(page, tmp_path))
    assert top is not None and top < SCREEN[1] // 2
    pdf = tmp_path / "long.pdf"
    chromium(page, pdf, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    from pypdf import PdfReader

    pages = PdfReader(pdf).pages
    assert len(pages) > 3  # 300 rows do not fit one sheet: the table breaks across pages
    first = " ".join(pages[0].extract_text().split())
    # 304 claims, 1 quarantined input, 1 COB denial, 1 acknowledgment rejection, 1 claim not acknowledged,
    # 2 filing deadlines
    assert "Needs a person (310)" in first and "line_charge_mismatch 300" in first
