"""Typed, located errors for X12 input.

Every problem found in an input file becomes an `X12Error` that names the file, the segment number
counted from the start of the file, the segment id and a plain message. Messages never carry element
values of patient segments (names, member ids): only ids of claims, control numbers and codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


_VALID_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_UNSAFE = re.compile(r"[^A-Za-z0-9]")


def shown_id(segment_id: str) -> str:
    """A segment id as messages show it. A real id (2-3 capitals and digits) as it is; anything else is text
    that is not X12 (a roster line after an ISA, a name where an id should be), so at most its first three
    characters, others than letters and digits as "?", and "..." when there was more: never the data."""
    if _VALID_ID.fullmatch(segment_id):
        return segment_id
    return _UNSAFE.sub("?", segment_id[:3]) + ("..." if len(segment_id) > 3 else "")


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

    def __post_init__(self) -> None:
        if self.segment_id is not None and _VALID_ID.fullmatch(self.segment_id) is None:
            object.__setattr__(self, "segment_id", shown_id(self.segment_id))

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
