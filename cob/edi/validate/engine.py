"""The streaming validator: one pass over a file, segment by segment, every SNIP type at once.

SNIP 1-2 come from the IG tables: the envelope (ISA/GS/ST counts, control numbers, uniqueness), the
walk through the loop tree (`walk.Walker`: order, required/not-used segments and loops, repeats), the
elements of every segment (`elements.SegmentChecker`: types, lengths, codes, syntax notes), and the HL
and LX counters. SNIP 3-5 are claim-level rules (`snip3`, `snip4`, `snip5`): the engine collects each
claim's segments as plain tuples while it walks and hands them over when the claim closes, so memory
holds one claim at a time, whatever the file size.

Findings are kept in file order in a `FileResult`, and also filed under their interchange, group and
transaction set so that `ack.write_acks` can answer with a 999 or TA1 without reading the file again.
The envelope is never fatal: a bad count or a missing trailer is reported and reading goes on.

Big files use two cores (`RulePool`): a second process checks whole transaction sets, and claim rules,
while this one goes on reading; its findings are filed back where a serial run puts them.
"""

from __future__ import annotations

import os
import pickle
import re
import threading
from bisect import bisect_left
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from cob.edi.errors import X12SyntaxError
from cob.edi.ig.tables import (
    FIRST_COMPONENT, FIRST_ELEMENT, SegmentDef, TransactionTable, load_control_segments, load_external_codes, load_table,
)
from cob.edi.tokens import DEFAULT_DELIMITERS, Delimiters, RawSegments

from . import snip3, snip4, snip5
from .context import ClaimContext, TransactionContext
from .elements import SegmentChecker
from .report import mask_segment
from .findings import ERROR, WARNING, FileResult, Finding, Group, Interchange, TransactionSet
from .walk import Walker

ALL_SNIP = frozenset({1, 2, 3, 4, 5})
#: files at least this big are checked with the help of a second process (see RulePool)
PARALLEL_BYTES = 4_000_000
_SEG_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
#: segments the fast path leaves to the long way: envelope, and those that open claims or HL levels
_SPECIAL = frozenset({"ISA", "GS", "GE", "IEA", "ST", "SE"})
#: segments that open or close a claim, an HL level or a counter
_EVENTS = frozenset({"HL", "CLM", "CLP", "LX", "PLB"})
#: GS08 -> (transaction set id, functional identifier code GS01)
SUPPORTED = {"005010X222A1": ("837", "HC"), "005010X221A1": ("835", "HP"), "005010X231A1": ("999", "FA")}
#: IK403 codes that are X12 syntax (SNIP 1); the others are IG requirements (SNIP 2).
_SNIP1_IK4 = frozenset({"3", "4", "5", "6", "8", "9", "13"})


def _snip_of_ik4(ik4: str) -> int:
    return 1 if ik4 in _SNIP1_IK4 else 2


class _Stop(Exception):
    """--max-errors reached."""


