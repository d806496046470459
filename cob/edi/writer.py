"""Writing X12: segments to text, loops in implementation-guide order, 837P transactions under HLs.

`SegmentWriter` turns element lists into text with chosen delimiters and counts segments for SE01.
`Claim837Writer.loop_text` orders a loop model's segments and child loops by their IG positions (from the
compiled tables), so a claim read and written back keeps its segment order. `Claim837Writer` groups claims under
2000A billing provider / 2000B subscriber / 2000C patient HLs, numbering HLs and parent pointers, and
wraps them in ISA/GS/ST with counts and caller-supplied control numbers.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import operator
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from cob.schemas.base import (Composite, Loop, RawSegment, Segment, format_amount_memo, format_date,
                          format_value)
from cob.schemas.claim import Claim, TransactionHeader
from cob.schemas.segments import HL

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
        self._functions = _TextFunctions(delimiters)

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

        One check of all the texts together replaces one per value: each text holds the element separators
        joined in and its stripped composites the component separators left of those joined in (counted as
        they are made), a value holding a delimiter adds to them, and no segment terminator or repetition
        separator may be anywhere. When they do not match, or a value is not of its field's type, the
        segments take the element-by-element path, which raises `DelimiterInDataError` as it always did.
        """
        if not isinstance(segments, (list, tuple)):
            segments = list(segments)
        functions = self._functions
        functions.joins[0] = 0
        try:
            texts = [functions[type(segment)](segment.__dict__) for segment in segments]
        except TypeError:  # a value its field does not declare, or a signaling NaN (it cannot be hashed)
            texts = None
        if texts is not None:
            sep = self.d.element
            whole = "".join(texts)
            if whole.count(sep) == sum(map(functions.joiners.__getitem__, map(type, segments))) \
                    and whole.count(self.d.component) == functions.joins[0] \
                    and self.d.segment not in whole and self.d.repetition not in whole:
                texts = [text.rstrip(sep) for text in texts]
                texts.append("")
                return self.end.join(texts)
        return "".join([self.text(segment.to_elements()) + self.end for segment in segments])

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


#: component separator -> (text, component separators left) of composites of str components by their values,
#: shared by the writers (procedure codes, pointers, diagnoses repeat), up to `_MEMO` of them
_COMPOSITE_TEXTS: dict[str, dict[tuple, tuple[str, int]]] = {}
_MEMO = 1 << 12


class _TextFunctions(dict):
    """Segment or composite class -> the function that writes an instance's values from its field dict,
    made for the class once (`_segment_text`, `_composite_text`).

    A segment's text is its id and every value, each after an element separator (`joiners` of the class:
    trailing empty ones are stripped by `models_text`). A composite's is stripped, and the component
    separators left of those joined in are added to `joins[0]`; a composite of str components is remembered
    by its values (`_COMPOSITE_TEXTS`). A value is written by its type (`_Formatters`): a str as it is,
    None as "", a composite by its class's function; a value of another type where a composite is declared
    may hold component separators (a text holding its components already joined): they are counted too.
    """

    def __init__(self, delimiters: Delimiters):
        super().__init__()
        self.delimiters = delimiters
        self.joins = [0]
        self.joiners: dict[type[Segment], int] = {}
        self.formatters = _Formatters(self)

    def __missing__(self, kind: type) -> Callable[[dict], str]:
        if issubclass(kind, Composite):
            text = _composite_text(kind, self)
        else:
            self.joiners[kind] = len(kind.field_types)
            text = _segment_text(kind, self)
        self[kind] = text
        return text


#: `_none_as_empty(value, value)`: "" for None, else the value itself. Mapped over a segment's values it
#: makes None "" without a Python frame per value (a list comprehension is a function call of its own
#: before Python 3.12); a value that cannot be hashed raises TypeError, which sends the claim the
#: element-by-element way (`models_text`).
_none_as_empty = {None: ""}.get


