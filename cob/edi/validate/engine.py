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

This module holds the hot loop (`Validator._segments`) and the long way for any segment it does not
handle; the rest of `Validator` comes from one module per concern: `envelope_checks` (ISA..IEA),
`claims` (claim collection and the claim rules), `remote` (the second process), `codes` (code tables).
"""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import IO, Callable, Iterable

from cob.edi.envelope import EnvelopeMachine
from cob.edi.errors import X12Error, X12SyntaxError
from cob.edi.ig.tables import (
    FIRST_COMPONENT,
    FIRST_ELEMENT,
    SegmentDef,
    TransactionTable,
    load_control_segments,
    load_external_codes,
)
from cob.edi.tokens import DEFAULT_DELIMITERS, Delimiters, RawSegments
from cob.edi.walk import SEGMENT_ID, Walker

from . import repeats
from .claims import ClaimCollection
from .codes import _IK4_NAMES
from .codes import snip_of_ik4 as _snip_of_ik4
from .elements import SegmentChecker
from .envelope_checks import EnvelopeChecks
from .findings import (
    ERROR,
    WARNING,
    FileResult,
    Finding,
    Group,
    Interchange,
    TransactionSet,
)
from .remote import RemoteSets, RulePool
from .report import mask_segment

ALL_SNIP = frozenset({1, 2, 3, 4, 5})
#: files at least this big are checked with the help of a second process (see RulePool)
PARALLEL_BYTES = 4_000_000
#: segments the fast path leaves to the long way: envelope, and those that open claims or HL levels
_SPECIAL = frozenset({"ISA", "GS", "GE", "IEA", "ST", "SE"})
#: segments that open or close a claim, an HL level or a counter
_EVENTS = frozenset({"HL", "CLM", "CLP", "LX", "PLB"})
class _Stop(Exception):
    """--max-errors reached."""


class Validator(RemoteSets, ClaimCollection, EnvelopeChecks):
    """Validates one file. `run()` returns its `FileResult`; `progress(bytes)` is called per chunk."""

    def __init__(self, path: str | Path, *, snip: Iterable[int] = ALL_SNIP, max_errors: int | None = None,
                 name: str | None = None, progress: Callable[[int], None] | None = None,
                 parallel: bool | None = None, trace: Callable[[int, str | None], None] | None = None,
                 show_values: bool = False):
        self.path = Path(path)
        #: findings quote their segment unmasked (`--show-values`, local debugging only)
        self.show_values = show_values
        #: called with (segment number, IG loop id or None when not placed) for every segment walked;
        #: when set, every segment goes the long way and in this process (tests compare walks with it)
        self.trace = trace
        #: claim rules in a second process: None = for big files on a multi-core machine
        self.parallel = parallel
        self.rule_pool: RulePool | None = None
        self.name = name or str(path)
        self.snip = frozenset(snip)
        self.rules = bool(self.snip & {3, 4, 5})
        #: (segment number, CLM/CLP, claim id) of every claim, for the repeated-id warning (`repeats`, SNIP 4)
        self.claim_ids: repeats.ClaimIds | None = repeats.ClaimIds() if 4 in self.snip else None
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
        # envelope state: the machine's, and the open envelopes as findings are filed under them
        self.envelope = EnvelopeMachine()
        self.isa: Interchange | None = None
        self.gs: Group | None = None
        self.st: TransactionSet | None = None
        #: the tokenizer's problems with the last ISA it read, until `_isa` reports them
        self.isa_errors: list[X12Error] | tuple = ()
        #: in an interchange of a version not read (one finding at its ISA): segments up to its IEA are skipped
        self.skip_interchange = False
        #: a segment outside transaction sets started with spaces: reported once per file
        self.indented = False
        self.table: TransactionTable | None = None
        self.transaction: str | None = None
        self.walker: Walker | None = None
        self.st_count = 0  # segments in the open transaction set, ST included
        self.hl_count = 0
        self.hl_stack: list[int] = []
        #: the last HL of the set as (HL01, HL04, segment number, number in the set), until the next HL
        #: or the set's end says whether it has the child HL04 promises (`_hl_child`)
        self.hl_last: tuple[str, str, int, int] | None = None
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
        #: the first segment the walk could not place in the open claim / transaction set, as
        #: (segment number, segment id): balancing leaves it out, so SNIP 3 says it cannot balance
        self.claim_unplaced: tuple[int, str] | None = None
        self.set_unplaced: tuple[int, str] | None = None
        self.seg_no = 0

    # ---------------------------------------------------------------------------------- results
    def add(self, snip: int, code: str, message: str, *, segment_id: str | None = None, loop: str | None = None,
            severity: str = ERROR, seg_no: int | None = -1, st_no: int | None = None, level: str = "st",
            **extra) -> Finding:
        """Record a finding at the current segment (or `seg_no`), filed at `level` (st, gs, isa)."""
        if seg_no == -1 and self._cur_elements is not None and "segment_text" not in extra:
            extra["segment_text"] = mask_segment(self._cur_elements, self.delims.component, self.show_values)
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
        if self.rules and self.max_errors is None and self.parallel is not False and self.trace is None:
            try:
                big = self.path.stat().st_size >= PARALLEL_BYTES
            except OSError:
                big = False
            # fork only from a single-threaded process (a forked child inherits other threads' locks)
            if self.parallel or (big and (os.cpu_count() or 1) > 1 and threading.active_count() == 1):
                try:
                    self.rule_pool = RulePool(self.snip, self.path, self.name, self.show_values)
                except (ValueError, OSError):  # no fork on this platform, or no process to spare
                    self.rule_pool = None
        try:
            with open(self.path, "r", encoding="utf-8", errors="replace", newline="") as fh:
                self._read(fh)
            if self.rule_pool is not None:
                self.rule_pool.finish(self)
            if self.claim_ids:  # file-level warnings after the rest (no interchange's: no TA1, no 999)
                self.result.findings.extend(repeats.findings(self.name, self.claim_ids))
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
        except X12SyntaxError as exc:  # the tokenizer cannot go on: not X12, no ISA after an IEA, a cut ISA
            self._token_problem(exc.error, fatal=True)
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
                walker = self.walker if self.trace is None else None  # tracing: every segment the long way
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
        if self.skip_interchange and self._skipped(raw):
            return
        if raw.startswith("ISA") and self.stream is not None and self.stream.isa_errors is not self._isa_seen:
            self._new_interchange()
        if self.remote is not None:
            return self._end_remote(raw)
        if self.rule_pool is not None and raw.startswith("ST") and self._dispatch(raw):
            return
        found = self._prelude(raw)
        if found is None:
            if self.trace is not None and self.walker is not None:
                self.trace(self.seg_no, None)  # not a segment id: not walked, not placed
            return
        elements, raw = found
        seg_id = elements[0]
        if seg_id == "ISA":
            return self._isa(elements, raw)
        envelope = self._envelope.get(seg_id)
        if envelope is not None:
            return envelope(elements, raw)
        if self.st is None:
            return self._envelope_problems(self.envelope.begin(seg_id, self.seg_no))  # outside a set
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
            # an indented file is one finding per transaction set (and one for the envelope segments outside
            # sets), not one per line (issue 15); per set, so that a set checked in the other process says
            # the same, and each set's 999 rejects it
            st = self.st
            if st is not None and self.walker is None:
                pass  # a set of a guide not checked: reported once at its GS, nothing in it is
            elif (st.indented if st is not None else self.indented) is False:
                if st is not None:
                    st.indented = True
                else:
                    self.indented = True
                self.add(1, "leading_space", "segment starts with a space (indented; later segments that start "
                         "with spaces are read without them and not reported again)", ik3="1")
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
        if SEGMENT_ID.fullmatch(seg_id) is None:
            self.add(1, "segment_id_invalid", "segment identifier is not valid", ik3="1")
            return None
        return elements, raw

    def _check_elements(self, seg: SegmentDef, elements: list[str], raw: str, loop: str | None,
                        level: str = "st", skip_pos: int | None = None) -> bool:
        checker = self._checkers.get(id(seg))
        if checker is None:
            checker = self._checker(seg)
        problems = checker.check(elements, raw)
        for p in problems:
            if p.element_pos == skip_pos:
                continue  # reported by the caller as its own finding
            self.add(_snip_of_ik4(p.ik4), "element_" + _IK4_NAMES.get(p.ik4, "invalid"),
                     f"{p.xid}: {p.message}" if not p.message.startswith(p.xid) else p.message,
                     segment_id=seg.id, loop=loop, element=p.xid, element_pos=p.element_pos,
                     component_pos=p.component_pos, data_ele=p.data_ele or None, ik3="8", ik4=p.ik4,
                     bad_value=p.bad_value, level=level)
        return not problems

    def _checker(self, seg: SegmentDef) -> SegmentChecker:
        """Checkers are per delimiter set: the table is dropped when an interchange changes them."""
        d = self.delims
        checker = self._checkers[id(seg)] = SegmentChecker(seg, d.element, d.component, d.segment, self.external,
                                                                 d.repetition)
        return checker

    def _body(self, elements: list[str], raw: str, seg_id: str) -> None:
        step, problems = self.walker.step(elements)
        for p in problems:
            self.add(2, p.code, p.message, segment_id=p.segment_id, loop=p.loop, severity=p.severity, ik3=p.ik3)
        seg = step.seg
        if self.trace is not None:
            self.trace(self.seg_no, seg.loop.id if seg is not None else None)
        if seg is None:
            if self.set_unplaced is None:
                self.set_unplaced = (self.seg_no, seg_id)
            if self.claim is not None and self.claim_unplaced is None:
                self.claim_unplaced = (self.seg_no, seg_id)
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



def validate_file(path: str | Path, *, snip: Iterable[int] = ALL_SNIP, max_errors: int | None = None,
                  name: str | None = None, progress: Callable[[int], None] | None = None,
                  parallel: bool | None = None, show_values: bool = False) -> FileResult:
    """Validate one 837P, 835 or 999 file; every finding located, in file order. Segments quoted in
    findings have person data masked unless `show_values` (see `masking`)."""
    return Validator(path, snip=snip, max_errors=max_errors, name=name, progress=progress,
                     parallel=parallel, show_values=show_values).run()

