"""Writing X12: segments to text, loops in implementation-guide order, 837P transactions under HLs.

`SegmentWriter` turns element lists into text with chosen delimiters and counts segments for SE01.
`Claim837Writer.loop_text` orders a loop model's segments and child loops by their IG positions (from the
compiled tables), so a claim read and written back keeps its segment order. `Claim837Writer` groups claims under
2000A billing provider / 2000B subscriber / 2000C patient HLs, numbering HLs and parent pointers, and
wraps them in ISA/GS/ST with counts and caller-supplied control numbers.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from schemas.base import Composite, Loop, RawSegment, Segment, format_amount, format_date, format_value
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
        self._formatters = _Formatters(self._composite_text)

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

    def model_text(self, segment: Segment) -> str:
        """A segment model as text with its terminator."""
        return self.models_text((segment,))

    def models_text(self, segments: Iterable[Segment]) -> str:
        """Segment models as text, each with its terminator, the values formatted straight from the models.

        One check of each joined text replaces one per value: the element separators must be exactly the
        ones joined in, component separators only those of the composites (whose components are checked
        on their own), and no segment terminator or repetition separator anywhere. Anything else takes
        the element-by-element path, which raises `DelimiterInDataError` as it always did.
        """
        sep, comp, terminator, repetition = self.d.element, self.d.component, self.d.segment, self.d.repetition
        formatters = self._formatters
        out = []
        for segment in segments:
            try:
                parts = ["" if v is None else v if type(v) is str else formatters[type(v)](v)
                         for v in segment.element_values()]
            except _NeedsCheck:
                out.append(self.text(segment.to_elements()))
                continue
            text = sep.join(parts)
            composites = 0
            for i in segment.composite_positions:
                composites += parts[i].count(comp)
            if text.count(sep) == len(parts) - 1 and text.count(comp) == composites \
                    and terminator not in text and repetition not in text:
                out.append((segment.SEGMENT_ID + sep + text).rstrip(sep))
            else:
                out.append(self.text(segment.to_elements()))
        out.append("")
        return self.end.join(out)

    def _composite_text(self, value: Composite) -> str:
        """A composite's components joined, trailing empty ones left out; `_NeedsCheck` when a component
        holds the component separator itself."""
        formatters = self._formatters
        parts = ["" if v is None else v if type(v) is str else formatters[type(v)](v)
                 for v in value.component_values()]
        sep = self.d.component
        text = sep.join(parts)
        if text.count(sep) != len(parts) - 1:
            raise _NeedsCheck
        return text.rstrip(sep)

    def write(self, segment: RawSegment) -> None:
        self.out.write(self.text(segment) + self.end)
        self.count += 1
        self.total += 1

    def write_text(self, text: str) -> None:
        """Segments already formatted by `model_text` / `text`, each with its terminator.

        No value contains the terminator (both check it), so counting terminators counts segments.
        """
        n = text.count(self.end)
        self.out.write(text)
        self.count += n
        self.total += n

    def write_raw(self, text: str) -> None:
        """An already formatted segment without terminator (the fixed-width ISA)."""
        self.out.write(text + self.end)
        self.count += 1
        self.total += 1


class _Formatters(dict):
    """Value type -> the function that writes it (the dispatch of `format_value`, done once per type)."""

    def __init__(self, composite: Callable[[Composite], str]):
        super().__init__()
        self.composite = composite

    def __missing__(self, kind: type) -> Callable[[Any], str]:
        if issubclass(kind, Composite):
            write = self.composite
        elif issubclass(kind, str):  # a str enum: its text is the value
            write = str.__str__
        elif issubclass(kind, Decimal):
            write = format_amount
        elif issubclass(kind, _dt.date):
            write = format_date
        else:
            write = format_value
        self[kind] = write
        return write


class _NeedsCheck(Exception):
    """A model's value needs the element-by-element check of `SegmentWriter.text`."""


#: a segment field whose segments the IG places by their qualifier: each is looked up
_PER_SEGMENT = -1
#: order keys of a loop's own segments: field i's segments from i * _SPAN, raw segments after all fields
_SPAN = 1 << 32


