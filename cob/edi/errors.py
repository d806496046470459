"""Typed, located errors for X12 input.

Every problem found in an input file becomes an `X12Error` that names the file, the segment number
counted from the start of the file, the segment id and a plain message. Messages never carry element
values of patient segments (names, member ids): only ids of claims, control numbers and codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class X12Error:
    file: str
    segment_no: int | None  # 1-based, counted from the start of the file (ISA = 1)
    segment_id: str | None
    message: str
    code: str = "syntax"  # stable machine-readable kind; an envelope problem's is one of cob.edi.envelope.CODES
    st_segment_no: int | None = None  # 1-based within the transaction set (ST = 1)
    loop: str | None = None
    claim_id: str | None = None
    severity: str = "error"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        where = f"segment {self.segment_no}" if self.segment_no is not None else "end of file"
        seg = f" ({self.segment_id})" if self.segment_id else ""
        return f"{self.file}: {where}{seg}: {self.message}"


class X12SyntaxError(Exception):
    """Raised by readers in strict mode; carries the located `X12Error`."""

    def __init__(self, error: X12Error):
        super().__init__(str(error))
        self.error = error


def read_problem(path: str | Path, exc: Exception) -> tuple[str, int]:
    """What is wrong with an input file that could not be read (an `X12SyntaxError` or an `OSError`), and
    the segment number where it was found (0 when the file could not be read at all)."""
    if isinstance(exc, X12SyntaxError):
        return str(exc.error), exc.error.segment_no or 0
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return f"{path}: cannot read: {reason}", 0
