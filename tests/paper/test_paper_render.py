"""The rendered proof page (pdftoppm -> PNG) against the form's character grid: the ink of boxes 9, 11d, 24
and 33 lies in the cells the 02/12 print alignment gives them, and the proof's red box outlines lie on the
grid lines around them.

The grid, in inches from the page's top-left corner: column c spans 0.25 + (c - 1) / 10 to 0.25 + c / 10,
line n spans (n - 1) / 6 to n / 6. Rendered at 100 dpi that is 10 pixels a column and 16.7 a line. The
cells tested (from the 02/12 alignment, see cob/paper/cms1500.py):
- 9 "TESTER, ALEX" line 18, columns 1-12; its box outline from line 17 (top edge at 16/6 in);
- 11d YES "X" line 26 column 52, nothing in NO (column 57);
- 24 line 1 on line 44: 99214 in columns 25-29, 200 00 in columns 52-57;
- 33 "NORTHWIND CLINIC" line 58 columns 50-65; 33a "1234567893" line 61 columns 50-59.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from cob.billing.secondary import SecondaryOptions, run_secondary
from conftest import DATA

DPI = 100
PDFTOPPM = shutil.which("pdftoppm")
pytestmark = pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm (poppler-utils) is not installed")


def _x(col: float) -> float:
    """Pixel x of the left edge of column `col` (fractions allowed)."""
    return (0.25 + (col - 1) / 10) * DPI


def _y(line: float) -> float:
    """Pixel y of the top edge of line `line`."""
    return (line - 1) / 6 * DPI


def _render(tmp_path: Path, proof: bool):
    from PIL import Image

    out = tmp_path / ("proof" if proof else "data")
    run_secondary([DATA / "original-claim.837"], [DATA / "primary-remit.835"],
                  SecondaryOptions(out_dir=out, now=dt.datetime(2026, 4, 1, 8, 30), paper_payers=frozenset({"SECPAY"}),
                                   paper_proof=proof))
    pdf = out / "paper" / "SECPAY-000000001.pdf"
    done = subprocess.run([PDFTOPPM, "-r", str(DPI), "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
                          check=True, capture_output=True, text=True)
    assert done.stderr == ""  # poppler found nothing wrong with the PDF
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("RGB")
    png.rename(tmp_path / ("proof.png" if proof else "data.png"))
    return image


def _black(pixel) -> bool:
    return max(pixel) < 110


def _red(pixel) -> bool:
    r, g, b = pixel
    return r > 150 and g < 120 and b < 120


def _ink(image, line: int, first_col: int, last_col: int, test=_black) -> tuple[float, float] | None:
    """Leftmost and rightmost inked pixel x within a line's band between two columns (inclusive)."""
    xs = [x for x in range(int(_x(first_col)), int(_x(last_col + 1)))
          for y in range(int(_y(line)), int(_y(line + 1))) if test(image.getpixel((x, y)))]
    return (min(xs), max(xs)) if xs else None


def _in_columns(span, first: int, last: int) -> bool:
    """Ink from `span` starts in column `first` and ends in column `last`."""
    return _x(first) <= span[0] < _x(first + 1) and _x(last) <= span[1] < _x(last + 1)


@pytest.fixture(scope="module")
def proof(tmp_path_factory):
    return _render(tmp_path_factory.mktemp("proof"), proof=True)


def test_box_9_in_its_cells(proof):
    span = _ink(proof, 18, 1, 28)  # the whole width of box 9
    assert span is not None and _in_columns(span, 1, 12), span
    # the proof outline of box 9 (lines 17-18, columns 1-29): its top edge at the top of line 17
    top = int(round(_y(17)))
    assert any(_red(proof.getpixel((int(_x(10)), y))) for y in range(top - 1, top + 2))


def test_box_11d_yes_marked_no_empty(proof):
    span = _ink(proof, 26, 49, 80)
    assert span is not None and _in_columns(span, 52, 52), span  # the one X: YES
    assert _ink(proof, 26, 57, 57) is None


def test_box_24_first_service_line(proof):
    code = _ink(proof, 44, 23, 31)
    assert code is not None and _in_columns(code, 25, 29), code  # 99214
    charge = _ink(proof, 44, 50, 58)
    assert charge is not None and _in_columns(charge, 52, 57), charge  # 200 00
    assert _ink(proof, 45, 1, 80) is None  # nothing on the line below (the second line's shaded row)


def test_box_33_billing_provider_and_npi(proof):
    name = _ink(proof, 58, 49, 80)
    assert name is not None and _in_columns(name, 50, 65), name  # NORTHWIND CLINIC
    npi = _ink(proof, 61, 49, 80)
    assert npi is not None and _in_columns(npi, 50, 59), npi  # 33a 1234567893
    # the proof outline of box 33 (lines 57-61, columns 49-80): its left edge between columns 48 and 49
    left = int(round(_x(49)))
    assert any(_red(proof.getpixel((x, int(_y(59))))) for x in range(left - 1, left + 2))


def test_data_copy_has_no_red_ink(tmp_path):
    """For the pre-printed form only the data is printed: black, and nothing red."""
    image = _render(tmp_path, proof=False)
    width, height = image.size
    assert not any(_red(image.getpixel((x, y))) for x in range(0, width, 2) for y in range(0, height, 2))
    span = _ink(image, 26, 49, 80)
    assert span is not None and _in_columns(span, 52, 52)
