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
"""

from __future__ import annotations

import os
import pickle
import re
import threading
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Callable, Iterable

from edi.errors import X12SyntaxError
from edi.ig.tables import (
    FIRST_COMPONENT, FIRST_ELEMENT, SegmentDef, TransactionTable, load_control_segments, load_external_codes, load_table,
)
from edi.tokens import DEFAULT_DELIMITERS, RawSegments

from . import snip3, snip4, snip5
from .context import ClaimContext, TransactionContext
from .elements import SegmentChecker
from .report import mask_segment
from .findings import ERROR, WARNING, FileResult, Finding, Group, Interchange, TransactionSet
from .walk import Walker

ALL_SNIP = frozenset({1, 2, 3, 4, 5})
#: files at least this big get their claim rules checked in a second process (see RulePool)
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
                    self.rule_pool = RulePool(self.snip)
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
        """The hot loop. A segment inside a transaction set whose walker step raises nothing and whose
        elements pass the segment's regex is handled here with locals only; anything else (envelope,
        findings, the first sight of a transition or a segment definition) goes the long way."""
        rules = self.rules
        as_raw = self.rule_pool is not None  # claims travel to the rules process as raw text
        long = self._segment_long
        # these locals follow the state the long way leaves: refreshed after every long segment
        walker: Walker | None = None
        qual: dict = {}
        sep = double = ""
        comp = ":"
        checkers: dict = {}
        self.stream = stream = RawSegments(fh, self.name, progress=self.progress)
        for batch in stream.batches():
            for raw in batch:
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
                                fast = checker.fast
                                if fast is not None and fast.fullmatch(raw) is not None and (
                                        not checker.syntax or checker._syntax_ok.get(
                                            len(elements) if double not in raw else tuple(map(bool, elements)))):
                                    ok = True
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
                                    else:
                                        ok = walker.advance(step)
                                if ok:
                                    seg_no = self.seg_no = self.seg_no + 1
                                    st_count = self.st_count = self.st_count + 1
                                    if seg_id in _EVENTS:
                                        self._cur_elements = elements
                                        self._claim_event(seg_id, elements)
                                        self._counter_event(seg_id, elements, step.loop_id)
                                    if rules:
                                        item = (step.loop_id, raw if as_raw else elements, seg_no, st_count)
                                        claim = self.claim
                                        if claim is not None:
                                            claim.append(item)
                                        else:
                                            self._collect(item, seg_id, elements)
                                    continue
                long(raw)
                walker = self.walker
                if walker is not None:
                    qual = walker.qual
                sep = self.sep
                double = sep + sep
                comp = self.delims.component
                checkers = self._checkers

    def _new_interchange(self) -> None:
        """An ISA from the tokenizer: its delimiters hold until the next one."""
        stream = self.stream
        self._isa_seen = stream.isa_errors
        if stream.bom and self.seg_no == 0:
            self.add(1, "byte_order_mark", "the file starts with a UTF-8 byte order mark, which is not X12 data",
                     seg_no=None, level="file", severity=WARNING)
        delims = stream.delimiters
        self.delims = delims
        self.sep = delims.element
        self.isa_errors = stream.isa_errors
        if delims != self._checker_delims:
            self._checkers = {}
            self._checker_delims = delims

    def _segment_long(self, raw: str) -> None:
        if raw.startswith("ISA") and self.stream.isa_errors is not self._isa_seen:
            self._new_interchange()
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
            return self._isa(elements, raw)
        if self.st is not None:
            self.st_count += 1
        if raw[-1] == sep:
            self.add(1, "trailing_separator", f"segment {seg_id[:3]} ends with an element separator",
                     segment_id=seg_id[:3], ik3="8" if self.st else None)
        if _SEG_ID.fullmatch(seg_id) is None:
            self.add(1, "segment_id_invalid", "segment identifier is not valid", ik3="1")
            return
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
        item = (loop_id, raw if self.rule_pool is not None else elements, self.seg_no, self.st_count)
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
        for code, message, pos, comp_pos, severity, ik4 in snip5.check_segment(
                loop_id, elements, self.delims.component):
            self.add(5, code, message, segment_id=elements[0], loop=loop_id, element_pos=pos,
                     component_pos=comp_pos, severity=severity, ik3="8" if ik4 else None, ik4=ik4,
                     element=f"{elements[0]}{pos:02d}" if pos else None)

    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = None
        if self.transaction == "835" and self.clp_total is not None:
            clp = claim[0][1] if claim else None
            if isinstance(clp, str):
                clp = clp.split(self.sep)
            try:
                self.clp_total += Decimal(clp[4]) if clp is not None and len(clp) > 4 and clp[4] else 0
            except (InvalidOperation, ValueError):
                self.clp_total = None
        segments = (self.context + claim) if self.transaction == "837" else claim
        d = self.delims
        if self.rule_pool is not None:
            self.rule_pool.add(self, segments)
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
            if p not in self.hl_stack:
                self.add(1, "hl_parent", "HL02 does not name an open parent HL", segment_id="HL",
                         element="HL02", element_pos=2, ik3="8", ik4="I12")
            while self.hl_stack and self.hl_stack[-1] != p:
                self.hl_stack.pop()
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
        self.isa = _Closed(self.isa)

    def _missing_se(self) -> None:
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


def _rules_batch(snip: frozenset[int], batch: list) -> list[tuple[int, list[Finding]]]:
    """The rules process: claims arrive as raw segments (cheap to send), are split and checked here."""
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
            out.append((slot, found))
    return out


def _rules_worker(inbox, outbox, snip: frozenset[int]) -> None:
    """The rules process: pickled batches come in through one pipe; at the end (an empty message) all
    findings go back through the other. Nothing is sent back before that, so neither side can block
    the other on a full pipe."""
    results: list = []
    try:
        while True:
            data = inbox.recv_bytes()
            if not data:
                break
            results.extend(_rules_batch(snip, pickle.loads(data)))
        outbox.send_bytes(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
    except (EOFError, BrokenPipeError):
        pass  # the engine stopped early (error limit, unreadable file): nothing to report


class RulePool:
    """The claim-level rules (SNIP 3-5) of one big file, run in a second process while the engine walks.

    The walk (SNIP 1-2) and the rules each take about half the time, so on two cores they overlap.
    Claims go over a pipe in batches as raw segment text, pickled in the engine's own thread (a feeder
    thread would fight the walk for the interpreter lock); the pipe's small buffer bounds what waits, so
    memory stays flat whatever the file size. Each claim's findings are put back where the serial engine
    would have filed them (its place in the file's and its transaction set's finding lists), so the
    result is the same as a serial run, finding for finding.
    """

    BATCH = 200

    def __init__(self, snip: frozenset[int]):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.inbox_r, self.inbox_w = ctx.Pipe(duplex=False)
        self.outbox_r, self.outbox_w = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_rules_worker, args=(self.inbox_r, self.outbox_w, snip), daemon=True)
        self.process.start()
        self.inbox_r.close()
        self.outbox_w.close()
        self.batch: list = []
        self.slots: list[tuple[int, TransactionSet | None, int]] = []

    def add(self, v: "Validator", segments: list) -> None:
        d = v.delims
        st = v.st
        fields = (v.name, v.transaction, v.claim_id, d.element, d.component, d.repetition,
                  v.isa.isa13 if v.isa else None, v.gs.gs06 if v.gs else None, st.st02 if st else None,
                  v.payment_date, st.segment_no - 1 if st is not None else 0)
        # three flat lists pickle far faster than a list of 4-tuples (the loop ids are shared strings)
        self.batch.append((len(self.slots), fields, [i[0] for i in segments], [i[1] for i in segments],
                           [i[2] for i in segments]))
        self.slots.append((len(v.result.findings), st, len(st.findings) if st is not None else 0))
        if len(self.batch) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        self.inbox_w.send_bytes(pickle.dumps(self.batch, protocol=pickle.HIGHEST_PROTOCOL))
        self.batch = []

    def finish(self, v: "Validator") -> None:
        """Wait for the rules and file their findings in place (last claim first keeps positions valid)."""
        if self.batch:
            self._send()
        self.inbox_w.send_bytes(b"")
        results = pickle.loads(self.outbox_r.recv_bytes())
        for slot, found in sorted(results, key=lambda r: r[0], reverse=True):
            pos, st, st_pos = self.slots[slot]
            v.result.findings[pos:pos] = found
            if st is not None:
                st.findings[st_pos:st_pos] = found
            v.errors += sum(1 for f in found if f.severity == ERROR)

    def close(self) -> None:
        for conn in (self.inbox_w, self.outbox_r):
            conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _padded(elements: list[str], n: int) -> list[str]:
    """An envelope segment's elements with missing trailing ones as "" (their absence is reported
    by the element checks; the envelope logic still reads positions up to n - 1)."""
    return elements + [""] * (n - len(elements)) if len(elements) < n else elements


class _Closed:
    """Stands for an interchange after its IEA: findings between interchanges are not filed in it."""

    def __init__(self, isa: Interchange):
        self.isa13 = isa.isa13
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