class Validator:
    """Validates one file. `run()` returns its `FileResult`; `progress(bytes)` is called per chunk."""

    def __init__(self, path: str | Path, *, snip: Iterable[int] = ALL_SNIP, max_errors: int | None = None,
                 name: str | None = None, progress: Callable[[int], None] | None = None,
                 parallel: bool | None = None):
        self.path = Path(path)
        #: claim rules in a second process: None = for big files on a multi-core machine
        self.parallel = parallel
        self.rule_pool: RulePool | None = None
        self.name = name or str(path)
        self.snip = frozenset(snip)
        self.rules = bool(self.snip & {3, 4, 5})
        self.max_errors = max_errors
        self.progress = progress
        self.result = FileResult(file=self.name)
        self.errors = 0
        self.control = load_control_segments()
        self.external = load_external_codes()
        self._checkers: dict[int, SegmentChecker] = {}
        self._checker_delims = None
        self.delims = DEFAULT_DELIMITERS
        self.sep = self.delims.element
        self._cur_elements: list[str] | None = None
        self._isa_seen: object = None
        self.stream: RawSegments | None = None
        #: the slot of the transaction set the rules process is checking (see `_dispatch`), if one is open
        self.remote: int | None = None
        #: (its last segment number, what closes it as `_SetChecker.check` takes it) for such a set that
        #: ends without an SE, until `_missing_se` reports it
        self._remote_closing: tuple | None = None
        self._envelope = {"GS": self._gs, "ST": self._st, "SE": self._se, "GE": self._ge, "IEA": self._iea}
        self._walkers: dict[tuple, Walker] = {}
        # envelope state
        self.isa: Interchange | None = None
        self.gs: Group | None = None
        self.st: TransactionSet | None = None
        self.isa_ids: set[str] = set()
        self.gs_ids: set[str] = set()
        self.st_ids: set[str] = set()
        self.table: TransactionTable | None = None
        self.transaction: str | None = None
        self.walker: Walker | None = None
        self.st_count = 0  # segments in the open transaction set, ST included
        self.hl_count = 0
        self.hl_stack: list[int] = []
        self.lx_count = 0
        self.claim_id: str | None = None
        # claim collection for SNIP 3-5
        self.context: list = []
        self.sub_len = 0
        self.collect_context = False
        self.claim: list | None = None
        self.header: list = []
        self.trailer: list = []
        self.clp_total: Decimal | None = Decimal(0)
        self.payment_date: str | None = None
        self.claims_in_set = 0
        self.seg_no = 0

    # ---------------------------------------------------------------------------------- results
    def add(self, snip: int, code: str, message: str, *, segment_id: str | None = None, loop: str | None = None,
            severity: str = ERROR, seg_no: int | None = -1, st_no: int | None = None, level: str = "st",
            **extra) -> Finding:
        """Record a finding at the current segment (or `seg_no`), filed at `level` (st, gs, isa)."""
        if seg_no == -1 and self._cur_elements is not None and "segment_text" not in extra:
            extra["segment_text"] = mask_segment(self._cur_elements, self.delims.component)
        f = Finding(
            snip=snip, severity=severity, code=code, message=message, file=self.name,
            segment_no=self.seg_no if seg_no == -1 else seg_no, segment_id=segment_id, loop=loop,
            claim_id=self.claim_id if level == "st" else None,
            st_segment_no=st_no if st_no is not None else (self.st_count if (self.st and level == "st") else None),
            isa_control=self.isa.isa13 if self.isa else None,
            gs_control=self.gs.gs06 if (self.gs and level in ("st", "gs")) else None,
            st_control=self.st.st02 if (self.st and level == "st") else None,
            **extra)
        self._file(f, level)
        return f

    def _file(self, f: Finding, level: str) -> None:
        self.result.findings.append(f)
        if level == "st" and self.st is not None:
            self.st.findings.append(f)
        elif level in ("st", "gs") and self.gs is not None:
            self.gs.findings.append(f)
        elif self.isa is not None:
            self.isa.findings.append(f)
        if f.severity == ERROR:
            self.errors += 1
            if self.max_errors is not None and self.errors >= self.max_errors:
                raise _Stop()

    # --------------------------------------------------------------------------------- reading
    def run(self) -> FileResult:
        if self.rules and self.max_errors is None and self.parallel is not False:
            try:
                big = self.path.stat().st_size >= PARALLEL_BYTES
            except OSError:
                big = False
            # fork only from a single-threaded process (a forked child inherits other threads' locks)
            if self.parallel or (big and (os.cpu_count() or 1) > 1 and threading.active_count() == 1):
                try:
                    self.rule_pool = RulePool(self.snip, self.path, self.name)
                except (ValueError, OSError):  # no fork on this platform, or no process to spare
                    self.rule_pool = None
        try:
            with open(self.path, "r", encoding="utf-8", errors="replace", newline="") as fh:
                self._read(fh)
            if self.rule_pool is not None:
                self.rule_pool.finish(self)
        except _Stop:
            self.result.truncated = True
        except OSError as exc:
            self.add(1, "unreadable", f"cannot read the file ({exc.strerror or type(exc).__name__})",
                     seg_no=None, level="file")
        finally:
            if self.rule_pool is not None:
                self.rule_pool.close()
        self.result.segments = self.seg_no
        return self.result

    def _read(self, fh: IO[str]) -> None:
        try:
            self._loop(fh)
        except X12SyntaxError as exc:
            e = exc.error
            if e.code == "no_isa" and self.seg_no == 0:
                self.seg_no += 1
                self.add(1, "not_x12", "does not look like an X12 file: it does not start with ISA", level="file")
                return
            self.add(1, e.code, e.message, seg_no=e.segment_no, segment_id=e.segment_id, level="isa",
                     ta1="023" if self.isa else None)
            return
        self._end_of_file()

    def _loop(self, fh: IO[str]) -> None:
        pool = self.rule_pool
        progress = self.progress if pool is None else pool.reading(self.progress)
        self.stream = RawSegments(fh, self.name, progress=progress)
        batches = self.stream.batches()
        self._segments(batches if pool is None else pool.track(self, batches))

    def _segments(self, batches: Iterable[list[str]]) -> None:
        """The hot loop. A segment inside a transaction set whose walker step raises nothing and whose
        elements pass the segment's regex is handled here with locals only; anything else (envelope,
        findings, the first sight of a transition or a segment definition) goes the long way. A
        transaction set handed to the other process (see `_dispatch`) is only skimmed here.

        The segment counters live in locals here and are written back before anything else runs
        (events, the long way, the next batch); the open claim is re-read after those."""
        rules = self.rules
        long = self._segment_long
        passed_max = SegmentChecker.PASSED_MAX
        # these locals follow the state the long way leaves: refreshed after every long segment
        walker: Walker | None = None
        qual: dict = {}
        sep = double = ""
        comp = ":"
        checkers: dict = {}
        seg_no = self.seg_no
        st_count = self.st_count
        claim = self.claim
        for batch in batches:
            it = iter(batch)
            if self.remote is not None:
                self._skim(it)
                seg_no = self.seg_no
                st_count = self.st_count
                claim = self.claim
                walker = None  # the next segment goes the long way, which refreshes the other locals
            for raw in it:
                if walker is not None and raw[0] != " " and raw[-1] != sep:
                    elements = raw.split(sep)
                    seg_id = elements[0]
                    if seg_id not in _SPECIAL:
                        positions = qual.get(seg_id)
                        if positions is None:
                            key = seg_id
                        elif positions == FIRST_ELEMENT:
                            key = (seg_id, elements[1] if len(elements) > 1 else "")
                        elif positions == FIRST_COMPONENT:
                            key = (seg_id, elements[1].split(comp, 1)[0] if len(elements) > 1 else "")
                        else:
                            key = walker.key(elements)
                        step = walker.next.get(key)
                        if step is not None:
                            checker = checkers.get(step.seg_key)
                            if checker is not None:
                                passed = checker.passed
                                if raw in passed:
                                    ok = True
                                else:
                                    fast = checker.fast
                                    if fast is not None and fast.fullmatch(raw) is not None and (
                                            not checker.syntax or checker._syntax_ok.get(
                                                len(elements) if double not in raw else tuple(map(bool, elements)))):
                                        ok = True
                                        if len(passed) >= passed_max:
                                            passed.clear()
                                        passed.add(raw)
                                    else:
                                        ok = not checker.check(elements, raw)
                                if ok:
                                    if step.simple:
                                        counts = walker.frames[-1]
                                        k = step.seg_key
                                        c = counts.get(k, 0) + 1
                                        if c <= step.max_use:
                                            counts[k] = c
                                            walker.cur = step.seg
                                            walker.next = step.next
                                        else:
                                            ok = False
                                    elif step.enter:
                                        frames = walker.frames
                                        pops = step.pops
                                        if pops < len(frames):
                                            counts = frames[-1 - pops]
                                            k = step.loop_key
                                            c = counts.get(k, 0) + 1
                                            if c <= step.loop_max:
                                                if pops:
                                                    del frames[-pops:]
                                                counts[k] = c
                                                frames.append({step.seg_key: 1})
                                                walker.cur = step.seg
                                                walker.next = step.next
                                            else:
                                                ok = False
                                        else:
                                            ok = False
                                    else:
                                        ok = walker.advance(step)
                                if ok:
                                    seg_no += 1
                                    st_count += 1
                                    if seg_id in _EVENTS:
                                        self.seg_no = seg_no
                                        self.st_count = st_count
                                        self._cur_elements = elements
                                        self._claim_event(seg_id, elements)
                                        self._counter_event(seg_id, elements, step.loop_id)
                                        claim = self.claim
                                    if rules:
                                        item = (step.loop_id, elements, seg_no, st_count)
                                        if claim is not None:
                                            claim.append(item)
                                        else:
                                            self.seg_no = seg_no
                                            self.st_count = st_count
                                            self._collect(item, seg_id, elements)
                                    continue
                self.seg_no = seg_no
                self.st_count = st_count
                long(raw)
                if self.remote is not None:
                    self._skim(it)
                seg_no = self.seg_no
                st_count = self.st_count
                claim = self.claim
                walker = self.walker
                if walker is not None:
                    qual = walker.qual
                sep = self.sep
                double = sep + sep
                comp = self.delims.component
                checkers = self._checkers
            self.seg_no = seg_no
            self.st_count = st_count

    def _new_interchange(self) -> None:
        """An ISA from the tokenizer: its delimiters hold until the next one."""
        stream = self.stream
        self._isa_seen = stream.isa_errors
        if stream.bom and self.seg_no == 0:
            self.add(1, "byte_order_mark", "the file starts with a UTF-8 byte order mark, which is not X12 data",
                     seg_no=None, level="file", severity=WARNING)
        self._use_delimiters(stream.delimiters)
        self.isa_errors = stream.isa_errors

    def _use_delimiters(self, delims: Delimiters) -> None:
        self.delims = delims
        self.sep = delims.element
        if delims != self._checker_delims:
            self._checkers = {}
            self._checker_delims = delims

    def _segment_long(self, raw: str) -> None:
        if raw.startswith("ISA") and self.stream is not None and self.stream.isa_errors is not self._isa_seen:
            self._new_interchange()
        if self.remote is not None:
            return self._end_remote(raw)
        if self.rule_pool is not None and raw.startswith("ST") and self._dispatch(raw):
            return
        found = self._prelude(raw)
        if found is None:
            return
        elements, raw = found
        seg_id = elements[0]
        if seg_id == "ISA":
            return self._isa(elements, raw)
        envelope = self._envelope.get(seg_id)
        if envelope is not None:
            return envelope(elements, raw)
        if self.st is None:
            self.add(1, "outside_transaction", f"segment {seg_id} outside a transaction set (ST..SE)",
                     segment_id=seg_id, level="gs" if self.gs else "isa", ta1=None if self.gs else "024")
            return
        if self.walker is None:
            return  # an unsupported transaction set: reported once at ST
        self._body(elements, raw, seg_id)

    def _prelude(self, raw: str) -> tuple[list[str], str] | None:
        """What every segment the long way goes through first: its number, its text for findings, and
        the checks that need no definition (a leading space, a trailing separator, a bad id). Returns
        the elements and the text without the leading space, or None when the id is not valid."""
        self.seg_no += 1
        sep = self.delims.element
        self._cur_elements = [raw.lstrip(" ").split(sep, 1)[0]]
        if raw[0] == " ":
            self.add(1, "leading_space", "segment starts with a space", ik3="1")
            raw = raw.lstrip(" ")
        elements = raw.split(sep)
        self._cur_elements = elements
        seg_id = elements[0]
        if seg_id == "ISA":
            return elements, raw
        if self.st is not None:
            self.st_count += 1
        if raw[-1] == sep:
            self.add(1, "trailing_separator", f"segment {seg_id[:3]} ends with an element separator",
                     segment_id=seg_id[:3], ik3="8" if self.st else None)
        if _SEG_ID.fullmatch(seg_id) is None:
            self.add(1, "segment_id_invalid", "segment identifier is not valid", ik3="1")
            return None
        return elements, raw

    # ------------------------------------------------------------- sets checked in the other process
    def _dispatch(self, raw: str) -> bool:
        """Hand the transaction set this ST opens to the rules process when it has little to do.

        The set is then only skimmed here (`_skim`: segments counted up to its end); the other process
        gets the same segments (or reads them from the file) and checks them with a validator of its
        own, primed with this envelope state. Only an ST that raises nothing before `_st` runs
        qualifies (no leading space, no trailing separator, a group open, no set open), so every
        finding of the set is the other process's. They are put back in place when the file ends
        (`RulePool.finish`).
        """
        sep = self.sep
        if (not raw.startswith("ST" + sep) or raw[-1] == sep or self.st is not None or self.gs is None
                or not self.rule_pool.wants_set(self.seg_no)):
            return False
        self.seg_no += 1
        el = _padded(raw.split(sep), 4)
        st = TransactionSet(st01=el[1], st02=el[2], st03=el[3] or None, segment_no=self.seg_no)
        self.gs.transactions.append(st)
        self.gs_st_count += 1
        duplicate = el[2] in self.st_ids
        self.st_ids.add(el[2])
        self.walker = None
        self.claim_id = None
        gs = self.gs
        d = self.delims
        envelope = ((d.element, d.component, d.repetition, d.segment),
                    self.table.version if self.table is not None else None, self.transaction, self.isa.isa13,
                    (gs.gs01, gs.gs02, gs.gs03, gs.gs06, gs.gs08, gs.segment_no), el[2] if duplicate else None)
        self.remote = self.rule_pool.start_set(self, st, envelope, raw)
        return True

    def _skim(self, it: Iterator[str]) -> None:
        """Pass over the segments of a set the other process checks, up to the one that ends it: its SE,
        or an envelope segment that closes it without one (handled the long way). They are counted, and
        kept for that process while the set is small (`RulePool.kept`)."""
        sep = self.sep
        pool = self.rule_pool
        kept = pool.kept
        n = 0
        for raw in it:
            if raw[0] in "SGI " and (seg_id := raw.lstrip(" ").split(sep, 1)[0]) in _SPECIAL:
                if seg_id == "SE":
                    if kept is not None:
                        kept.append(raw)
                    self.seg_no += n + 1
                    pool.end_set(self, self.seg_no, None)
                    self.remote = None
                    return
                self.seg_no += n
                self._segment_long(raw)
                return
            if kept is not None:
                kept.append(raw)
            n += 1
        self.seg_no += n
        if kept is not None and len(kept) > pool.KEEP:
            pool.kept = None

    def _end_remote(self, raw: str | None) -> None:
        """A segment (or the end of the file, `raw` None) closes a set the other process checks without
        an SE. That process reports this segment's own checks and, when `_missing_se` runs in the
        envelope logic here, the missing trailer; this side goes on with the envelope as usual."""
        self.st = self.rule_pool.open_set
        self.remote = None
        last = self.seg_no
        self._remote_closing = (last, (last + 1 if raw is not None else None, raw, self.delims))
        if raw is None:
            return
        self.seg_no += 1
        raw = raw.lstrip(" ")
        elements = raw.split(self.sep)
        self._cur_elements = elements
        if elements[0] == "ISA":
            return self._isa(elements, raw)
        return self._envelope[elements[0]](elements, raw)

    def _check_elements(self, seg: SegmentDef, elements: list[str], raw: str, loop: str | None,
                        level: str = "st") -> bool:
        checker = self._checkers.get(id(seg))
        if checker is None:
            checker = self._checker(seg)
        problems = checker.check(elements, raw)
        for p in problems:
            self.add(_snip_of_ik4(p.ik4), "element_" + _IK4_NAMES.get(p.ik4, "invalid"),
                     f"{p.xid}: {p.message}" if not p.message.startswith(p.xid) else p.message,
                     segment_id=seg.id, loop=loop, element=p.xid, element_pos=p.element_pos,
                     component_pos=p.component_pos, data_ele=p.data_ele or None, ik3="8", ik4=p.ik4,
                     bad_value=p.bad_value, level=level)
        return not problems

    def _checker(self, seg: SegmentDef) -> SegmentChecker:
        """Checkers are per delimiter set: the table is dropped when an interchange changes them."""
        d = self.delims
        checker = self._checkers[id(seg)] = SegmentChecker(seg, d.element, d.component, d.segment, self.external)
        return checker

    def _body(self, elements: list[str], raw: str, seg_id: str) -> None:
        seg, walk_errors = self.walker.step(elements)
        for code, node, message in walk_errors:
            if code == "1":
                code = _unplaced_code(self.table, seg_id)
            node_loop = node.loop.id if isinstance(node, SegmentDef) else (node.id if node is not None else None)
            node_id = node.id if isinstance(node, SegmentDef) else (
                _first_segment_id(node) if node is not None else seg_id)
            name = _UNPLACED[code] if node is None else _WALK_CODES[code]
            self.add(2, name, message, segment_id=node_id, loop=node_loop, ik3=code)
        if seg is None:
            return
        loop_id = seg.loop.id
        if seg_id in _EVENTS:
            self._claim_event(seg_id, elements)
        self._check_elements(seg, elements, raw, loop_id)
        if seg_id in _EVENTS:
            self._counter_event(seg_id, elements, loop_id)
        if not self.rules:
            return
        item = (loop_id, elements, self.seg_no, self.st_count)
        if self.claim is not None:
            self.claim.append(item)
            return
        self._collect(item, seg_id, elements)

    def _claim_event(self, seg_id: str, elements: list[str]) -> None:
        """Where a claim (or an HL level, an 835 LX group, the PLB trailer) begins or ends."""
        if seg_id == "CLM" or seg_id == "CLP":
            self._close_claim()
            self.claim_id = elements[1] if len(elements) > 1 else None
            self.result.claims += 1
            self.claims_in_set += 1
            if self.rules:
                self.claim = []
        elif seg_id == "HL":
            self._close_claim()
            self.claim_id = None
            self._hl(elements)
        elif seg_id == "LX" and self.transaction == "835" or seg_id == "PLB":
            self._close_claim()
            self.claim_id = None

    def _counter_event(self, seg_id: str, elements: list[str], loop_id: str) -> None:
        """The 837 service line counter (LX01 runs 1, 2, ... within each claim)."""
        if self.transaction != "837":
            return
        if seg_id == "LX":
            self.lx_count += 1
            if (elements[1] if len(elements) > 1 else "") != str(self.lx_count):
                self.add(1, "lx_sequence", f"LX01 should be {self.lx_count} (service lines are numbered from 1)",
                         segment_id="LX", loop=loop_id, element="LX01", element_pos=1, ik3="8", ik4="I12")
        elif seg_id == "CLM":
            self.lx_count = 0

    def _collect(self, item: tuple, seg_id: str, elements: list[str]) -> None:
        """A segment outside any claim: the claim's context (837), the header or trailer (835)."""
        loop_id = item[0]
        if self.transaction == "999":
            return  # no claim-level rules for acknowledgments
        if self.transaction == "837":
            if seg_id == "HL":
                if loop_id == "2000B":
                    self.context = [item]
                    self.sub_len = 0
                    self.collect_context = True
                elif loop_id == "2000C" and self.collect_context:
                    if not self.sub_len:
                        self.sub_len = len(self.context)
                    del self.context[self.sub_len:]
                    self.context.append(item)
                else:
                    self.collect_context = False
                    self.context = []
            elif self.collect_context:
                self.context.append(item)
            elif 5 in self.snip and seg_id in snip5.SEGMENT_IDS:
                self._segment_codes(loop_id, elements)
        else:
            if seg_id == "PLB":
                self.trailer.append((loop_id, elements, item[2], item[3]))
            elif self.claims_in_set == 0:
                self.header.append((loop_id, elements, item[2], item[3]))
                if seg_id == "BPR" and len(elements) > 16:
                    self.payment_date = elements[16] or None
                if 5 in self.snip and seg_id in snip5.SEGMENT_IDS:
                    self._segment_codes(loop_id, elements)

    def _segment_codes(self, loop_id: str, elements: list[str]) -> None:
        """SNIP 5 code checks of a segment outside claims. Its text is given explicitly: on the fast path
        `_cur_elements` still holds the last segment that went the long way."""
        for code, message, pos, comp_pos, severity, ik4 in snip5.check_segment(
                loop_id, elements, self.delims.component):
            self.add(5, code, message, segment_id=elements[0], loop=loop_id, element_pos=pos,
                     component_pos=comp_pos, severity=severity, ik3="8" if ik4 else None, ik4=ik4,
                     element=f"{elements[0]}{pos:02d}" if pos else None,
                     segment_text=mask_segment(elements, self.delims.component))

    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = None
        if self.transaction == "835" and self.clp_total is not None:
            clp = claim[0][1] if claim else None
            try:
                self.clp_total += Decimal(clp[4]) if clp is not None and len(clp) > 4 and clp[4] else 0
            except (InvalidOperation, ValueError):
                self.clp_total = None
        segments = (self.context + claim) if self.transaction == "837" else claim
        d = self.delims
        if self.rule_pool is not None and self.rule_pool.idle(self.rule_pool.CLAIM_IDLE_UNITS):
            self.rule_pool.add(self, segments)  # the rules process has time for it
            return
        ctx = ClaimContext(
            file=self.name, transaction=self.transaction, claim_id=self.claim_id, segments=segments,
            component_sep=d.component, repetition_sep=d.repetition,
            isa_control=self.isa.isa13 if self.isa else None, gs_control=self.gs.gs06 if self.gs else None,
            st_control=self.st.st02 if self.st else None, payment_date=self.payment_date)
        for f in run_claim_rules(ctx, self.snip):
            self._file(f, "st")

    def _hl(self, elements: list[str]) -> None:
        self.hl_count += 1
        hl01 = elements[1] if len(elements) > 1 else ""
        if hl01 != str(self.hl_count):
            self.add(1, "hl_sequence", f"HL01 should be {self.hl_count} (HL segments are numbered from 1)",
                     segment_id="HL", element="HL01", element_pos=1, ik3="8", ik4="I12")
        parent = elements[2] if len(elements) > 2 else ""
        if parent:
            try:
                p = int(parent)
            except ValueError:
                p = -1
            # the stack is sorted (only the newest HL number is ever pushed), and HLs without a parent
            # (2000A) pile up on it in a big set: bisect rather than scan for the parent
            stack = self.hl_stack
            i = bisect_left(stack, p)
            if i < len(stack) and stack[i] == p:
                del stack[i + 1:]
            else:
                self.add(1, "hl_parent", "HL02 does not name an open parent HL", segment_id="HL",
                         element="HL02", element_pos=2, ik3="8", ik4="I12")
                stack.clear()
        self.hl_stack.append(self.hl_count)

    # -------------------------------------------------------------------------------- envelope
    def _isa(self, elements: list[str], raw: str) -> None:
        self._close_open(at_isa=True)
        while len(elements) < 17:
            elements.append("")
        d = self.delims
        self.isa = Interchange(
            isa05=elements[5], isa06=elements[6], isa07=elements[7], isa08=elements[8], isa09=elements[9],
            isa10=elements[10], isa13=elements[13], isa14=elements[14], isa15=elements[15],
            segment_no=self.seg_no, element_sep=d.element, component_sep=d.component,
            repetition_sep=d.repetition, segment_term=d.segment)
        self.result.interchanges.append(self.isa)
        for e in self.isa_errors:
            self.add(1, e.code, e.message, segment_id="ISA", level="isa", ta1="022")  # invalid control structure
        seg = self.control["ISA"]
        self._check_isa_elements(seg, elements)
        if elements[13] in self.isa_ids:
            self.add(1, "isa_control_duplicate", "ISA13 is used by another interchange in this file",
                     segment_id="ISA", element="ISA13", element_pos=13, level="isa", ta1="025")
        self.isa_ids.add(elements[13])
        self.gs_ids = set()
        self.gs_count = 0

    def _check_isa_elements(self, seg: SegmentDef, elements: list[str]) -> None:
        checker = self._checkers.get(id(seg)) or self._checker(seg)
        for p in checker.slow(elements):
            self.add(1, "element_" + _IK4_NAMES.get(p.ik4, "invalid"), p.message, segment_id="ISA",
                     element=p.xid, element_pos=p.element_pos, level="isa",
                     ta1=_TA1_BY_ELEMENT.get(p.element_pos, "022"), bad_value=p.bad_value)

    def _gs(self, elements: list[str], raw: str) -> None:
        if self.isa is None:
            return
        self._end_open_group()
        el = _padded(elements, 9)
        self.gs = Group(gs01=el[1], gs02=el[2], gs03=el[3], gs06=el[6], gs08=el[8], segment_no=self.seg_no)
        self.isa.groups.append(self.gs)
        self.gs_count += 1
        version = el[8]
        guide = load_table(version) if version in SUPPORTED else None
        gs_def = guide.gs if guide is not None and guide.gs is not None else self.control["GS"]
        self._check_elements(gs_def, elements, raw, None, level="gs")
        if el[6] in self.gs_ids:
            self.add(1, "gs_control_duplicate", "GS06 is used by another group in this interchange",
                     segment_id="GS", element="GS06", element_pos=6, level="gs", ak9="6")
        self.gs_ids.add(el[6])
        self.st_ids = set()
        self.gs_st_count = 0
        self.table = None
        self.transaction = None
        if guide is not None:
            self.table = guide
            self.transaction = SUPPORTED[version][0]  # GS01 is checked against the guide's own GS
        else:
            self.add(2, "version_not_supported", "GS08 names an implementation guide this validator does not "
                     "check (supported: " + ", ".join(SUPPORTED) + ")", segment_id="GS", element="GS08",
                     element_pos=8, level="gs", ak9="2")

    def _st(self, elements: list[str], raw: str) -> None:
        if self.gs is None:
            self.add(1, "st_outside_group", "ST outside a functional group (GS..GE)", segment_id="ST",
                     level="isa", ta1="024")
            return
        if self.st is not None:
            self._missing_se()
        el = _padded(elements, 4)
        self.st = TransactionSet(st01=el[1], st02=el[2], st03=el[3] or None, segment_no=self.seg_no)
        self.gs.transactions.append(self.st)
        self.gs_st_count += 1
        self.st_count = 1
        self.hl_count = 0
        self.hl_stack = []
        self.lx_count = 0
        self.claim_id = None
        self.context, self.claim, self.header, self.trailer = [], None, [], []
        self.collect_context = False
        self.clp_total = Decimal(0)
        self.payment_date = None
        self.claims_in_set = 0
        if el[2] in self.st_ids:
            self.add(1, "st_control_duplicate", "ST02 is used by another transaction set in this group",
                     segment_id="ST", element="ST02", element_pos=2, ik5="23")
        self.st_ids.add(el[2])
        self.walker = None
        if self.table is None:
            return
        if el[1] != self.transaction:
            self.add(2, "st01_mismatch", f"ST01 should be {self.transaction} in a {self.gs.gs08} group",
                     segment_id="ST", element="ST01", element_pos=1, ik5="6")
            return
        key = (self.table.version, self.delims.component)
        walker = self._walkers.get(key)
        if walker is None:
            walker = self._walkers[key] = Walker(self.table, self.delims.component)
        st_seg = self.table.root.children[0]
        walker.start(st_seg)
        self.walker = walker
        self._check_elements(st_seg, elements, raw, "ST_LOOP")

    def _se(self, elements: list[str], raw: str) -> None:
        if self.st is None:
            self.add(1, "se_without_st", "SE without a matching ST", segment_id="SE",
                     level="gs" if self.gs else "isa", ak9="3" if self.gs else None)
            return
        if self.walker is not None:
            self._body(elements, raw, "SE")
        self._close_claim()
        self.claim_id = None
        self._end_transaction()
        el = _padded(elements, 3)
        if el[2] != self.st.st02:
            self.add(1, "se_control_mismatch", "SE02 does not match ST02", segment_id="SE", element="SE02",
                     element_pos=2, ik5="3")
        if el[1] != str(self.st_count):
            self.add(1, "se_count", f"SE01 says {el[1] or 'nothing'}, the set has {self.st_count} segments",
                     segment_id="SE", element="SE01", element_pos=1, ik5="4")
        self.st = None
        self.walker = None
        self.claim_id = None

    def _end_transaction(self) -> None:
        if not self.rules or self.transaction != "835" or 3 not in self.snip:
            return
        d = self.delims
        tctx = TransactionContext(
            file=self.name, transaction="835", header=self.header, trailer=self.trailer,
            claim_payment_total=self.clp_total, claims=self.claims_in_set, component_sep=d.component,
            isa_control=self.isa.isa13 if self.isa else None, gs_control=self.gs.gs06 if self.gs else None,
            st_control=self.st.st02 if self.st else None)
        snip3.check_transaction(tctx)
        for f in tctx.findings:
            self._file(f, "st")

    def _ge(self, elements: list[str], raw: str) -> None:
        if self.gs is None:
            self.add(1, "ge_without_gs", "GE without a matching GS", segment_id="GE", level="isa", ta1="024")
            return
        if self.st is not None:
            self._missing_se()
        self._check_elements(self.control["GE"], elements, raw, None, level="gs")
        el = _padded(elements, 3)
        if el[2] != self.gs.gs06:
            self.add(1, "ge_control_mismatch", "GE02 does not match GS06", segment_id="GE", element="GE02",
                     element_pos=2, level="gs", ak9="4")
        if el[1] != str(self.gs_st_count):
            self.add(1, "ge_count", f"GE01 says {el[1] or 'nothing'}, the group has {self.gs_st_count} "
                     "transaction sets", segment_id="GE", element="GE01", element_pos=1, level="gs", ak9="5")
        self.gs = None
        self.table = None

    def _iea(self, elements: list[str], raw: str) -> None:
        if self.isa is None:
            return
        if self.gs is not None:
            self.add(1, "group_unterminated", "IEA while a functional group is open", segment_id="IEA",
                     level="isa", ta1="024")
        self._end_open_group()
        self._check_elements(self.control["IEA"], elements, raw, None, level="isa")
        el = _padded(elements, 3)
        if el[2] != self.isa.isa13:
            self.add(1, "iea_control_mismatch", "IEA02 does not match ISA13", segment_id="IEA",
                     element="IEA02", element_pos=2, level="isa", ta1="001")
        if el[1] != str(self.gs_count):
            self.add(1, "iea_count", f"IEA01 says {el[1] or 'nothing'}, the interchange has {self.gs_count} "
                     "groups", segment_id="IEA", element="IEA01", element_pos=1, level="isa", ta1="021")
        self.isa = _Closed(self.isa.isa13)

    def _missing_se(self) -> None:
        if self._remote_closing is not None:  # the other process reports it, here, in file order
            self.rule_pool.end_set(self, *self._remote_closing)
            self._remote_closing = None
            self.st = None
            self.walker = None
            self.claim_id = None
            return
        self._close_claim()
        self._end_transaction()
        self.st.trailer_missing = True
        self.add(1, "se_missing", f"transaction set {self.st.st02} has no SE trailer", segment_id="SE",
                 ik5="2")
        self.st = None
        self.walker = None
        self.claim_id = None

    def _missing_ge(self) -> None:
        self.gs.trailer_missing = True
        self.add(1, "ge_missing", f"functional group {self.gs.gs06} has no GE trailer", segment_id="GE",
                 level="gs", ak9="3")
        self.gs = None
        self.table = None

    def _end_open_group(self) -> None:
        """Trailers that never came: the open set's SE, then the open group's GE."""
        if self.st is not None:
            self._missing_se()
        if self.gs is not None:
            self._missing_ge()

    def _close_open(self, at_isa: bool = False) -> None:
        self._end_open_group()
        if isinstance(self.isa, Interchange):
            self.add(1, "iea_missing", f"interchange {self.isa.isa13} has no IEA trailer", segment_id="IEA",
                     level="isa", ta1="023")
        self.isa = None

    def _end_of_file(self) -> None:
        self.seg_no_end = self.seg_no
        if self.remote is not None:
            self._end_remote(None)
        if self.st is not None or self.gs is not None or isinstance(self.isa, Interchange):
            saved = self.seg_no
            self.seg_no = None  # end of file
            self._cur_elements = None
            self._close_open()
            self.seg_no = saved