def _declared(field_type: Any, kind: type) -> bool:
    return isinstance(field_type, type) and issubclass(field_type, kind)


def _written_values(kind: type, functions: _TextFunctions) -> Callable[[dict], list]:
    """The function giving the texts of an instance's values (in field order, not joined) from its field
    dict: the values in one C-level lookup, None made "" and a str field's value (str enums too) kept as
    it is; only the fields not declared str are looked at one by one, their value written by its type
    (`_Formatters`). In a field declared a composite, a value that is not one may hold component
    separators (a text holding its components already joined): they are counted as allowed."""
    values = kind._values
    formatters = functions.formatters
    others = tuple(i for i, t in enumerate(kind.field_types) if not _declared(t, str))
    composites = frozenset(i for i in others if _declared(kind.field_types[i], Composite))
    if not composites:
        def written(fields: dict) -> list:
            found = values(fields)
            texts = list(map(_none_as_empty, found, found))  # (an unhashable value: TypeError, the long way)
            for i in others:
                value = found[i]
                if value is not None:
                    texts[i] = formatters[type(value)](value)
            return texts

        return written
    joins = functions.joins
    component = functions.delimiters.component

    def written_with_composites(fields: dict) -> list:
        found = values(fields)
        texts = ["" if value is None else value for value in found]
        for i in others:
            value = found[i]
            if value is not None:
                text = texts[i] = formatters[type(value)](value)
                if i in composites and not isinstance(value, Composite):  # a composite's own are counted as made
                    joins[0] += text.count(component)
        return texts

    return written_with_composites


def _segment_text(kind: type[Segment], functions: _TextFunctions) -> Callable[[dict], str]:
    """A segment class's text function: its id, then every value after an element separator."""
    if not kind.field_types:  # the segment id alone
        segment_id = kind.SEGMENT_ID
        return lambda fields: segment_id
    head = kind.SEGMENT_ID + functions.delimiters.element
    join = functions.delimiters.element.join
    if all(_declared(t, str) for t in kind.field_types):  # the usual segment: None made "" at C level
        values = kind._values

        def text(fields: dict) -> str:
            found = values(fields)
            return head + join(map(_none_as_empty, found, found))

        return text
    written = _written_values(kind, functions)
    return lambda fields: head + join(written(fields))


def _composite_text(kind: type[Composite], functions: _TextFunctions) -> Callable[[dict], str]:
    """A composite class's text function: its values joined and stripped; the component separators left
    are added to `functions.joins[0]`. A composite of str components is remembered by its values in
    `_COMPOSITE_TEXTS` (str components are written the same for equal values, whatever the class; a value
    of another type makes the join raise before it is remembered)."""
    count = len(kind.field_types)
    if not count:  # an empty composite
        return lambda fields: ""
    sep = functions.delimiters.component
    join = sep.join
    joins = functions.joins
    if not all(_declared(t, str) for t in kind.field_types):
        written = _written_values(kind, functions)

        def text(fields: dict) -> str:
            joined = join(written(fields))
            stripped = joined.rstrip(sep)
            joins[0] += len(stripped) - len(joined) + count - 1
            return stripped

        return text
    values = kind._values
    memo = _COMPOSITE_TEXTS.setdefault(sep, {})

    def remembered(fields: dict) -> str:
        key = values(fields)
        found = memo.get(key)
        if found is None:
            joined = join(["" if value is None else value for value in key])
            stripped = joined.rstrip(sep)
            found = stripped, len(stripped) - len(joined) + count - 1
            if len(memo) < _MEMO:
                memo[key] = found
        joins[0] += found[1]
        return found[0]

    return remembered


