"""Writing X12: segments to text, loops in implementation-guide order, 837P transactions under HLs.

`SegmentWriter` turns element lists into text with chosen delimiters and counts segments for SE01.
`loop_segments` orders a loop model's segments and child loops by their IG positions (from the compiled
tables), so a claim read and written back keeps its segment order. `Claim837Writer` groups claims under
2000A billing provider / 2000B subscriber / 2000C patient HLs, numbering HLs and parent pointers, and
wraps them in ISA/GS/ST with counts and caller-supplied control numbers.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

from schemas.base import Loop, RawSegment
from schemas.claim import Claim, TransactionHeader
from schemas.segments import HL

from .envelope import ControlNumbers, Party, format_isa
from .ig.tables import TransactionTable, load_table
from .tokens import DEFAULT_DELIMITERS, Delimiters

X222 = "005010X222A1"
_UNKNOWN_POS = 10**7


class DelimiterInDataError(ValueError):
    """A value contains one of the delimiters, so it cannot be written faithfully."""


class SegmentWriter:
    """Writes element lists as X12 text; counts segments since the last `reset_count`."""

    def __init__(self, out: IO[str], delimiters: Delimiters = DEFAULT_DELIMITERS, newline: bool = True):
        self.out = out
        self.d = delimiters
        self.end = delimiters.segment + ("\n" if newline and delimiters.segment != "\n" else "")
        self.count = 0  # since the last ST (for SE01)
        self.total = 0  # since the start of the output: the segment number of the last one written
        self._forbidden = {delimiters.element, delimiters.component, delimiters.segment, delimiters.repetition}
        self._others = tuple(self._forbidden - {delimiters.element})

    def _value(self, value) -> str:
        if isinstance(value, str):
            self._check(value)
            return value
        if value and isinstance(value[0], list):  # a repeated element
            return self.d.repetition.join(self._composite(v) for v in value)
        return self._composite(value)

    def _composite(self, components: list[str]) -> str:
        for c in components:
            self._check(c)
        while components and components[-1] == "":
            components = components[:-1]
        return self.d.component.join(components)

    def _check(self, text: str) -> None:
        for ch in self._forbidden:
            if ch in text:
                raise DelimiterInDataError(f"a value contains the delimiter {ch!r}")

    def text(self, segment: RawSegment) -> str:
        sep = self.d.element
        try:
            joined = sep.join(segment)  # TypeError when a composite (a list) is in it
        except TypeError:
            pass
        else:
            # all simple values: one check of the whole text instead of one per value
            if joined.count(sep) == len(segment) - 1 and not any(ch in joined for ch in self._others):
                return joined.rstrip(sep)
        values = [self._value(v) for v in segment]
        while len(values) > 1 and values[-1] == "":
            values.pop()
        return self.d.element.join(values)

    def write(self, segment: RawSegment) -> None:
        self.out.write(self.text(segment) + self.end)
        self.count += 1
        self.total += 1

    def write_raw(self, text: str) -> None:
        """An already formatted segment without terminator (the fixed-width ISA)."""
        self.out.write(text + self.end)
        self.count += 1
        self.total += 1


def loop_segments(loop: Loop, table: TransactionTable) -> list[RawSegment]:
    """All segments of a loop model and its descendants, in IG order (stable for equal positions)."""
    loop_id = loop.loop_id()
    entries: list[tuple[int, int, int, list[RawSegment]]] = []
    own = loop.own_segments()
    known_max = 0
    unknown: list[RawSegment] = []
    for seq, seg in enumerate(own):
        pos = table.segment_pos(loop_id, seg)
        if pos is None:
            unknown.append(seg)
            continue
        known_max = max(known_max, pos)
        entries.append((pos, 0, seq, [seg]))
    for seq, seg in enumerate(unknown):
        entries.append((known_max, 0, len(own) + seq, [seg]))
    for seq, child in enumerate(loop.child_loops()):
        child_def = table.by_id.get(child.loop_id())
        pos = child_def.pos if child_def is not None else _UNKNOWN_POS
        entries.append((pos, 1, seq, loop_segments(child, table)))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    out: list[RawSegment] = []
    for entry in entries:
        out.extend(entry[3])
    return out


@dataclass
class InterchangeInfo:
    """What goes into ISA/GS: sender and receiver, usage indicator, date."""

    sender: Party
    receiver: Party
    group_sender: str | None = None
    group_receiver: str | None = None
    usage: str = "P"
    when: _dt.datetime | None = None


class Claim837Writer:
    """Writes one interchange of 837P transactions, claims grouped under HL levels as they come.

    Consecutive claims that share billing provider / subscriber / patient share HLs; claims should be
    given grouped (the pipeline sorts them) to keep files small, but any order is valid X12.
    """

    def __init__(self, out: IO[str], info: InterchangeInfo, control_numbers: ControlNumbers,
                 delimiters: Delimiters = DEFAULT_DELIMITERS, table: TransactionTable | None = None):
        self.seg = SegmentWriter(out, delimiters)
        self.info = info
        self.numbers = control_numbers
        self.table = table or load_table(X222)
        self.d = delimiters
        self.when = info.when or _dt.datetime.now()
        self.isa_control = 0
        self.group_control = 0
        self.transactions = 0
        self.claims = 0
        self._st_control = ""
        self._in_st = False

    # --- envelope
    def start(self) -> None:
        self.isa_control = self.numbers.next_interchange()
        self.group_control = self.numbers.next_group()
        self.seg.write_raw(format_isa(self.info.sender, self.info.receiver, self.isa_control, self.d, self.when,
                                      usage=self.info.usage)[:-1])
        self.seg.write(["GS", "HC", self.info.group_sender or self.info.sender.id,
                        self.info.group_receiver or self.info.receiver.id, self.when.strftime("%Y%m%d"),
                        self.when.strftime("%H%M"), str(self.group_control), "X", X222])

    def finish(self) -> None:
        if self._in_st:
            self.end_transaction()
        self.seg.write(["GE", str(self.transactions), str(self.group_control)])
        self.seg.write(["IEA", "1", f"{self.isa_control:09d}"])

    def begin_transaction(self, header: TransactionHeader) -> None:
        if self._in_st:
            self.end_transaction()
        self._st_control = f"{self.numbers.next_transaction():04d}"
        self.seg.count = 0
        self.seg.write(["ST", "837", self._st_control, X222])
        for segment in loop_segments(header, self.table):
            self.seg.write(segment)
        self._in_st = True
        self._hl = 0
        self._keys: list = [None, None, None]
        self._ids: list[int] = [0, 0, 0]
        self.transactions += 1

    def end_transaction(self) -> None:
        self.seg.write(["SE", str(self.seg.count + 1), self._st_control])
        self._in_st = False

    # --- claims
    def _level(self, level: int, model: Loop, parent: int | None, code: str, has_children: bool) -> None:
        self._hl += 1
        self._ids[level] = self._hl
        hl = HL(id=str(self._hl), parent_id=str(parent) if parent else None, level_code=code,
                child_code="1" if has_children else "0")
        self.seg.write(hl.to_elements())
        for segment in loop_segments(model, self.table):
            if segment[0] != "HL":
                self.seg.write(segment)

    def write_claim(self, claim: Claim) -> None:
        if claim.billing_provider is None or claim.subscriber is None:
            raise ValueError(f"claim {claim.claim_id} has no billing provider or subscriber level")
        # Claims share a hierarchy level when they carry the very same context object (the reader
        # gives all claims of one HL the same instance; builders share instances to group claims).
        keys = self._keys
        if keys[0] is not claim.billing_provider:
            self._level(0, claim.billing_provider, None, "20", True)
            keys[:] = [claim.billing_provider, None, None]
        if keys[1] is not claim.subscriber or (keys[2] is None) != (claim.patient is None):
            self._level(1, claim.subscriber, self._ids[0], "22", claim.patient is not None)
            keys[1:] = [claim.subscriber, None]
        if claim.patient is not None and keys[2] is not claim.patient:
            self._level(2, claim.patient, self._ids[1], "23", False)
            keys[2] = claim.patient
        for segment in loop_segments(claim, self.table):
            self.seg.write(segment)
        self.claims += 1


def file_mode() -> int:
    """The mode a plain `open()` would give a new file (mkstemp's 0600 would hide outputs from the
    clearinghouse's upload user)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def publish(tmp: Path, final: Path) -> None:
    """Make a finished temp file durable and visible: fsync it, rename it into place, fsync the folder."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def atomic_output(path: str | Path) -> Iterator[IO[str]]:
    """A text file that appears at `path` only when complete: temp file in the same folder, fsync, rename.

    On any exception the temp file is removed and nothing is left at `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, file_mode())
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        publish(Path(tmp), path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_837(path: str | Path, claims: Iterable[Claim], info: InterchangeInfo, control_numbers: ControlNumbers,
              header: TransactionHeader | None = None, delimiters: Delimiters = DEFAULT_DELIMITERS) -> int:
    """Write claims as one 837P interchange (one ST) atomically; returns the ISA13 used.

    The transaction header (BHT, 1000A, 1000B) is `header`, or the first claim's own header.
    """
    with atomic_output(path) as fh:
        writer = Claim837Writer(fh, info, control_numbers, delimiters)
        writer.start()
        started = False
        for claim in claims:
            if not started:
                hdr = header or claim.header
                if hdr is None:
                    raise ValueError("no transaction header (BHT/1000A/1000B) to write")
                writer.begin_transaction(hdr)
                started = True
            writer.write_claim(claim)
        if not started:
            raise ValueError("no claims to write")
        writer.finish()
        return writer.isa_control

