"""Drawing the paper claims as PDF with reportlab.

Why reportlab: a form for the OCR scanners needs exact character placement in a fixed-pitch font on a
letter page, and a plain-paper proof needs lines, colour and small captions. reportlab (BSD licence, kept
up since 2000) does both with the PDF standard fonts, so nothing is embedded or downloaded, and its
`invariant` mode writes the same bytes for the same input (outputs can be compared and tested). Writing
PDF by hand would mean our own font metrics, text escaping and cross-reference table for no gain.

Form pages: the data only, in Courier 12 pt (0.6 em = 7.2 pt = 10 characters per inch) at 12 pt leading
(6 lines per inch), each field in its cell of the 85 x 66 grid (`cms1500.FIELDS`), for the pre-printed red
form: its red ink is what the payers' OCR scanners drop out, so the form itself is never printed by us.
`proof=True` also draws the boxes of the form (`cms1500.PROOF_BOXES`) and their captions in red, for a
copy on plain paper that a person can check. EOB pages: Courier 9 pt, plain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from .cms1500 import LINES, PROOF_BOXES, FormPage, service_line_row

CELL_W = 7.2  # points per character column (10 cpi)
LEFT = 18.0  # column 1 starts 0.25 in from the left edge: the form's 80 columns fill the 8 in between its margins
CELL_H = 12.0  # points per line (6 lpi)
FONT = "Courier"
FONT_SIZE = 12.0  # Courier's advance is 0.6 em: 12 pt -> 7.2 pt
BASELINE = 9.5  # baseline below a cell's top: descenders stay inside the 12 pt cell
FORM_RED = Color(0.85, 0.12, 0.12)
SHADE = Color(0.99, 0.92, 0.92)  # the shaded supplemental rows of item 24
EOB_SIZE = 9.0
EOB_LEADING = 11.5
EOB_LEFT = 0.6 * 72
EOB_TOP = 0.6 * 72
PROOF_FORM = "cms1500_0212"


@dataclass
class PaperClaim:
    """One claim as printed: its forms, then the prior payers' EOB pages."""

    claim_id: str
    forms: list[FormPage]
    eobs: list[list[str]] = field(default_factory=list)  # EOB pages, each a list of text lines


def cell_origin(line: int, col: int) -> tuple[float, float]:
    """PDF coordinates (points, origin bottom-left) of the top-left corner of a grid cell."""
    _w, height = letter
    return LEFT + (col - 1) * CELL_W, height - (line - 1) * CELL_H


def render(fh: BinaryIO, claims: list[PaperClaim], proof: bool = False) -> int:
    """Write the claims as one PDF to the binary file `fh`; returns the number of pages."""
    canvas = Canvas(fh, pagesize=letter, invariant=1, pageCompression=1)
    canvas.setTitle("CMS-1500 (02/12) paper claims" + (" - proof copy" if proof else ""))
    canvas.setCreator("cob")
    pages = 0
    if proof:  # the form is drawn once and placed on every form page (one PDF form XObject)
        canvas.beginForm(PROOF_FORM)
        _draw_form_proof(canvas)
        canvas.endForm()
    for claim in claims:
        for form in claim.forms:
            if proof:
                canvas.doForm(PROOF_FORM)
                canvas.setFillColor(FORM_RED)
                canvas.setFont("Helvetica", 6)
                canvas.drawString(LEFT, cell_origin(5, 1)[1] - 8,
                                  f"CLAIM {form.claim_id}  FORM {form.number} OF {form.of}")
            _draw_form_data(canvas, form)
            canvas.showPage()
            pages += 1
        for page in claim.eobs:
            _draw_text_page(canvas, page)
            canvas.showPage()
            pages += 1
    canvas.save()
    return pages


def _draw_form_data(canvas: Canvas, form: FormPage) -> None:
    canvas.setFillColor(black)
    canvas.setFont(FONT, FONT_SIZE)
    for placed in form.fields:
        x, top = cell_origin(placed.line, placed.col)
        canvas.drawString(x, top - BASELINE, placed.text)


def _draw_form_proof(canvas: Canvas) -> None:
    """The form's boxes and captions in red, as on the printed form (plain-paper proof)."""
    canvas.setStrokeColor(FORM_RED)
    canvas.setFillColor(FORM_RED)
    canvas.setLineWidth(0.6)
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(cell_origin(1, 1)[0], cell_origin(2, 1)[1] - 9, "HEALTH INSURANCE CLAIM FORM")
    canvas.setFont("Helvetica", 6)
    canvas.drawString(LEFT, cell_origin(3, 1)[1] - 8, "NUCC 1500 (02/12) LAYOUT - PROOF COPY ON PLAIN PAPER")
    canvas.drawString(LEFT, cell_origin(4, 1)[1] - 8, "NOT FOR SUBMISSION: PRINT THE DATA ON THE RED FORM")
    for caption, first, left, last, right in PROOF_BOXES:
        x, y_top = cell_origin(first, left)
        x_end, y_bottom = cell_origin(last + 1, right + 1)
        canvas.rect(x, y_bottom, x_end - x, y_top - y_bottom, stroke=1, fill=0)
        canvas.setFont("Helvetica", 5)
        canvas.drawString(x + 1.5, y_top - 5.5, caption)
    # item 24: one row per service line, the shaded supplemental row above each
    canvas.setFillColor(SHADE)  # opaque: a form XObject carries no transparency state
    for n in range(1, 7):
        x, y_top = cell_origin(service_line_row(n) - 1, 1)
        _x, y_bottom = cell_origin(service_line_row(n), 1)
        canvas.rect(x, y_bottom, 80 * CELL_W, y_top - y_bottom, stroke=0, fill=1)
        canvas.line(x, y_bottom - CELL_H, x + 80 * CELL_W, y_bottom - CELL_H)
    canvas.setFillColor(FORM_RED)
    for col in (9, 18, 21, 24, 32, 44, 49, 58, 62, 64, 67):  # 24 A-J column rules
        x, y_top = cell_origin(42, col + 1)
        _x, y_bottom = cell_origin(LINES - 11, col + 1)
        canvas.line(x, y_top, x, y_bottom)


def _draw_text_page(canvas: Canvas, lines: list[str]) -> None:
    canvas.setFillColor(black)
    canvas.setFont(FONT, EOB_SIZE)
    _w, height = letter
    y = height - EOB_TOP
    for line in lines:
        canvas.drawString(EOB_LEFT, y, line)
        y -= EOB_LEADING