class _Formatters(dict):
    """Value type -> the function that writes it (the dispatch of `format_value`, done once per type)."""

    def __init__(self, functions: _TextFunctions):
        super().__init__()
        self.functions = functions

    def __missing__(self, kind: type) -> Callable[[Any], str]:
        if issubclass(kind, Composite):
            function = self.functions[kind]
            write = lambda value: function(value.__dict__)  # noqa: E731
        elif issubclass(kind, str):  # a str enum: its text is the value
            write = str.__str__
        elif issubclass(kind, Decimal):  # (a signaling NaN makes it raise TypeError: `models_text` then
            write = format_amount_memo   # takes the element-by-element path, which writes it)
        elif issubclass(kind, _dt.date):
            write = format_date
        else:
            write = format_value
        self[kind] = write
        return write


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
    #: skip -> `gatherer(skip)`
    gatherers: dict[str | None, Callable[[dict, list[Segment]], bool]] = field(default_factory=dict)

    def gatherer(self, skip: str | None) -> Callable[[dict, list[Segment]], bool]:
        """A function that adds the loop's segments in `in_order` (but those with id `skip`) from its field
        dict to a list; it returns False, having added none, when the loop holds raw segments or an
        `unplaced` one. Made once per plan and skip (`_gatherer`): the names are picked out once."""
        gather = self.gatherers.get(skip)
        if gather is None:
            gather = self.gatherers[skip] = _gatherer((self.raw_segments,) + self.unplaced,
                                                      tuple((name, many) for name, many, seg_id in self.in_order
                                                            if seg_id != skip))
        return gather

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
        unplaced = tuple(name for name, _many, pos, _key, _id in segments if pos is None or pos == _PER_SEGMENT)
        return cls(tuple(segments), tuple((name, many, seg_id) for _pos, _key, name, many, seg_id in placed),
                   unplaced, max((entry[0] for entry in placed), default=0), model.child_fields,
                   model.RAW_SEGMENTS, model.RAW_LOOPS, len(segments) * _SPAN)


def _gatherer(blockers: tuple[str, ...],
              wanted: tuple[tuple[str, bool], ...]) -> Callable[[dict, list[Segment]], bool]:
    """The function of `_LoopPlan.gatherer`: False when any `blockers` field is filled, else the values of
    the `wanted` fields (name, is a list) added to the list in that order, empty ones left out."""
    blocked = operator.itemgetter(*blockers) if len(blockers) > 1 else None
    first = blockers[0]
    # runs of single segments are taken by one itemgetter and filtered at C level; a list field is a run
    # of its own: (getter, None) for singles, (None, name) for a list
    runs: list[tuple[Callable[[dict], Any] | None, str | None]] = []
    singles: list[str] = []
    for name, many in wanted:
        if many:
            if singles:
                runs.append((_getter(singles), None))
                singles = []
            runs.append((None, name))
        else:
            singles.append(name)
    if singles:
        runs.append((_getter(singles), None))
    if len(runs) == 1 and runs[0][0] is not None:  # singles only (most loops)
        only = runs[0][0]

        def gather_singles(fields: dict, segments: list[Segment]) -> bool:
            if (any(blocked(fields)) if blocked is not None else fields[first]):
                return False
            segments.extend(filter(None, only(fields)))
            return True

        return gather_singles

    def gather(fields: dict, segments: list[Segment]) -> bool:
        if (any(blocked(fields)) if blocked is not None else fields[first]):
            return False
        extend = segments.extend
        for getter, name in runs:
            if getter is not None:
                extend(filter(None, getter(fields)))
            else:
                value = fields[name]
                if value:
                    extend(value)
        return True

    return gather


