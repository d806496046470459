"""The validator's envelope checks: ISA/GS/ST/SE/GE/IEA counts, control numbers, uniqueness, missing
trailers, each with its TA1 / AK9 / IK5 code."""

from __future__ import annotations

from decimal import Decimal

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
    """`Validator` methods for the envelope segments."""

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


def _padded(elements: list[str], n: int) -> list[str]:
    """An envelope segment's elements with missing trailing ones as "" (their absence is reported
    by the element checks; the envelope logic still reads positions up to n - 1)."""
    return elements + [""] * (n - len(elements)) if len(elements) < n else elements


class _Closed:
    """Stands for an interchange after its IEA: findings between interchanges are not filed in it."""

    def __init__(self, isa13: str):
        self.isa13 = isa13
        self.findings: list[Finding] = []
