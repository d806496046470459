"""Interchange (ISA/IEA), functional group (GS/GE) and transaction set (ST/SE) envelopes.

Reading: `EnvelopeReader` wraps the segment stream, keeps the current interchange / group / transaction
as context objects and checks envelope integrity as it goes (ISA fixed width and ISA13 form, SE01/GE01/
IEA01 counts, ST02/SE02, GS06/GE02 and ISA13/IEA02 agreement, control numbers unique within their
parent). In strict mode the first problem raises `X12SyntaxError`; otherwise problems collect in
`errors` and reading goes on.

Writing: `EnvelopeWriter` wraps segments produced by a transaction writer in ISA/GS/ST and computes
the counts; control numbers come from a caller-supplied `ControlNumbers` source so the batch runner can
persist them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

from .errors import X12Error, X12SyntaxError
from .tokens import ISA_WIDTHS, Delimiters, SegmentReader


@dataclass(slots=True)
class Interchange:
    """ISA: who sent the file to whom, and its delimiters."""

    isa: list[str]
    delimiters: Delimiters
    segment_no: int

    @property
    def control_number(self) -> str:
        return self.isa[13] if len(self.isa) > 13 else ""

    @property
    def sender_qualifier(self) -> str:
        return self.isa[5].strip()

    @property
    def sender_id(self) -> str:
        return self.isa[6].strip()

    @property
    def receiver_qualifier(self) -> str:
        return self.isa[7].strip()

    @property
    def receiver_id(self) -> str:
        return self.isa[8].strip()

    @property
    def usage(self) -> str:
        return self.isa[15] if len(self.isa) > 15 else "P"


@dataclass(slots=True)
class FunctionalGroup:
    gs: list[str]
    interchange: Interchange
    segment_no: int

    def _el(self, i: int) -> str:
        return self.gs[i] if len(self.gs) > i else ""

    @property
    def functional_id(self) -> str:
        return self._el(1)

    @property
    def sender(self) -> str:
        return self._el(2)

    @property
    def receiver(self) -> str:
        return self._el(3)

    @property
    def control_number(self) -> str:
        return self._el(6)

    @property
    def version(self) -> str:
        return self._el(8)


@dataclass(slots=True)
class TransactionSet:
    st: list[str]
    group: FunctionalGroup
    segment_no: int

    @property
    def id(self) -> str:
        return self.st[1] if len(self.st) > 1 else ""

    @property
    def control_number(self) -> str:
        return self.st[2] if len(self.st) > 2 else ""

    @property
    def version(self) -> str:
        """ST03 when sent, else GS08: the implementation guide this set follows."""
        return (self.st[3] if len(self.st) > 3 and self.st[3] else "") or self.group.version


class EnvelopeReader:
    """Yields `(transaction, elements, segment_no, st_segment_no)` for every segment from ST to SE."""

    def __init__(self, path: str | Path, strict: bool = True, chunk_size: int | None = None,
                 name: str | None = None):
        self.path = Path(path)
        self.name = name or str(path)  # what messages call the file (`<stdin>` for a spooled pipe)
        self.strict = strict
        self.segments = (SegmentReader(path, chunk_size, name=self.name) if chunk_size
                         else SegmentReader(path, name=self.name))
        self.errors: list[X12Error] = []

    def _error(self, segment_no: int | None, segment_id: str | None, message: str, code: str,
               st_no: int | None = None) -> None:
        err = X12Error(self.name, segment_no, segment_id, message, code=code, st_segment_no=st_no)
        self.errors.append(err)
        if self.strict:
            raise X12SyntaxError(err)

    def _take_reader_errors(self) -> None:
        reader = self.segments
        while reader.errors:
            err = reader.errors.pop(0)
            self.errors.append(err)
            if self.strict:
                raise X12SyntaxError(err)

    def __iter__(self) -> Iterator[tuple[TransactionSet, list[str], int, int]]:
        isa: Interchange | None = None
        gs: FunctionalGroup | None = None
        st: TransactionSet | None = None
        st_count = gs_count = group_count = st_start = 0
        isa_numbers: set[str] = set()
        gs_numbers: set[str] = set()
        st_numbers: set[str] = set()
        seg_no = 0
        err = self._error
        for elements, seg_no in self.segments:
            sid = elements[0]
            if st is not None:
                st_count = seg_no - st_start  # counted, not incremented: a reader may skip segments
                if sid == "SE":
                    yield st, elements, seg_no, st_count
                    self._check_se(st, elements, seg_no, st_count)
                    st = None
                    continue
                if sid in ("ST", "GE", "IEA", "ISA", "GS"):
                    err(seg_no, sid, f"transaction set {st.control_number} has no SE trailer", "missing_se",
                        st_count)
                    st = None
                else:
                    yield st, elements, seg_no, st_count
                    continue
            if sid == "ISA":
                self._take_reader_errors()
                if isa is not None:
                    err(seg_no, sid, "interchange has no IEA trailer before the next ISA", "missing_iea")
                isa = Interchange(elements, self.segments.delimiters, seg_no)
                control = isa.control_number
                if not (len(control) == 9 and control.isdigit()):
                    err(seg_no, sid, "ISA13 interchange control number must be 9 digits", "control_number")
                if control in isa_numbers:
                    err(seg_no, sid, f"interchange control number {control} is used twice in this file",
                        "duplicate_control_number")
                isa_numbers.add(control)
                gs_numbers = set()
                group_count = 0
            elif sid == "GS":
                if isa is None:
                    err(seg_no, sid, "GS outside an interchange", "envelope")
                    continue
                if gs is not None:
                    err(seg_no, sid, "functional group has no GE trailer before the next GS", "missing_ge")
                gs = FunctionalGroup(elements, isa, seg_no)
                group_count += 1
                if gs.control_number in gs_numbers:
                    err(seg_no, sid, f"group control number {gs.control_number} is used twice in the interchange",
                        "duplicate_control_number")
                gs_numbers.add(gs.control_number)
                st_numbers = set()
                gs_count = 0
            elif sid == "ST":
                if gs is None:
                    err(seg_no, sid, "ST outside a functional group", "envelope")
                    continue
                st = TransactionSet(elements, gs, seg_no)
                st_start = seg_no - 1
                gs_count += 1
                st_count = 1
                if st.control_number in st_numbers:
                    err(seg_no, sid, f"transaction set control number {st.control_number} is used twice in the group",
                        "duplicate_control_number", 1)
                st_numbers.add(st.control_number)
                yield st, elements, seg_no, 1
            elif sid == "GE":
                if gs is None:
                    err(seg_no, sid, "GE without a GS", "envelope")
                    continue
                self._check_count(elements, 1, gs_count, seg_no, "GE01", "transaction sets")
                if _el(elements, 2) != gs.control_number:
                    err(seg_no, sid, f"GE02 {_el(elements, 2)} does not match GS06 {gs.control_number}",
                        "control_number")
                gs = None
            elif sid == "IEA":
                if isa is None:
                    err(seg_no, sid, "IEA without an ISA", "envelope")
                    continue
                if gs is not None:
                    err(seg_no, sid, "functional group has no GE trailer", "missing_ge")
                    gs = None
                self._check_count(elements, 1, group_count, seg_no, "IEA01", "functional groups")
                if _el(elements, 2) != isa.control_number:
                    err(seg_no, sid, f"IEA02 {_el(elements, 2)} does not match ISA13 {isa.control_number}",
                        "control_number")
                isa = None
            else:
                err(seg_no, sid, f"segment {sid} outside a transaction set", "envelope")
        self._take_reader_errors()
        if st is not None:
            err(None, None, f"file ends inside transaction set {st.control_number} (SE missing)", "missing_se")
        if gs is not None:
            err(None, None, f"file ends inside functional group {gs.control_number} (GE missing)", "missing_ge")
        if isa is not None:
            err(None, None, f"file ends inside interchange {isa.control_number} (IEA missing)", "missing_iea")
        if seg_no == 0:
            err(None, None, "file is empty", "empty")

    def _check_count(self, elements: list[str], index: int, actual: int, seg_no: int, label: str,
                     what: str) -> None:
        value = _el(elements, index)
        if not value.isdigit() or int(value) != actual:
            self._error(seg_no, elements[0], f"{label} says {value or 'nothing'} {what}, found {actual}",
                        "count")

    def _check_se(self, st: TransactionSet, elements: list[str], seg_no: int, st_count: int) -> None:
        value = _el(elements, 1)
        if not value.isdigit() or int(value) != st_count:
            self._error(seg_no, "SE", f"SE01 says {value or 'nothing'} segments, found {st_count}", "count",
                        st_count)
        if _el(elements, 2) != st.control_number:
            self._error(seg_no, "SE", f"SE02 {_el(elements, 2)} does not match ST02 {st.control_number}",
                        "control_number", st_count)


def _el(elements: list[str], i: int) -> str:
    return elements[i] if len(elements) > i else ""


# --------------------------------------------------------------------------------------------------
# writing


class ControlNumbers(Protocol):
    """Source of ISA13 / GS06 / ST02 numbers. The batch runner persists them; tests use a counter."""

    def next_interchange(self) -> int: ...

    def next_group(self) -> int: ...

    def next_transaction(self) -> int: ...


@dataclass
class CounterControlNumbers:
    """In-memory control numbers starting at `start` (ISA13 and GS06 share the sequence)."""

    start: int = 1
    _isa: int = field(default=0, init=False)
    _st: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._isa = self.start - 1
        self._st = 0

    def next_interchange(self) -> int:
        self._isa += 1
        return self._isa

    def next_group(self) -> int:
        return self._isa

    def next_transaction(self) -> int:
        self._st += 1
        return self._st


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange or group sender/receiver."""

    qualifier: str
    id: str


def format_isa(sender: Party, receiver: Party, control: int, d: Delimiters, when: _dt.datetime,
               usage: str = "P", ack_requested: str = "0") -> str:
    """A fixed-width ISA (106 characters with its terminator)."""
    values = ("00", "", "00", "", sender.qualifier, sender.id, receiver.qualifier, receiver.id,
              when.strftime("%y%m%d"), when.strftime("%H%M"), d.repetition, "00501", f"{control:09d}",
              ack_requested, usage, d.component)
    padded = [v[:w].ljust(w) for v, w in zip(values, ISA_WIDTHS)]
    return "ISA" + d.element + d.element.join(padded) + d.segment


def sniff(path: str | Path) -> str | None:
    """'837' or '835' from the first ST of a file (content, not name, decides), None if not X12."""
    try:
        for txn, _elements, _no, _st in EnvelopeReader(path, strict=False):
            return txn.id
    except (X12SyntaxError, OSError, UnicodeError):
        return None
    return None
