"""The validator's envelope: `cob.edi.envelope.EnvelopeMachine` (the one reading of ISA..IEA, GS..GE,
ST..SE and its code list) drives it; this module files the machine's problems as findings with their
TA1 / AK9 / IK5 codes under the interchange, group or set (findings.py), and adds what only the
validator does: the elements of ISA / GS / ST / GE / IEA, the guide GS08 names, ST01 against it, the
walk into a set, and closing a set's claim collection when the set ends."""

from __future__ import annotations

from decimal import Decimal

from cob.edi.envelope import CODES, EnvelopeProblem
from cob.edi.errors import X12Error
from cob.edi.guides import group_problem, interchange_problem
from cob.edi.ig.tables import (
    SegmentDef,
    load_table,
)
from cob.edi.walk import Walker

from . import snip3
from .codes import _IK4_NAMES, _TA1_BY_ELEMENT, SUPPORTED
from .context import TransactionContext
from .findings import Finding, Group, Interchange, TransactionSet


class EnvelopeChecks:
    """`Validator` methods for the envelope segments. Each one asks the machine what the segment's arrival
    means (`begin`), checks the segment's elements, then lets the machine check its values; findings so
    come in the order: trailers that never came, the segment's elements, its counts and control numbers."""

    def _envelope_problems(self, problems) -> None:
        """File the machine's problems; a missing trailer also closes what the validator keeps open."""
        for p in problems:
            code = p.code
            if code == "se_missing":
                self._missing_se(p)
            elif code == "ge_missing":
                self.gs.trailer_missing = True
                self._envelope_finding(p)
                self.gs = None
                self.table = None
            else:
                self._envelope_finding(p)
                if code == "iea_missing":
                    self.isa = None

    def _envelope_finding(self, p: EnvelopeProblem) -> None:
        entry = CODES[p.code]
        self.add(entry.snip, p.code, p.message, segment_id=p.segment_id, element=p.element,
                 element_pos=p.element_pos, level=p.level, **entry.acks(p.level))

    def _token_problem(self, e: X12Error, fatal: bool = False) -> None:
        """A problem the tokenizer found with an ISA or the file's start (codes of the same list); a fatal one
        (nothing after it can be read) is located where the tokenizer says and belongs to the interchange
        before it, if any."""
        entry = CODES[e.code]
        if not fatal:
            self.add(entry.snip, e.code, e.message, segment_id="ISA", level="isa", **entry.acks("isa"))
            return
        if entry.level == "file":  # not X12 at all
            self.seg_no += 1
            self.add(entry.snip, e.code, e.message, level="file")
            return
        level = "isa" if self.isa else "file"
        self.add(entry.snip, e.code, e.message, seg_no=e.segment_no, segment_id=e.segment_id, level=level,
                 **entry.acks(level))

    def _isa(self, elements: list[str], raw: str) -> None:
        self._envelope_problems(self.envelope.begin("ISA", self.seg_no))
        while len(elements) < 17:
            elements.append("")
        d = self.delims
        self.isa = Interchange(
            isa05=elements[5], isa06=elements[6], isa07=elements[7], isa08=elements[8], isa09=elements[9],
            isa10=elements[10], isa13=elements[13], isa14=elements[14], isa15=elements[15],
            segment_no=self.seg_no, element_sep=d.element, component_sep=d.component,
            repetition_sep=d.repetition, segment_term=d.segment)
        self.result.interchanges.append(self.isa)
        for e in self.isa_errors:  # once, at the ISA the tokenizer read them from
            self._token_problem(e)
        self.isa_errors = ()
        unsupported = interchange_problem(elements[12])
        self.skip_interchange = unsupported is not None
        if unsupported is not None:
            # one finding for the interchange: its ISA elements, segments and guides follow another
            # version's rules, so every check of ours would only repeat this one (issue 15)
            self.add(1, "version_not_supported", unsupported, segment_id="ISA", element="ISA12", element_pos=12,
                     level="isa", ta1="017", bad_value=elements[12])
            self._envelope_problems(self.envelope.isa(elements, self.seg_no, d))
            return
        seg = self.control["ISA"]
        self._check_isa_elements(seg, elements)
        self._envelope_problems(self.envelope.isa(elements, self.seg_no, d))

    def _check_isa_elements(self, seg: SegmentDef, elements: list[str]) -> None:
        checker = self._checkers.get(id(seg)) or self._checker(seg)
        for p in checker.slow(elements):
            self.add(1, "element_" + _IK4_NAMES.get(p.ik4, "invalid"), p.message, segment_id="ISA",
                     element=p.xid, element_pos=p.element_pos, level="isa",
                     ta1=_TA1_BY_ELEMENT.get(p.element_pos, "022"), bad_value=p.bad_value)

    def _gs(self, elements: list[str], raw: str) -> None:
        problems = self.envelope.begin("GS", self.seg_no)
        self._envelope_problems(problems)
        if self.envelope.interchange is None:
            return
        el = _padded(elements, 9)
        self.gs = Group(gs01=el[1], gs02=el[2], gs03=el[3], gs06=el[6], gs08=el[8], segment_no=self.seg_no)
        self.isa.groups.append(self.gs)
        version = el[8]
        guide = load_table(version) if version in SUPPORTED else None
        gs_def = guide.gs if guide is not None and guide.gs is not None else self.control["GS"]
        # an unsupported GS08 is one finding (below), not also "not a valid code"
        self._check_elements(gs_def, elements, raw, None, level="gs", skip_pos=8 if guide is None else None)
        self._envelope_problems(self.envelope.gs(el, self.seg_no))
        self.table = None
        self.transaction = None
        if guide is not None:
            self.table = guide
            self.transaction = SUPPORTED[version][0]  # GS01 is checked against the guide's own GS
        else:
            self.add(2, "version_not_supported", group_problem(version), segment_id="GS", element="GS08",
                     element_pos=8, level="gs", ak9="2", bad_value=version)

    def _st(self, elements: list[str], raw: str) -> None:
        self._envelope_problems(self.envelope.begin("ST", self.seg_no))
        if self.gs is None:  # outside a group: reported, not read
            return
        el = _padded(elements, 4)
        self.st = TransactionSet(st01=el[1], st02=el[2], st03=el[3] or None, segment_no=self.seg_no)
        self.gs.transactions.append(self.st)
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
        self.set_unplaced = self.claim_unplaced = None
        self.hl_last = None
        self._envelope_problems(self.envelope.st(el, self.seg_no))
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
        self._envelope_problems(self.envelope.begin("SE", self.seg_no))
        if self.st is None:
            return
        if self.walker is not None:
            self._body(elements, raw, "SE")
        self._hl_child(None)
        self._close_claim()
        self.claim_id = None
        self._end_transaction()
        self._envelope_problems(self.envelope.se(elements, self.seg_no))
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
            unplaced=self.set_unplaced, isa_control=self.isa.isa13 if self.isa else None, gs_control=self.gs.gs06 if self.gs else None,
            st_control=self.st.st02 if self.st else None)
        snip3.check_transaction(tctx)
        for f in tctx.findings:
            self._file(f, "st")

    def _ge(self, elements: list[str], raw: str) -> None:
        self._envelope_problems(self.envelope.begin("GE", self.seg_no))
        if self.gs is None:
            return
        self._check_elements(self.control["GE"], elements, raw, None, level="gs")
        self._envelope_problems(self.envelope.ge(elements, self.seg_no))
        self.gs = None
        self.table = None

    def _skipped(self, raw: str) -> bool:
        """Inside an interchange of a version not read (`_isa`): True when the segment is passed over unread
        (counted only); its IEA closes the interchange unchecked, a new ISA is read as usual."""
        head = raw.lstrip(" \t\r\n")[:3]
        if head == "ISA":
            return False
        self.seg_no += 1
        if head == "IEA":
            self.skip_interchange = False
            self.envelope.leave_interchange()
            self.isa = _Closed(self.isa.isa13) if self.isa is not None else None
        return True

    def _iea(self, elements: list[str], raw: str) -> None:
        self._envelope_problems(self.envelope.begin("IEA", self.seg_no))
        if self.envelope.interchange is None:
            return
        self._check_elements(self.control["IEA"], elements, raw, None, level="isa")
        self._envelope_problems(self.envelope.iea(elements, self.seg_no))
        self.isa = _Closed(self.isa.isa13)

    def _missing_se(self, p: EnvelopeProblem) -> None:
        if self._remote_closing is not None:  # the other process reports it, here, in file order
            self.rule_pool.end_set(self, *self._remote_closing)
            self._remote_closing = None
            self.st = None
            self.walker = None
            self.claim_id = None
            return
        self._hl_child(None)
        self._close_claim()
        self._end_transaction()
        self.st.trailer_missing = True
        self._envelope_finding(p)
        self.st = None
        self.walker = None
        self.claim_id = None

    def _end_of_file(self) -> None:
        self.seg_no_end = self.seg_no
        if self.remote is not None:
            self._end_remote(None)
        problems = self.envelope.end_of_file(self.seg_no)
        if problems:
            saved = self.seg_no
            self.seg_no = None  # end of file
            self._cur_elements = None
            self._envelope_problems(problems)
            self.isa = None
            self.seg_no = saved


def _padded(elements: list[str], n: int) -> list[str]:
    """An envelope segment's elements with missing trailing ones as "" (their absence is reported
    by the element checks; the envelope logic still reads positions up to n - 1)."""
    return elements + [""] * (n - len(elements)) if len(elements) < n else elements


class _Closed:
    """Stands for an interchange after its IEA: findings between interchanges are not filed in it."""

    def __init__(self, isa13: str):
        self.isa13 = isa13
        self.findings: list[Finding] = []
