"""Interchange (ISA/IEA), functional group (GS/GE) and transaction set (ST/SE) envelopes.

The envelope has one reading: `EnvelopeMachine`, the state machine of ISA..IEA, GS..GE and ST..SE (open
envelopes, counts, control numbers and their uniqueness, missing trailers, misplaced segments), and
one list of problem codes, `CODES`, each with its TA1 / AK9 / IK5 code. The reader
(`EnvelopeReader`, under `X12Reader` and `sniff`) turns its problems into `X12Error`s; the validator
(`cob.edi.validate.envelope_checks`) into findings and acknowledgment codes. The tokenizer's problems
with the ISA itself (`tokens.py`) carry codes of the same list.

Reading: `EnvelopeReader` wraps the segment stream and yields each segment of a transaction set with
its interchange / group / transaction context objects. In strict mode the first problem raises
`X12SyntaxError`; otherwise problems collect in `errors` and reading goes on.

Writing: `format_isa` writes a fixed-width ISA; control numbers come from a caller-supplied
`ControlNumbers` source so the batch runner can persist them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

from .errors import X12Error, X12SyntaxError, shown_id
from .tokens import ENVELOPE_IDS, ISA_WIDTHS, MAX_SEGMENT, Delimiters, SegmentReader


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


# --------------------------------------------------------------------------------------------------
# the code list


@dataclass(frozen=True, slots=True)
class EnvelopeCode:
    """One kind of envelope problem: what it means and how an acknowledgment answers it.

    The acknowledgment code that applies depends on where the problem is filed (`EnvelopeProblem.level`):
    a set's problem is an IK5 code in the 999, a group's an AK9 code, an interchange's a TA1 note code.
    """

    code: str
    meaning: str
    level: str  # where it is usually filed: "st", "gs", "isa" or "file" (some move out when nothing encloses them)
    ta1: str | None = None  # TA105 interchange note code
    ak9: str | None = None  # AK905 functional group syntax error code
    ik5: str | None = None  # IK502 transaction set syntax error code
    snip: int = 1  # WEDI SNIP type: every envelope problem is X12 syntax

    def acks(self, level: str) -> dict[str, str]:
        """The acknowledgment code of a problem filed at `level` ("file": outside any interchange, no TA1)."""
        if level == "st":
            return {"ik5": self.ik5} if self.ik5 else {}
        if level == "gs":
            return {"ak9": self.ak9} if self.ak9 else {}
        if level == "isa":
            return {"ta1": self.ta1} if self.ta1 else {}
        return {}


#: The one list of envelope problem codes. `EnvelopeMachine` reports the ones of the envelope's structure,
#: values and uniqueness; the tokenizer (`tokens.py`) raises or records the ones about the ISA's form and
#: the file's start. The reader puts the code on its `X12Error`; the validator on its `Finding`, with the
#: acknowledgment code of the level it is filed at.
CODES: dict[str, EnvelopeCode] = {c.code: c for c in (
    # the file (tokens.py, and the machine for "empty")
    EnvelopeCode("not_x12", "the file does not start with ISA: it is not X12", "file"),
    EnvelopeCode("empty", "the file holds no segment", "file"),
    EnvelopeCode("no_isa", "something other than an ISA follows an interchange's IEA (fatal)", "isa", ta1="023"),
    EnvelopeCode("isa_incomplete", "an ISA without its 16 elements and terminator: nothing after it can be read",
                 "isa", ta1="023"),
    EnvelopeCode("segment_too_long", f"a segment longer than {MAX_SEGMENT} characters (no segment terminator: not "
                 "X12 text; reading stops there, with bounded memory)", "isa", ta1="024"),
    EnvelopeCode("isa_width", "an ISA element is not its fixed width, or the ISA is not fixed width (it is read "
                 "by its separators)", "isa", ta1="022"),
    # interchange
    EnvelopeCode("iea_missing", "an interchange ends (next ISA, end of file) without its IEA", "isa", ta1="023"),
    EnvelopeCode("isa_control_duplicate", "ISA13 is used by another interchange in the file", "isa", ta1="025"),
    EnvelopeCode("group_unterminated", "an IEA while a functional group is open (also ge_missing at the group)",
                 "isa", ta1="024"),
    EnvelopeCode("iea_control_mismatch", "IEA02 differs from ISA13", "isa", ta1="001"),
    EnvelopeCode("iea_count", "IEA01 differs from the number of functional groups", "isa", ta1="021"),
    EnvelopeCode("gs_outside_interchange", "a GS before any ISA (only when the machine is fed directly: the "
                 "tokenizer starts every interchange at an ISA)", "file"),
    EnvelopeCode("iea_without_isa", "an IEA with no interchange open (as gs_outside_interchange)", "file"),
    # functional group
    EnvelopeCode("ge_missing", "a functional group ends (next GS, IEA, ISA, end of file) without its GE", "gs",
                 ak9="3"),
    EnvelopeCode("gs_control_duplicate", "GS06 is used by another group in the interchange", "gs", ak9="6"),
    EnvelopeCode("ge_without_gs", "a GE with no functional group open", "isa", ta1="024"),
    EnvelopeCode("ge_control_mismatch", "GE02 differs from GS06", "gs", ak9="4"),
    EnvelopeCode("ge_count", "GE01 differs from the number of transaction sets", "gs", ak9="5"),
    EnvelopeCode("st_outside_group", "an ST with no functional group open (the set is not read)", "isa",
                 ta1="024"),
    EnvelopeCode("se_without_st", "an SE with no transaction set open (at the interchange when no group is open)",
                 "gs", ak9="3"),
    EnvelopeCode("outside_transaction", "a segment other than an envelope segment outside ST..SE (at the "
                 "interchange when no group is open)", "gs", ta1="024"),
    # transaction set
    EnvelopeCode("se_missing", "a transaction set ends (next ST, GE, GS, IEA, ISA, end of file) without its SE",
                 "st", ik5="2"),
    EnvelopeCode("st_control_duplicate", "ST02 is used by another transaction set in the group", "st", ik5="23"),
    EnvelopeCode("se_control_mismatch", "SE02 differs from ST02", "st", ik5="3"),
    EnvelopeCode("se_count", "SE01 differs from the number of segments ST..SE", "st", ik5="4"),
)}


def _number(value: str | None) -> str | None:
    """A control number or count as a message shows it: digits (at most 9) as they are, anything else is not
    one and is not quoted (a mutated or foreign file may hold a name there)."""
    if not value:
        return value
    return value if value.isdigit() and len(value) <= 9 and value.isascii() else "(not a number)"


@dataclass(frozen=True, slots=True)
class EnvelopeProblem:
    """One envelope problem, located. Messages name control numbers and counts, no other element value."""

    code: str  # a key of CODES
    message: str
    #: where it is seen (a missing trailer: at the segment that ends its envelope); None = the end of the file
    segment_no: int | None
    segment_id: str | None  # the segment concerned (a missing trailer: its id)
    level: str  # filed at: "st" (the set), "gs" (the group), "isa" (the interchange) or "file"
    element: str | None = None  # e.g. "SE01"
    element_pos: int | None = None
    st_segment_no: int | None = None  # a set's problem: the position in the set (ST = 1) of the segments counted


def _problem(code: str, message: str, segment_no: int | None, segment_id: str | None, element: str | None = None,
             level: str | None = None, st_segment_no: int | None = None) -> EnvelopeProblem:
    return EnvelopeProblem(code, message, segment_no, segment_id, level or CODES[code].level, element,
                           int(element[-2:]) if element else None, st_segment_no)


_NONE: tuple[EnvelopeProblem, ...] = ()


# --------------------------------------------------------------------------------------------------
# the state machine


class EnvelopeMachine:
    """The one envelope state machine: ISA..IEA, GS..GE, ST..SE, for the reader and the validator alike.

    It is fed the envelope segments (and any other segment that arrives outside a transaction set) with
    their segment numbers, keeps the open interchange / group / set, the counts and the control numbers
    seen (ISA13 unique in the file, GS06 in the interchange, ST02 in the group), and returns each problem
    once, as an `EnvelopeProblem`. What to do with a problem is the caller's: the reader raises or records
    an `X12Error`, the validator files a `Finding` with its 999 / TA1 code.

    Every segment takes two calls, so that a caller can check the segment's elements in between (the
    validator does; its findings keep file order): `begin(id, no)` says what the segment's arrival means
    for the envelope -- trailers that never came (the set, group or interchange it ends is closed), or
    that it has nowhere to go -- then `isa` / `gs` / `st` / `se` / `ge` / `iea` check its values and open
    or close what it opens or closes. A segment that `begin` found misplaced changes nothing there.

    SE01 is checked against segment numbers (`se`: this SE's number minus the ST's, plus one), so a reader
    that skips segments unread still counts them. An ISA is never part of a set.
    """

    __slots__ = ("interchange", "group", "transaction", "groups", "sets", "isa_ids", "gs_ids", "st_ids", "started")

    def __init__(self) -> None:
        self.interchange: Interchange | None = None
        self.group: FunctionalGroup | None = None
        self.transaction: TransactionSet | None = None
        self.groups = 0  # GS in the open interchange
        self.sets = 0  # ST in the open group
        self.isa_ids: set[str] = set()
        self.gs_ids: set[str] = set()
        self.st_ids: set[str] = set()
        self.started = False  # an ISA was seen

    # ---------------------------------------------------------------------------------- arrivals
    def begin(self, seg_id: str, seg_no: int) -> tuple[EnvelopeProblem, ...] | list[EnvelopeProblem]:
        """What the arrival of segment `seg_id` (number `seg_no`) means for the envelope; ends what it ends."""
        if seg_id == "SE":
            if self.transaction is not None:
                return _NONE
            if self.group is not None:
                return [_problem("se_without_st", "SE without a matching ST", seg_no, "SE")]
            return [_problem("se_without_st", "SE without a matching ST", seg_no, "SE", level=self._outer())]
        if seg_id == "ST":
            if self.group is None:
                return [_problem("st_outside_group", "ST outside a functional group (GS..GE)", seg_no, "ST",
                                 level=self._outer())]
            return self.end_set(seg_no, seg_id) if self.transaction is not None else _NONE
        if seg_id == "GE":
            if self.group is None:
                return [_problem("ge_without_gs", "GE without a matching GS", seg_no, "GE", level=self._outer())]
            return self.end_set(seg_no, seg_id) if self.transaction is not None else _NONE
        if seg_id == "GS":
            if self.interchange is None:
                return [_problem("gs_outside_interchange", "GS outside an interchange (ISA..IEA)", seg_no, "GS")]
            return self._end_group(seg_no, seg_id)
        if seg_id == "IEA":
            if self.interchange is None:
                return [_problem("iea_without_isa", "IEA without a matching ISA", seg_no, "IEA")]
            out = []
            if self.group is not None:
                out.append(_problem("group_unterminated", "IEA while a functional group is open", seg_no, "IEA"))
            out += self._end_group(seg_no, seg_id)
            return out
        if seg_id == "ISA":
            return self._end_interchange(seg_no, seg_id)
        if self.transaction is not None:
            return _NONE
        return [_problem("outside_transaction", f"segment {shown_id(seg_id)} outside a transaction set (ST..SE)",
                         seg_no, shown_id(seg_id), level="gs" if self.group is not None else self._outer())]

    def end_of_file(self, last_seg_no: int) -> list[EnvelopeProblem]:
        """The file ends after segment `last_seg_no`: trailers that never came, or no segment at all."""
        if not self.started:
            return [_problem("empty", "file is empty", None, None)]
        return self._end_interchange(None, None, last_seg_no)

    def _outer(self) -> str:
        return "isa" if self.interchange is not None else "file"

    def end_set(self, seg_no: int | None, seg_id: str | None, last_seg_no: int | None = None) -> list[EnvelopeProblem]:
        """The open set ends at segment `seg_no` (id `seg_id`; None, None: at the end of the file, after segment
        `last_seg_no`) without its SE."""
        st = self.transaction
        self.transaction = None
        last = seg_no - 1 if seg_id == "ISA" else seg_no if seg_no is not None else last_seg_no
        return [_problem("se_missing", f"transaction set {_number(st.control_number)} has no SE trailer", seg_no, "SE",
                         st_segment_no=last - st.segment_no + 1 if last is not None else None)]

    def _end_group(self, seg_no: int | None, seg_id: str | None,
                   last_seg_no: int | None = None) -> list[EnvelopeProblem]:
        out = self.end_set(seg_no, seg_id, last_seg_no) if self.transaction is not None else []
        if self.group is not None:
            out.append(_problem("ge_missing", f"functional group {_number(self.group.control_number)} has no GE trailer",
                                seg_no, "GE"))
            self.group = None
        return out

    def _end_interchange(self, seg_no: int | None, seg_id: str | None,
                         last_seg_no: int | None = None) -> list[EnvelopeProblem]:
        out = self._end_group(seg_no, seg_id, last_seg_no)
        if self.interchange is not None:
            out.append(_problem("iea_missing", f"interchange {_number(self.interchange.control_number)} has no IEA trailer",
                                seg_no, "IEA"))
            self.interchange = None
        return out

    # ---------------------------------------------------------------------------------- values
    def isa(self, elements: list[str], seg_no: int, delimiters: Delimiters) -> tuple[EnvelopeProblem, ...] | list:
        """Open an interchange (after `begin("ISA", ...)`)."""
        self.started = True
        isa = self.interchange = Interchange(elements, delimiters, seg_no)
        self.groups = 0
        self.gs_ids = set()
        control = isa.control_number
        duplicate = control in self.isa_ids
        self.isa_ids.add(control)
        if duplicate:
            return [_problem("isa_control_duplicate", "ISA13 is used by another interchange in this file", seg_no,
                             "ISA", "ISA13")]
        return _NONE

    def gs(self, elements: list[str], seg_no: int) -> tuple[EnvelopeProblem, ...] | list:
        """Open a functional group (after `begin("GS", ...)`)."""
        if self.interchange is None:
            return _NONE
        gs = self.group = FunctionalGroup(elements, self.interchange, seg_no)
        self.groups += 1
        self.sets = 0
        self.st_ids = set()
        control = gs.control_number
        duplicate = control in self.gs_ids
        self.gs_ids.add(control)
        if duplicate:
            return [_problem("gs_control_duplicate", "GS06 is used by another group in this interchange", seg_no,
                             "GS", "GS06")]
        return _NONE

    def st(self, elements: list[str], seg_no: int) -> tuple[EnvelopeProblem, ...] | list:
        """Open a transaction set (after `begin("ST", ...)`; none opens outside a group)."""
        if self.group is None:
            return _NONE
        st = self.transaction = TransactionSet(elements, self.group, seg_no)
        self.sets += 1
        control = st.control_number
        duplicate = control in self.st_ids
        self.st_ids.add(control)
        if duplicate:
            return [_problem("st_control_duplicate", "ST02 is used by another transaction set in this group", seg_no,
                             "ST", "ST02", st_segment_no=1)]
        return _NONE

    def se(self, elements: list[str], seg_no: int) -> list[EnvelopeProblem]:
        """Close the open set at its SE: SE02 against ST02, SE01 against the segments ST..SE."""
        st = self.transaction
        if st is None:
            return []
        self.transaction = None
        count = seg_no - st.segment_no + 1
        out = []
        if _el(elements, 2) != st.control_number:
            out.append(_problem("se_control_mismatch", "SE02 does not match ST02", seg_no, "SE", "SE02",
                                st_segment_no=count))
        value = _el(elements, 1)
        if value != str(count):
            out.append(_problem("se_count", f"SE01 says {_number(value) or 'nothing'}, the set has {count} segments", seg_no,
                                "SE", "SE01", st_segment_no=count))
        return out

    def leave_set(self) -> None:
        """Close the open set at its SE unchecked: another process checks the set (the validator's second
        process, see cob.edi.validate.remote), this one only counts it."""
        self.transaction = None

    def leave_interchange(self) -> None:
        """Close the open interchange at its IEA unchecked: the caller did not read its content (an X12
        version it does not read, reported once at the ISA), so its counts mean nothing here."""
        self.interchange = None
        self.group = None
        self.transaction = None

    def ge(self, elements: list[str], seg_no: int) -> list[EnvelopeProblem]:
        """Close the open group at its GE: GE02 against GS06, GE01 against the sets it held."""
        gs = self.group
        if gs is None:
            return []
        self.group = None
        out = []
        if _el(elements, 2) != gs.control_number:
            out.append(_problem("ge_control_mismatch", "GE02 does not match GS06", seg_no, "GE", "GE02"))
        value = _el(elements, 1)
        if value != str(self.sets):
            out.append(_problem("ge_count", f"GE01 says {_number(value) or 'nothing'}, the group has {self.sets} transaction "
                                "sets", seg_no, "GE", "GE01"))
        return out

    def iea(self, elements: list[str], seg_no: int) -> list[EnvelopeProblem]:
        """Close the open interchange at its IEA: IEA02 against ISA13, IEA01 against the groups it held."""
        isa = self.interchange
        if isa is None:
            return []
        self.interchange = None
        out = []
        if _el(elements, 2) != isa.control_number:
            out.append(_problem("iea_control_mismatch", "IEA02 does not match ISA13", seg_no, "IEA", "IEA02"))
        value = _el(elements, 1)
        if value != str(self.groups):
            out.append(_problem("iea_count", f"IEA01 says {_number(value) or 'nothing'}, the interchange has {self.groups} "
                                "groups", seg_no, "IEA", "IEA01"))
        return out

    def resume(self, isa13: str, gs: list[str], gs_segment_no: int, taken_st02: str | None,
               delimiters: Delimiters) -> None:
        """Stand in the group a transaction set checked in another process comes from: interchange `isa13`,
        group `gs` (its elements), ST02 `taken_st02` already used there (None: none that matters)."""
        self.started = True
        isa = ["ISA"] + [""] * 16
        isa[13] = isa13
        self.interchange = Interchange(isa, delimiters, 0)
        self.group = FunctionalGroup(gs, self.interchange, gs_segment_no)
        self.transaction = None
        self.groups = 1
        self.sets = 0
        self.st_ids = {taken_st02} if taken_st02 is not None else set()


class EnvelopeReader:
    """Yields `(transaction, elements, segment_no, st_segment_no)` for every segment from ST to SE.

    The envelope is `EnvelopeMachine`'s; its problems become `X12Error`s with the same codes. Strict: the
    first raises `X12SyntaxError`; otherwise they collect in `errors` and reading goes on. The reader's own
    check: ISA13 must be digits (its width is the tokenizer's; the validator checks every ISA element).
    """

    def __init__(self, path: str | Path, strict: bool = True, chunk_size: int | None = None,
                 name: str | None = None):
        self.path = Path(path)
        self.name = name or str(path)  # what messages call the file (`<stdin>` for a spooled pipe)
        self.strict = strict
        self.segments = (SegmentReader(path, chunk_size, name=self.name) if chunk_size
                         else SegmentReader(path, name=self.name))
        self.errors: list[X12Error] = []
        self.machine = EnvelopeMachine()

    def _error(self, err: X12Error) -> None:
        self.errors.append(err)
        if self.strict:
            raise X12SyntaxError(err)

    def _report(self, problems) -> None:
        for p in problems:
            self._error(X12Error(self.name, p.segment_no, p.segment_id, p.message, code=p.code,
                                 st_segment_no=p.st_segment_no))

    def _take_reader_errors(self) -> None:
        reader = self.segments
        while reader.errors:
            self._error(reader.errors.pop(0))

    def __iter__(self) -> Iterator[tuple[TransactionSet, list[str], int, int]]:
        machine = self.machine
        report = self._report
        envelope_ids = ENVELOPE_IDS
        st: TransactionSet | None = None
        st_start = 0
        seg_no = 0
        for elements, seg_no in self.segments:
            sid = elements[0]
            if st is not None and sid not in envelope_ids:
                yield st, elements, seg_no, seg_no - st_start  # counted, not incremented: a reader may skip segments
                continue
            report(machine.begin(sid, seg_no))
            if sid == "SE":
                if st is not None:
                    yield st, elements, seg_no, seg_no - st_start
                    report(machine.se(elements, seg_no))
            elif sid == "ST":
                problems = machine.st(elements, seg_no)
                if machine.transaction is not None:
                    st_start = seg_no - 1
                    report(problems)
                    st = machine.transaction
                    yield st, elements, seg_no, 1
                    continue
            elif sid == "GE":
                report(machine.ge(elements, seg_no))
            elif sid == "GS":
                report(machine.gs(elements, seg_no))
            elif sid == "IEA":
                report(machine.iea(elements, seg_no))
            elif sid == "ISA":
                self._take_reader_errors()
                control = _el(elements, 13)
                if not control.isdigit():
                    self._error(X12Error(self.name, seg_no, "ISA", "ISA13 (Interchange Control Number) has a "
                                         "character not allowed for type N0", code="element_invalid_character"))
                report(machine.isa(elements, seg_no, self.segments.delimiters))
            st = machine.transaction
        self._take_reader_errors()
        report(machine.end_of_file(seg_no))


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