@dataclass(frozen=True, slots=True)
class _LoopPlan:
    """How one loop model class (under one loop id) is written: its fields with their IG positions.

    Positions are looked up once here instead of once per segment written. When the loop holds only
    segments its IG node places at fixed positions, and its child loops come after them all (the usual
    case), `in_order` already is the written order; otherwise every segment and loop is placed and sorted
    (`segments`), segments kept raw or placed by their qualifier one by one.
    """

    #: (field name, is a list, IG position or None when the loop has no such segment, order key, segment id)
    segments: tuple[tuple[str, bool, int | None, int, str], ...]
    #: (field name, is a list, segment id) of the fields placed at fixed positions, in IG order
    in_order: tuple[tuple[str, bool, str], ...]
    unplaced: tuple[str, ...]  # the other segment fields: when one is filled, `in_order` does not do
    last_pos: int  # the highest of those fixed positions: child loops at or after it follow every segment
    children: tuple[tuple[str, bool], ...]
    raw_segments: str
    raw_loops: str
    first_raw: int  # order key of the first raw segment

    @classmethod
    def build(cls, model: type[Loop], loop_id: str, table: TransactionTable) -> "_LoopPlan":
        loop_def = table.by_id.get(loop_id)
        segments = []
        for i, (name, seg_id, many) in enumerate(model.segment_fields()):
            positions = {d.pos for d in loop_def.segment_defs(seg_id)} if loop_def is not None else set()
            pos = _PER_SEGMENT if len(positions) > 1 else (positions.pop() if positions else None)
            segments.append((name, many, pos, i * _SPAN, seg_id))
        placed = sorted((pos, key, name, many, seg_id) for name, many, pos, key, seg_id in segments
                        if pos is not None and pos != _PER_SEGMENT)
        return cls(tuple(segments), tuple((name, many, seg_id) for _pos, _key, name, many, seg_id in placed),
                   tuple(name for name, _many, pos, _key, _id in segments if pos is None or pos == _PER_SEGMENT),
                   max((entry[0] for entry in placed), default=0), model.child_fields, model.RAW_SEGMENTS,
                   model.RAW_LOOPS, len(segments) * _SPAN)


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
        self._plans: dict[tuple[type[Loop], str], _LoopPlan] = {}

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
        self.seg.write_text(self.loop_text(header))
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
        self.seg.write_text(self.seg.model_text(hl))
        self.seg.write_text(self.loop_text(model, skip="HL"))

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
        self.seg.write_text(self.loop_text(claim))
        self.claims += 1

    # --- loops
    def loop_text(self, loop: Loop, skip: str | None = None) -> str:
        """A loop model and its descendants as text, segments in IG order (stable for equal positions).

        The order is that of sorting by (IG position, segments before loops, order in the model): a
        segment the loop's IG node does not have goes after the last placed one, as the reader found it.
        `skip` leaves out segments with that id (the HL, which `_level` writes with fresh numbers).
        """
        loop_id = loop.loop_id()
        plan = self._plans.get((type(loop), loop_id))
        if plan is None:
            plan = self._plans[(type(loop), loop_id)] = _LoopPlan.build(type(loop), loop_id, self.table)
        fields = loop.__dict__  # pydantic keeps field values here
        children = self._children(plan, fields, skip) if plan.children or fields[plan.raw_loops] else []
        if fields[plan.raw_segments] or (plan.unplaced and any([fields[name] for name in plan.unplaced])) \
                or (children and min(children)[0] < plan.last_pos):
            entries = self._segment_entries(plan, fields, loop_id, skip) + children
            entries.sort()
            return "".join([entry[3] for entry in entries])
        segments: list[Segment] = []
        for name, many, seg_id in plan.in_order:
            value = fields[name]
            if value and seg_id != skip:
                if many:
                    segments.extend(value)
                else:
                    segments.append(value)
        if len(children) > 1:
            children.sort()
        return self.seg.models_text(segments) + "".join([child[3] for child in children])

    def _children(self, plan: _LoopPlan, fields: dict, skip: str | None) -> list[tuple[int, int, int, str]]:
        """(IG position, 1, order in the model, text) of each child loop."""
        by_id = self.table.by_id
        children = []
        for name, many in plan.children:
            value = fields[name]
            if value is not None:
                children.extend(value if many else [value])
        children.extend(fields[plan.raw_loops])
        out = []
        for seq, child in enumerate(children):
            child_def = by_id.get(child.loop_id())
            pos = child_def.pos if child_def is not None else _UNKNOWN_POS
            out.append((pos, 1, seq, self.loop_text(child, skip)))
        return out

    def _segment_entries(self, plan: _LoopPlan, fields: dict, loop_id: str,
                         skip: str | None) -> list[tuple[int, int, int, str]]:
        """(IG position, 0, order in the model, text) of the loop's segments, a list field's as one entry
        (they share a position). Segments the IG node lacks follow the highest placed one."""
        entries: list[tuple[int, int, int, str]] = []
        unknown: list[str] = []
        known_max = 0
        models_text = self.seg.models_text
        for name, many, pos, seq, seg_id in plan.segments:
            value = fields[name]
            if not value:
                continue
            if pos == _PER_SEGMENT:
                for j, item in enumerate(value if many else [value]):
                    known_max = self._place(entries, unknown, known_max, loop_id, item.to_elements(),
                                            models_text((item,)), seq + j, skip)
                continue
            if pos is None:
                if seg_id != skip:
                    unknown.append(models_text(value if many else (value,)))
                continue
            if pos > known_max:
                known_max = pos
            if seg_id != skip:
                entries.append((pos, 0, seq, models_text(value if many else (value,))))
        raw = fields[plan.raw_segments]
        for i, segment in enumerate(raw):
            known_max = self._place(entries, unknown, known_max, loop_id, segment,
                                    self.seg.text(segment) + self.seg.end, plan.first_raw + i, skip)
        if unknown:  # after every placed segment at the highest position, in the model's order
            entries.append((known_max, 0, plan.first_raw + len(raw), "".join(unknown)))
        return entries

    def _place(self, entries: list, unknown: list[str], known_max: int, loop_id: str, elements: RawSegment,
               text: str, seq: int, skip: str | None) -> int:
        """Add one segment placed by its own qualifier; returns the highest position placed so far."""
        pos = self.table.segment_pos(loop_id, elements)
        if elements[0] == skip:
            return known_max if pos is None else max(known_max, pos)
        if pos is None:
            unknown.append(text)
            return known_max
        entries.append((pos, 0, seq, text))
        return max(known_max, pos)


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