def _getter(names: list[str]) -> Callable[[dict], tuple]:
    """The values of these fields of a field dict, as a tuple (one name too)."""
    if len(names) == 1:
        name = names[0]
        return lambda fields: (fields[name],)
    return operator.itemgetter(*names)


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
    """Writes one interchange of 837P (or, with the X223A2 guide, 837I) transactions, claims grouped under
    HL levels as they come.

    Consecutive claims that share billing provider / subscriber / patient share HLs; claims should be
    given grouped (the pipeline sorts them) to keep files small, but any order is valid X12.
    """

    def __init__(self, out: IO[str], info: InterchangeInfo, control_numbers: ControlNumbers,
                 delimiters: Delimiters = DEFAULT_DELIMITERS, table: TransactionTable | None = None,
                 guide: str | None = None):
        self.seg = SegmentWriter(out, delimiters)
        self.info = info
        self.numbers = control_numbers
        #: the implementation guide written (GS08, ST03) and whose positions order the loops: the 837P's
        #: by default, the 837I's for `InstitutionalClaim`s (`Claim.GUIDE`)
        self.table = table or load_table(guide or X222)
        self.guide = self.table.version
        self.d = delimiters
        self.when = info.when or _dt.datetime.now()
        self.isa_control = 0
        self.group_control = 0
        self.transactions = 0
        self.claims = 0
        self._st_control = ""
        self._in_st = False
        self._plans: dict[tuple[type[Loop], str], _LoopPlan] = {}
        self._positions: dict[str, int] = {}  # child loop id -> its IG position
        self._class_positions: dict[type[Loop], int] = {}  # the same for classes with a fixed loop id

    # --- envelope
    def start(self) -> None:
        self.isa_control = self.numbers.next_interchange()
        self.group_control = self.numbers.next_group()
        self.seg.write_raw(format_isa(self.info.sender, self.info.receiver, self.isa_control, self.d, self.when,
                                      usage=self.info.usage)[:-1])
        self.seg.write(["GS", "HC", self.info.group_sender or self.info.sender.id,
                        self.info.group_receiver or self.info.receiver.id, self.when.strftime("%Y%m%d"),
                        self.when.strftime("%H%M"), str(self.group_control), "X", self.guide])

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
        self.seg.write(["ST", "837", self._st_control, self.guide])
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
    def _level(self, level: int, model: Loop, parent: int | None, code: str, has_children: bool,
               segments: list[Segment], pieces: list[str]) -> None:
        self._hl += 1
        self._ids[level] = self._hl
        segments.append(HL(id=str(self._hl), parent_id=str(parent) if parent else None, level_code=code,
                           child_code="1" if has_children else "0"))
        self._collect(model, "HL", segments, pieces)

    def write_claim(self, claim: Claim) -> None:
        """Write a claim, under new HL levels where its context differs from the last claim's.

        The levels and the claim are formatted together and written at once: a claim that cannot be
        written (`DelimiterInDataError`) leaves the output and the levels as they were.
        """
        if claim.billing_provider is None or claim.subscriber is None:
            raise ValueError(f"claim {claim.claim_id} has no billing provider or subscriber level")
        # Claims share a hierarchy level when they carry the very same context object (the reader
        # gives all claims of one HL the same instance; builders share instances to group claims).
        keys = self._keys
        before = (keys[:], self._ids[:], self._hl)
        segments: list[Segment] = []
        pieces: list[str] = []
        try:
            if keys[0] is not claim.billing_provider:
                self._level(0, claim.billing_provider, None, "20", True, segments, pieces)
                keys[:] = [claim.billing_provider, None, None]
            if keys[1] is not claim.subscriber or (keys[2] is None) != (claim.patient is None):
                self._level(1, claim.subscriber, self._ids[0], "22", claim.patient is not None, segments, pieces)
                keys[1:] = [claim.subscriber, None]
            if claim.patient is not None and keys[2] is not claim.patient:
                self._level(2, claim.patient, self._ids[1], "23", False, segments, pieces)
                keys[2] = claim.patient
            self._collect(claim, None, segments, pieces)
            text = self._text(segments, pieces)
        except BaseException:
            keys[:], self._ids[:], self._hl = before
            raise
        self.seg.write_text(text)
        self.claims += 1

    # --- loops
    def loop_text(self, loop: Loop, skip: str | None = None) -> str:
        """A loop model and its descendants as text, segments in IG order (stable for equal positions).

        The order is that of sorting by (IG position, segments before loops, order in the model): a
        segment the loop's IG node does not have goes after the last placed one, as the reader found it.
        `skip` leaves out segments with that id (the HL, which `_level` writes with fresh numbers).
        """
        segments: list[Segment] = []
        pieces: list[str] = []
        self._collect(loop, skip, segments, pieces)
        return self._text(segments, pieces)

    def _text(self, segments: list[Segment], pieces: list[str]) -> str:
        """The text of what `_collect` gathered: the pieces, then the segments after the last of them."""
        if not pieces:
            return self.seg.models_text(segments)
        if segments:
            pieces.append(self.seg.models_text(segments))
        return "".join(pieces)

    def _collect(self, loop: Loop, skip: str | None, segments: list[Segment], pieces: list[str]) -> None:
        """Add the segments of a loop and its descendants to `segments` in written order, so that a claim's
        are formatted (and checked) together. A loop that holds raw segments, or whose order is not its
        plan's, is sorted on its own and added to `pieces` as text, after the segments gathered before it."""
        loop_id = loop.loop_id()
        plan = self._plans.get((type(loop), loop_id))
        if plan is None:
            plan = self._plans[(type(loop), loop_id)] = _LoopPlan.build(type(loop), loop_id, self.table)
        fields = loop.__dict__  # pydantic keeps field values here
        children = self._children(plan, fields) if plan.children or fields[plan.raw_loops] else None
        if (children and children[0][0] < plan.last_pos) \
                or not (plan.gatherers.get(skip) or plan.gatherer(skip))(fields, segments):
            entries = self._segment_entries(plan, fields, loop_id, skip)
            if children:
                entries += [(pos, 1, seq, self.loop_text(child, skip)) for pos, seq, child in children]
            entries.sort()
            if segments:
                pieces.append(self.seg.models_text(segments))
                segments.clear()
            pieces.append("".join([entry[3] for entry in entries]))
            return
        if children:
            for _pos, _seq, child in children:
                self._collect(child, skip, segments, pieces)

    def _children(self, plan: _LoopPlan, fields: dict) -> list[tuple[int, int, Loop]]:
        """(IG position, order in the model, loop) of each child loop, in written order."""
        children = []
        for name, many in plan.children:
            value = fields[name]
            if value is not None:
                children.extend(value if many else [value])
        children.extend(fields[plan.raw_loops])
        by_class = self._class_positions
        positions = self._positions
        out = []
        for seq, child in enumerate(children):
            pos = by_class.get(type(child))
            if pos is None:
                pos = positions.get(child.loop_id())
                if pos is None:
                    pos = self._position(child)
            out.append((pos, seq, child))
        if len(out) > 1:
            out.sort()
        return out

    def _position(self, child: Loop) -> int:
        """A child loop's IG position; remembered for its class when the class fixes its loop id."""
        loop_id = child.loop_id()
        pos = self._positions.get(loop_id)
        if pos is None:
            child_def = self.table.by_id.get(loop_id)
            pos = self._positions[loop_id] = child_def.pos if child_def is not None else _UNKNOWN_POS
        if type(child).loop_id is Loop.loop_id:  # the id is the class's LOOP_ID
            self._class_positions[type(child)] = pos
        return pos

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
    """Write claims as one 837 interchange (one ST) atomically, by the first claim's guide (all claims must
    share it: 837P and 837I never share a file); returns the ISA13 used.

    The transaction header (BHT, 1000A, 1000B) is `header`, or the first claim's own header.
    """
    claims = iter(claims)
    first = next(claims, None)
    if first is None:
        raise ValueError("no claims to write")
    with atomic_output(path) as fh:
        writer = Claim837Writer(fh, info, control_numbers, delimiters, guide=first.GUIDE)
        writer.start()
        started = False
        for claim in itertools.chain((first,), claims):
            if type(claim).GUIDE != writer.guide:
                raise ValueError(f"claim {claim.claim_id} is an {claim.GUIDE} claim; this file is {writer.guide}")
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

