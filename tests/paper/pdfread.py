"""Reading a paper-claim PDF back for the tests: pypdf's text extraction, each Courier string turned back
into the (line, column) cell of the 1500 form grid it was drawn at.

Nothing here knows what a box should hold: it only reports what is on the page and where, so every value a
test asserts is written out in the test itself. The grid is the one the module under test documents: column
1 at 0.25 in from the left edge, 0.1 in a column; line 1 at the top edge, 1/6 in a line; text baselines 9.5
points below a line's top.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader

PAGE_HEIGHT = 792.0
LEFT = 18.0
CELL_W = 7.2
CELL_H = 12.0
BASELINE = 9.5


@dataclass
class Page:
    kind: str  # "form" (Courier 12 pt on the grid) or "text" (the EOB)
    cells: dict[tuple[int, int], str]  # form: (line, column) -> the string drawn there
    text: str  # every string of the page, one per line, in drawing order


def read_pages(path: Path) -> list[Page]:
    pages = []
    for page in PdfReader(str(path)).pages:
        cells: dict[tuple[int, int], str] = {}
        strings: list[str] = []
        sizes: set[float] = set()

        def visit(text, cm, tm, font, size):
            text = text.rstrip("\n")
            if not text.strip() or font is None or font.get("/BaseFont") != "/Courier":
                return
            x = tm[4] * cm[0] + cm[4]
            y = tm[5] * cm[3] + cm[5]
            sizes.add(round(size * (tm[0] or 1) * (cm[0] or 1), 1))
            strings.append(text)
            col = (x - LEFT) / CELL_W + 1
            line = (PAGE_HEIGHT - BASELINE - y) / CELL_H + 1
            if abs(col - round(col)) < 0.01 and abs(line - round(line)) < 0.01:
                key = (round(line), round(col))
                assert key not in cells, f"two strings drawn at {key}"
                cells[key] = text

        page.extract_text(visitor_text=visit)
        kind = "form" if 12.0 in sizes else "text"
        pages.append(Page(kind, cells if kind == "form" else {}, "\n".join(strings)))
    return pages