def run_claim_rules(ctx: ClaimContext, snip: frozenset[int]) -> list[Finding]:
    """SNIP 3-5 over one claim; findings get their segment's text with patient values masked."""
    if 3 in snip:
        snip3.check_claim(ctx)
    if 4 in snip:
        snip4.check_claim(ctx)
    if 5 in snip:
        snip5.check_claim(ctx)
    if not ctx.findings:
        return []
    by_no = {item[2]: item[1] for item in ctx.segments}
    out = []
    for f in ctx.findings:
        elements = by_no.get(f.segment_no)
        if elements is not None and f.segment_text is None:
            f = replace(f, segment_text=mask_segment(elements, ctx.component_sep))
        out.append(f)
    return out


#: what a rules-process result carries: (slot, findings in file order, the ones filed under the
#: transaction set, whether the set lacked its SE)
_Result = tuple[int, list[Finding], list[Finding], bool]


def _rules_batch(snip: frozenset[int], batch: list) -> list[_Result]:
    """A batch of claims (`RulePool.add`), which arrive as raw segments (cheap to send), split and
    checked."""
    out = []
    for slot, fields, loops, raws, numbers in batch:
        name, transaction, claim_id, sep, comp, rep, isa13, gs06, st02, payment_date, st_base = fields
        ctx = ClaimContext(
            file=name, transaction=transaction, claim_id=claim_id,
            segments=[(loop, raw.split(sep), n, n - st_base) for loop, raw, n in zip(loops, raws, numbers)],
            component_sep=comp, repetition_sep=rep, isa_control=isa13, gs_control=gs06, st_control=st02,
            payment_date=payment_date)
        found = run_claim_rules(ctx, snip)
        if found:
            out.append((slot, found, found, False))
    return out


