"""Implementation-guide validation of a written file with pyx12 (until cob's own engine replaces it).

pyx12 logs each problem as "Line:N SEG:... - message"; our writer puts one segment per line, so N is
the segment number and a problem can be traced back to the claim that holds it. pyx12 appends element
values to its messages; those may be patient data, so they are replaced by "(value)" here.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"Line:(\d+)")
# "(NM102)", "(CLM05-01)" name an element and stay; any other parenthesised text is a value.
_VALUE = re.compile(r"\((?![A-Z][A-Z0-9]{1,2}\d{2}(?:-\d{2})?\))[^()]*\)")
#: pyx12's remark-code snapshot lacks current RARCs such as MA15 (split claim): not a defect of the file.
_TOLERATED = (re.compile(r"\((MA15)\) is not a valid code for .*Remark Code"),)


@dataclass(frozen=True, slots=True)
class IgProblem:
    segment_no: int | None
    message: str


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


def validate_file(path: str | Path) -> list[IgProblem]:
    """pyx12's findings for one file (empty when it passes), values masked."""
    try:
        valid, records, _ack = run_pyx12(path)
    except Exception as exc:  # noqa: BLE001 - pyx12 raises on files it cannot walk
        return [IgProblem(None, f"pyx12 could not validate the file: {type(exc).__name__}")]
    problems = []
    tolerated = 0
    for record in records:
        message = record.getMessage()
        if any(p.search(message) for p in _TOLERATED):
            tolerated += 1
            continue
        match = _LINE.search(message)
        text = _VALUE.sub("(value)", message.split(" - ", 1)[-1]).strip()
        problems.append(IgProblem(int(match.group(1)) if match else None, text))
    if not valid and not problems and not tolerated:
        problems.append(IgProblem(None, "pyx12 reported the file invalid without a message"))
    return problems
