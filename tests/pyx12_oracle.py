"""pyx12 as an in-process validation oracle for X12 files (WEDI SNIP 1-2 and a few code sets).

Why in-process: the `x12valid` script exits 1 even on success and writes a .997/.999 beside
its input.  Here the acknowledgment goes to an io.StringIO and every error pyx12 reports (its
error handler logs each ISA/GS/ST/segment/element error on the "pyx12" logger) is collected, so
callers get a plain answer:

    ok, errors = pyx12_validate(path)
    report = pyx12_report(path)      # also the 999 text and the tolerated pyx12 gaps

Known pyx12 4.0.0 gaps are tolerated (reported as notes, not errors) unless strict=True:
- it cannot build a 999 for an 835 without ST03 (its AK2 needs ST03, yet its 835 map marks ST03
  "not used" and flags it when present), so the 999 step fails on every valid 835;
- its RARC snapshot lacks some current remark codes (e.g. MA15, "claim separated to expedite
  handling", which Medicare uses on split claims).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Pyx12Report", "pyx12_available", "pyx12_report", "pyx12_validate", "KNOWN_PYX12_GAPS"]

# (pattern on pyx12's message, why it is not a defect of the document)
KNOWN_PYX12_GAPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Failed to create 999 response$"),  # refined by the exception text below
     "pyx12 cannot build a 999 AK2 for a transaction set without ST03 (835)"),
    (re.compile(r"\((MA15)\) is not a valid code for .*Remark Code"),
     "RARC MA15 is current but missing from pyx12's remark code snapshot"),
)
_AK2_WITHOUT_ST03 = "Cannot create AK2: err_st.vriic was not set"


def pyx12_available() -> bool:
    try:
        import pyx12.x12n_document  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Pyx12Report:
    ok: bool
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # tolerated pyx12 gaps
    acknowledgment: str = ""  # the 999 pyx12 built (may be empty when it could not)


def _classify(record: logging.LogRecord, strict: bool) -> tuple[str, str | None]:
    """Return (message, note) where note is set when the message is a known pyx12 gap."""
    message = record.getMessage()
    if strict:
        return message, None
    if message == "Failed to create 999 response":
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and str(exc) == _AK2_WITHOUT_ST03:
            return message, KNOWN_PYX12_GAPS[0][1]
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        return message + detail, None
    for pattern, why in KNOWN_PYX12_GAPS[1:]:
        if pattern.search(message):
            return message, why
    return message, None


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run_pyx12(path: str | Path) -> tuple[bool, list[logging.LogRecord], str]:
    """(valid, the error records pyx12 logged, the 999 it built) for one file; nothing is written to disk.

    Raises what pyx12 raises on a file it cannot walk at all.
    """
    import io

    import pyx12.params
    import pyx12.x12n_document

    collector = _Collector()
    ack = io.StringIO()
    logger = logging.getLogger("pyx12")
    saved = logger.level
    if logger.getEffectiveLevel() > logging.ERROR:
        logger.setLevel(logging.ERROR)
    logger.addHandler(collector)
    try:
        valid = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=str(path),
                                                   fd_997=ack, fd_html=None, fd_xmldoc=None)
    finally:
        logger.removeHandler(collector)
        logger.setLevel(saved)
    return valid, collector.records, ack.getvalue()


def pyx12_report(path: str | Path, *, strict: bool = False) -> Pyx12Report:
    """Validate one X12 file with pyx12's maps (005010X222A1, 005010X221A1, ...) in memory."""
    try:
        valid, records, ack = run_pyx12(path)
    except Exception as exc:  # pyx12 raises on documents it cannot walk at all
        return Pyx12Report(False, [f"pyx12 raised {type(exc).__name__}: {exc}"])

    report = Pyx12Report(ok=False, acknowledgment=ack)
    for record in records:
        message, note = _classify(record, strict)
        if note is None:
            report.errors.append(message)
        else:
            report.notes.append(f"{message} -- tolerated: {note}")
    if not valid and not report.errors and not report.notes:
        report.errors.append("pyx12 reported the document invalid without an error message")
    report.ok = not report.errors
    return report


def pyx12_validate(path: str | Path, *, strict: bool = False) -> tuple[bool, list[str]]:
    """(ok, error messages) for one X12 file; see the module docstring for tolerated gaps."""
    report = pyx12_report(path, strict=strict)
    return report.ok, report.errors