class _SetChecker:
    """The rules process's side of `Validator._dispatch`: whole transaction sets, checked by a validator
    of its own. A small set's segments come with it; a big one's are read from the file here (forward
    only, as the sets come in file order), so that no message grows with the set."""

    def __init__(self, path: Path, name: str, snip: frozenset[int]):
        self.path = path
        self.v = Validator(path, snip=snip, name=name, parallel=False)
        self.fh: IO[str] | None = None
        self.batches: Iterator[list[str]] | None = None
        self.batch: list[str] = []
        self.first = 1  # the file's number of the batch's first segment
        self.claims = 0  # claims in the sets checked

    def _slices(self, first: int, last: int) -> Iterator[list[str]]:
        """Segments `first`..`last` (numbered as in the file), a batch's worth at a time."""
        if self.batches is None:
            self.fh = open(self.path, "r", encoding="utf-8", errors="replace", newline="")
            self.batches = RawSegments(self.fh, self.v.name).batches()
        while first <= last:
            end = self.first + len(self.batch)
            if first < end:
                stop = min(last + 1, end)
                yield self.batch[first - self.first:stop - self.first]
                first = stop
                continue
            self.first = end
            try:
                self.batch = next(self.batches)
            except (StopIteration, X12SyntaxError):  # the engine stopped reading there too
                return

    def check(self, slot: int, close_slot: int | None, envelope: tuple, first: int, last: int,
              closing: tuple | None, text: str | None) -> list[_Result]:
        """One set, ST (segment `first`) to `last`, as the serial engine would check it in that envelope;
        `closing` is what ends it without an SE: (segment number or None at the end of the file, its
        text, the delimiters then in force). `text`: its segments, joined by the terminator, or None
        to read them from the file."""
        v = self.v
        delims, version, transaction, isa13, gs_fields, taken = envelope
        delims = Delimiters(*delims)
        v._use_delimiters(delims)
        v.isa = _Closed(isa13)
        v.gs = Group(*gs_fields)
        v.table = load_table(version) if version is not None else None
        v.transaction = transaction
        v.st_ids = {taken} if taken is not None else set()
        v.gs_st_count = 0
        v.st = v.walker = v.claim_id = None
        v.seg_no = first - 1
        v.result = FileResult(file=v.name)
        v._segments((text.split(delims.segment),) if text is not None else self._slices(first, last))
        body = v.result.findings
        out = []
        if closing is not None:
            seg_no, raw, delims = closing
            if raw is None:  # the end of the file
                v.seg_no = None
                v._cur_elements = None
            else:
                v._use_delimiters(delims)
                v.seg_no = seg_no - 1
                v._prelude(raw)
            body = body[:]
            v._missing_se()
            if len(v.result.findings) > len(body):
                out.append((close_slot, v.result.findings[len(body):], [], False))
        st = v.gs.transactions[-1]
        if body or st.trailer_missing:
            out.append((slot, body, st.findings, st.trailer_missing))
        self.claims += v.result.claims
        return out


def _rules_worker(inbox, outbox, snip: frozenset[int], done, path: Path, name: str) -> None:
    """The rules process: pickled messages come in through one pipe -- ("claims", batch) or ("set", ...)
    for `_SetChecker.check` -- and `done` counts the work units finished, for the engine to balance
    by. At the end (an empty message) all findings, and the number of claims in the sets checked, go
    back through the other pipe. Nothing is sent back before that, so neither side can block the other
    on a full pipe."""
    results: list[_Result] = []
    sets: _SetChecker | None = None
    try:
        while True:
            data = inbox.recv_bytes()
            if not data:
                break
            kind, units, *args = pickle.loads(data)
            if kind == "claims":
                results.extend(_rules_batch(snip, args[0]))
            else:
                if sets is None:
                    sets = _SetChecker(path, name, snip)
                results.extend(sets.check(*args))
            done.value += units
        claims = sets.claims if sets is not None else 0
        outbox.send_bytes(pickle.dumps((results, claims), protocol=pickle.HIGHEST_PROTOCOL))
    except (EOFError, BrokenPipeError):
        pass  # the engine stopped early (error limit, unreadable file): nothing to report


class RulePool:
    """A second process for one big file, so that two cores share the work.

    It gets work of two kinds. Whole transaction sets (`Validator._dispatch`, `wants_set`) while its
    queue is short: the engine then only skims the set and the process checks it completely, with the
    set's segments sent along (or, for a big set, read from the file by the process itself). And the
    claim-level rules (SNIP 3-5) of the sets the engine checks itself, in batches of raw segment text,
    when the process is nearly idle -- otherwise the engine runs them itself, as a serial run does,
    and never waits on a busy pipe. The queue is measured in work units (`done`, in shared memory,
    against `sent`). Memory stays flat: the queue is short and each message is bounded (a set of at
    most KEEP segments, a batch of claims). Each result is put back where the serial engine would have
    filed it (its place in the file's and its transaction set's finding lists), so the result is the
    same as a serial run, finding for finding.
    """

    #: claims per batch: a batch pickles to well under the pipe's buffer
    BATCH = 50
    #: work units of a segment: 1 when only its claim rules run there, SET_UNITS for a whole check
    SET_UNITS = 4
    #: a set is handed over while less than this many units (or about a set's worth) are queued
    IDLE_UNITS = 20000
    #: a claim's rules are handed over while less than this many units are queued
    CLAIM_IDLE_UNITS = 6000
    #: sets of at most this many segments travel with their segments (see `kept`)
    KEEP = 20000

    def __init__(self, snip: frozenset[int], path: Path, name: str):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.snip = snip
        self.inbox_r, self.inbox_w = ctx.Pipe(duplex=False)
        self.outbox_r, self.outbox_w = ctx.Pipe(duplex=False)
        self.done = ctx.RawValue("q", 0)
        self.sent = 0  # work units handed over
        self.last_st = 0  # where the last ST was seen (`wants_set`)
        self.file_size = path.stat().st_size
        self.read_chars = 0  # read so far
        self.known = 0  # segments in the batches read so far
        self.process = ctx.Process(target=_rules_worker, daemon=True,
                                   args=(self.inbox_r, self.outbox_w, snip, self.done, path, name))
        self.process.start()
        _widen(self.inbox_w)
        self.inbox_r.close()
        self.outbox_w.close()
        self.batch: list = []
        self.batch_units = 0
        #: slot -> (position in the file's findings, transaction set, position in its findings)
        self.slots: list[tuple[int, TransactionSet | None, int]] = []
        self.open_set: TransactionSet | None = None
        self._set_start: tuple = ()
        #: the segments of the set handed over, sent along with it unless there are more than KEEP
        #: (then the process reads them from the file itself)
        self.kept: list[str] | None = None

    def idle(self, units: int) -> bool:
        """Has the process less than `units` of work queued?"""
        return self.sent - self.done.value < units

    def reading(self, progress: Callable[[int], None] | None) -> Callable[[int], None]:
        """The reader's progress callback, counting the characters read on the way."""
        def read(n: int) -> None:
            self.read_chars += n
            if progress is not None:
                progress(n)
        return read

    def track(self, v: "Validator", batches: Iterator[list[str]]) -> Iterator[list[str]]:
        """The reader's batches, noting how many segments have been read so far."""
        for batch in batches:
            self.known = v.seg_no + len(batch)
            yield batch

    def _remaining(self, seg_no: int) -> float:
        """Segments after `seg_no` to the end of the file, estimated from what has been read."""
        if not self.read_chars:
            return 0.0
        ahead = max(self.file_size - self.read_chars, 0) * self.known / self.read_chars
        return self.known - seg_no + ahead

    def wants_set(self, seg_no: int) -> bool:
        """Hand over the set starting after segment `seg_no`? The previous set's size is the guess of
        its work. Yes when the process has less than about a set queued (it will not idle while the
        engine checks the next set itself, and the queue stays short), unless that queue and the set
        would outlast what is left for the engine to read (near the end of the file)."""
        size = (seg_no - self.last_st) * self.SET_UNITS
        self.last_st = seg_no
        if not self.idle(max(size * 3 // 2, self.IDLE_UNITS)):
            return False
        return self.sent - self.done.value + size < self._remaining(seg_no) * self.SET_UNITS

    def _post(self, message: tuple, units: int) -> None:
        """Send work of `units` units (the process counts them into `done` when it is finished)."""
        self.inbox_w.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        self.sent += units

    def start_set(self, v: "Validator", st: TransactionSet, envelope: tuple, raw: str) -> int:
        """A set handed over at its ST (segment `v.seg_no`, text `raw`); its slot."""
        slot = len(self.slots)
        self.slots.append((len(v.result.findings), st, 0))
        self.open_set = st
        self._set_start = (slot, envelope, v.seg_no)
        self.kept = [raw]
        return slot

    def end_set(self, v: "Validator", last: int, closing: tuple | None) -> None:
        """The set handed over ends at segment `last`; `closing` as for `_SetChecker.check`, whose
        missing-SE findings go where the engine is now."""
        slot, envelope, first = self._set_start
        close_slot = None
        if closing is not None:
            close_slot = len(self.slots)
            self.slots.append((len(v.result.findings), self.open_set, 0))
        self.open_set = None
        units = (last - first + 1) * self.SET_UNITS
        kept = self.kept
        text = envelope[0][3].join(kept) if kept is not None and len(kept) <= self.KEEP else None
        self.kept = None
        self._post(("set", units, slot, close_slot, envelope, first, last, closing, text), units)

    def add(self, v: "Validator", segments: list) -> None:
        """Queue the rules of the claim `v` has just closed; its findings will go where `v` is now."""
        d = v.delims
        st = v.st
        fields = (v.name, v.transaction, v.claim_id, d.element, d.component, d.repetition,
                  v.isa.isa13 if v.isa else None, v.gs.gs06 if v.gs else None, st.st02 if st else None,
                  v.payment_date, st.segment_no - 1 if st is not None else 0)
        # three flat lists (the segments as raw text) pickle far faster than a list of 4-tuples (the
        # loop ids are shared strings)
        sep = d.element
        self.batch.append((len(self.slots), fields, [i[0] for i in segments], [sep.join(i[1]) for i in segments],
                           [i[2] for i in segments]))
        self.batch_units += len(segments)
        self.slots.append((len(v.result.findings), st, len(st.findings) if st is not None else 0))
        if len(self.batch) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        self._post(("claims", self.batch_units, self.batch), self.batch_units)
        self.batch = []
        self.batch_units = 0

    def finish(self, v: "Validator") -> None:
        """Wait for the rules and file their findings in place (last slot first keeps positions valid)."""
        if self.batch:
            self._send()
        self.inbox_w.send_bytes(b"")
        results, claims = pickle.loads(self.outbox_r.recv_bytes())
        v.result.claims += claims
        for slot, found, st_found, trailer_missing in sorted(results, key=lambda r: r[0], reverse=True):
            pos, st, st_pos = self.slots[slot]
            v.result.findings[pos:pos] = found
            if st is not None:
                st.findings[st_pos:st_pos] = st_found
                st.trailer_missing = st.trailer_missing or trailer_missing
            v.errors += sum(1 for f in found if f.severity == ERROR)

    def close(self) -> None:
        for conn in (self.inbox_w, self.outbox_r):
            conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _widen(conn, size: int = 1 << 20) -> None:
    """Give a pipe a bigger buffer (Linux; elsewhere it keeps its own), so that what is queued for the
    rules process fits in it and the engine's writes do not wait for that process to read."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, size)
    except (ImportError, AttributeError, OSError):
        pass


def _padded(elements: list[str], n: int) -> list[str]:
    """An envelope segment's elements with missing trailing ones as "" (their absence is reported
    by the element checks; the envelope logic still reads positions up to n - 1)."""
    return elements + [""] * (n - len(elements)) if len(elements) < n else elements


class _Closed:
    """Stands for an interchange after its IEA: findings between interchanges are not filed in it."""

    def __init__(self, isa13: str):
        self.isa13 = isa13
        self.findings: list[Finding] = []


def _first_segment_id(loop) -> str | None:
    first = loop.first_segment()
    return first.id if first is not None else None


def _segment_ids(table: TransactionTable) -> frozenset[str]:
    return frozenset(c.id for loop in table.loops for c in loop.children if isinstance(c, SegmentDef))


_IDS: dict[str, frozenset[str]] = {}


def _unplaced_code(table: TransactionTable, seg_id: str) -> str:
    """IK304 for a segment the walk could not place: 2 the set has it elsewhere, 6 another set has it,
    1 no implementation guide we know has it."""
    here = _IDS.get(table.version)
    if here is None:
        here = _IDS[table.version] = _segment_ids(table)
    if seg_id in here:
        return "2"
    every = _IDS.get("*")
    if every is None:
        ids = set(load_control_segments())
        for version in ("005010X222A1", "005010X221A1", "005010X231A1"):
            ids |= _segment_ids(load_table(version))
        every = _IDS["*"] = frozenset(ids)
    return "6" if seg_id in every else "1"


_UNPLACED = {"1": "segment_unknown", "2": "segment_unexpected", "6": "segment_not_in_set"}
_WALK_CODES = {"2": "segment_not_used", "3": "segment_missing",
               "4": "loop_repeat", "5": "segment_repeat"}
_IK4_NAMES = {"1": "missing", "2": "conditional_missing", "3": "too_many", "4": "too_short", "5": "too_long",
              "6": "invalid_character", "7": "invalid_code", "8": "invalid_date", "9": "invalid_time",
              "10": "exclusion", "I10": "not_used", "12": "too_many_repeats", "13": "too_many_components", "I12": "pattern"}
#: ISA element position -> TA105 note code for a bad value there
_TA1_BY_ELEMENT = {1: "010", 2: "011", 3: "012", 4: "013", 5: "005", 6: "006", 7: "007", 8: "008", 9: "014",
                   10: "015", 11: "016", 12: "017", 13: "018", 14: "019", 15: "020", 16: "027"}


def validate_file(path: str | Path, *, snip: Iterable[int] = ALL_SNIP, max_errors: int | None = None,
                  name: str | None = None, progress: Callable[[int], None] | None = None,
                  parallel: bool | None = None) -> FileResult:
    """Validate one 837P, 835 or 999 file; every finding located, in file order."""
    return Validator(path, snip=snip, max_errors=max_errors, name=name, progress=progress,
                     parallel=parallel).run()
