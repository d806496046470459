"""SNIP 3 (balancing) rules over raw claim segments: 837P claim and COB balancing, 835 balancing.

The engine calls `check_claim(ctx)` once per claim (837P: 2000B context + 2300 and below; 835: a 2100
loop and its 2110s) and `check_transaction(tctx)` once per 835 transaction set at SE. Rules record
findings through `ClaimContext.finding`; nothing is returned.

837P (reference §1.9; each prior payer X is balanced on its own, payers are never summed together):

- `clm02_sum`           CLM02 == sum(SV102)
- `cob_line_balance`    per line L and SVD01 X: SV102(L) == sum(SVD02 of X's 2430s on L) + sum(their CAS)
- `cob_claim_vs_lines`  per payer X with AMT*D and 2430s: AMT*D == sum(SVD02 of X) - sum(X's 2320 CAS)
- `cob_claim_balance`   per payer X with AMT*D: CLM02 == AMT*D + sum(X's 2320 CAS) + sum(CAS in X's 2430s)
                        (with no 2430s for X this is rule 5: CLM02 == AMT*D + 2320 CAS)

835 (reference §2.5; reversals, CLP02=22, carry negated amounts and balance the same way):

- `svc_balance`         SVC02 - sum(2110 CAS) == SVC03
- `clp_balance`         CLP03 - sum(2100 CAS) - sum(2110 CAS) == CLP04
- `bpr_balance`         BPR02 == sum(CLP04) - sum(PLB04, PLB06, ..., PLB14)   (transaction level)

Amounts are `Decimal`, compared exactly. An amount that does not parse is the SNIP 1-2 engine's to
report: the equation that needs it is skipped without a finding. The same goes for a 2430 whose SVD01
names a payer id carried by more than one adjudicated 2320 (SNIP 4 `duplicate_payer_id` reports it):
its money cannot be attributed, so the line and claim-vs-lines equations for that id are skipped.

`parse_837` is shared with `snip4` and `snip5`: one pass over the segments into a light per-claim
structure (segments kept as the engine's tuples, nothing converted until a rule needs it). A claim whose
equations all hold in whole cents over plain amounts (`_balanced_837`, nearly every claim) is done with
integer sums; any other goes through the `Decimal` rules above, which alone word the findings.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from .context import ClaimContext, LocatedSegment, TransactionContext
from .findings import ERROR, Finding

SNIP = 3
ZERO = Decimal(0)

#: CAS amount positions (CAS03, 06, 09, 12, 15, 18) and PLB amount positions (PLB04, 06, ..., 14)
CAS_AMOUNTS = (3, 6, 9, 12, 15, 18)
PLB_AMOUNTS = (4, 6, 8, 10, 12, 14)


# ------------------------------------------------------------------------------------------ helpers


def el(elements: list[str], i: int) -> str:
    return elements[i] if i < len(elements) else ""


_AMOUNTS: dict[str, Decimal | None] = {}


def dec(value: str) -> Decimal | None:
    """A money amount, or None when empty or malformed (the engine reports malformed values).

    Remittances repeat the same few amounts over and over, so parsed values are memoized (bounded)."""
    try:
        return _AMOUNTS[value]
    except KeyError:
        pass
    if not value:
        return None
    try:
        d: Decimal | None = Decimal(value)
    except (InvalidOperation, ValueError):
        d = None
    else:
        if not d.is_finite():
            d = None
    if len(_AMOUNTS) > 100_000:
        _AMOUNTS.clear()
    _AMOUNTS[value] = d
    return d


def amount(seg: LocatedSegment, i: int) -> Decimal | None:
    """`dec` of the segment's element `i`, None when it is absent: the rules read most amounts this way,
    on every claim, so it is one call rather than two."""
    elements = seg[1]
    return dec(elements[i]) if i < len(elements) else None


def amounts_total(segs: list[LocatedSegment], positions: tuple[int, ...]) -> Decimal | None:
    """Sum of the amounts at `positions` in these segments; None when one does not parse."""
    return _summed(segs, positions, dec, ZERO)


def _summed(segs: list[LocatedSegment], positions: tuple[int, ...], parse: Callable[[str], Any], zero: Any) -> Any:
    """Sum of `parse` of the non-empty elements at `positions` (each segment's up to its last element);
    None as soon as one does not parse. Serves Decimal amounts and whole cents alike."""
    total = zero
    for seg in segs:
        elements = seg[1]
        n = len(elements)
        for i in positions:
            if i >= n:
                break
            v = elements[i]
            if v:
                d = parse(v)
                if d is None:
                    return None
                total += d
    return total


def cas_total(segs: list[LocatedSegment]) -> Decimal | None:
    """Sum of every amount in these CAS segments (a stray amount without a reason is still money);
    None when one does not parse."""
    return amounts_total(segs, CAS_AMOUNTS)


def money(d: Decimal) -> str:
    """An amount for a message: plain notation, as precise as the data."""
    return f"{d:f}"


# ------------------------------------------------------------------------------------------ 837 parse


class Payer:
    """One 2320 iteration with its 2330B payer."""

    __slots__ = ("sbr", "sequence", "cas", "amt_d", "amt_eaf", "amt_a8", "nm1", "dtp573", "payer_id")

    def __init__(self, sbr: LocatedSegment):
        self.sbr = sbr
        elements = sbr[1]
        self.sequence = elements[1] if len(elements) > 1 else ""  # SBR01
        self.cas: list[LocatedSegment] = []
        self.amt_d: LocatedSegment | None = None
        self.amt_eaf: LocatedSegment | None = None
        self.amt_a8: LocatedSegment | None = None
        self.nm1: LocatedSegment | None = None  # 2330B NM1*PR
        self.dtp573: LocatedSegment | None = None  # 2330B DTP*573
        self.payer_id = ""  # 2330B NM109

    def label(self) -> str:
        return f"payer {self.payer_id or '(no id)'} (SBR01 {self.sequence or '(none)'})"


def _line_number(lx: LocatedSegment) -> str:
    """A service line as messages name it: LX01."""
    return el(lx[1], 1) or "?"


class LineAdj:
    """One 2430 iteration. It keeps its line's LX rather than the `Line`, which holds it: without that
    cycle a claim's objects are freed when the claim is done, not by the garbage collector."""

    __slots__ = ("svd", "payer_id", "cas", "dtp573", "amt_eaf", "lx")

    def __init__(self, svd: LocatedSegment, lx: LocatedSegment):
        self.svd = svd
        elements = svd[1]
        self.payer_id = elements[1] if len(elements) > 1 else ""  # SVD01
        self.cas: list[LocatedSegment] = []
        self.dtp573: LocatedSegment | None = None
        self.amt_eaf: LocatedSegment | None = None
        self.lx = lx

    @property
    def line_number(self) -> str:
        return _line_number(self.lx)


class Line:
    """One 2400 iteration."""

    __slots__ = ("lx", "sv1", "adjs")

    def __init__(self, lx: LocatedSegment):
        self.lx = lx
        self.sv1: LocatedSegment | None = None
        self.adjs: list[LineAdj] = []

    @property
    def number(self) -> str:
        return _line_number(self.lx)


class SvdBlock:
    """What SNIP 5 reads of one SVD and the segments after it: its CAS and DTP*573, and the service line
    it belongs to (an index into `Claim837.service_dates`; -1 before any LX). SNIP 5 opens one on every
    SVD, where `LineAdj` needs an open 2400, so the two are kept apart."""

    __slots__ = ("cas", "dtp573", "line")

    def __init__(self, line: int):
        self.cas: list[LocatedSegment] = []
        self.dtp573: LocatedSegment | None = None
        self.line = line


class Claim837:
    """The one reading of an 837P claim that SNIP 3, 4 and 5 share (see `parse_837`)."""

    __slots__ = ("clm", "ref_f8", "sbr", "dest_nm1", "payers", "lines", "adjs", "coded", "svd_blocks",
                 "service_dates", "_ambiguous", "_by_payer")

    def __init__(self) -> None:
        self.clm: LocatedSegment | None = None
        self.ref_f8: LocatedSegment | None = None  # 2300 REF*F8
        self.sbr: LocatedSegment | None = None  # 2000B SBR (destination)
        self.dest_nm1: LocatedSegment | None = None  # 2010BB NM1*PR (destination payer)
        self.payers: list[Payer] = []
        self.lines: list[Line] = []
        self.adjs: list[LineAdj] = []  # every 2430, in file order
        #: SNIP 5: the segments with code checks of their own (SBR, SV1, HI, CLM, NM1, N1, N4), in order
        self.coded: list[LocatedSegment] = []
        #: SNIP 5: one per SVD, in file order
        self.svd_blocks: list[SvdBlock] = []
        #: SNIP 5: per LX, its last 2400 DTP*472 (the line's service date), or None
        self.service_dates: list[LocatedSegment | None] = []
        self._ambiguous: set[str] | None = None
        self._by_payer: dict[str, list[LineAdj]] | None = None

    def ambiguous(self) -> set[str]:
        """`ambiguous_ids`, worked out once for the SNIP 3 and SNIP 4 rules."""
        if self._ambiguous is None:
            self._ambiguous = ambiguous_ids(self)
        return self._ambiguous

    def adjs_of(self, payer_id: str) -> list[LineAdj]:
        """The 2430s whose SVD01 is `payer_id`, in file order (none for an empty id). Rules ask this per
        payer: grouping once keeps a claim with many payers and lines linear."""
        if not payer_id:
            return []
        by_payer = self._by_payer
        if by_payer is None:
            by_payer = self._by_payer = {}
            for a in self.adjs:
                by_payer.setdefault(a.payer_id, []).append(a)
        return by_payer.get(payer_id, [])


#: the segments `parse_837` reads; a claim's others (N3, DMG, PRV, OI, ...) are passed over at once
_PARSED = frozenset({"CAS", "DTP", "AMT", "SVD", "LX", "SV1", "SBR", "NM1", "CLM", "REF", "HI", "N1", "N4"})


def parse_837(ctx: ClaimContext) -> Claim837:
    """One pass over the claim's segments, grouped by loop instance, for all three rule modules: the
    rules run on every claim of a file, and walking its segments once (not once per module) is most of
    what keeps them cheap. Kept on the context, so the first module to ask builds it."""
    if isinstance(ctx.parsed, Claim837):
        return ctx.parsed
    c = ctx.parsed = Claim837()
    coded = c.coded
    dates = c.service_dates
    payer: Payer | None = None
    line: Line | None = None
    adj: LineAdj | None = None
    block: SvdBlock | None = None
    for seg in ctx.segments:
        elements = seg[1]
        sid = elements[0]
        if sid not in _PARSED:
            continue
        loop = seg[0]
        if sid == "CAS":
            if loop == "2430":
                if adj is not None:
                    adj.cas.append(seg)
                if block is not None:
                    block.cas.append(seg)
            elif loop == "2320" and payer is not None:
                payer.cas.append(seg)
        elif sid == "DTP":
            q = elements[1] if len(elements) > 1 else ""
            if q == "573":
                if loop == "2430":
                    if adj is not None:
                        adj.dtp573 = seg
                    if block is not None:
                        block.dtp573 = seg
                elif loop == "2330B" and payer is not None:
                    payer.dtp573 = seg
            elif q == "472" and loop == "2400" and dates:
                dates[-1] = seg
        elif sid == "AMT":
            q = elements[1] if len(elements) > 1 else ""
            if loop == "2430":
                if adj is not None and q == "EAF":
                    adj.amt_eaf = seg
            elif loop == "2320" and payer is not None:
                if q == "D":
                    payer.amt_d = seg
                elif q == "EAF":
                    payer.amt_eaf = seg
                elif q == "A8":
                    payer.amt_a8 = seg
        elif sid == "SVD":
            if loop == "2430" and line is not None:
                adj = LineAdj(seg, line.lx)
                line.adjs.append(adj)
                c.adjs.append(adj)
            block = SvdBlock(len(dates) - 1)
            c.svd_blocks.append(block)
        elif sid == "LX":
            if loop == "2400":
                line = Line(seg)
                adj = None
                c.lines.append(line)
            dates.append(None)
        elif sid == "SV1":
            if loop == "2400" and line is not None:
                line.sv1 = seg
            coded.append(seg)
        elif sid == "SBR":
            if loop == "2320":
                payer = Payer(seg)
                c.payers.append(payer)
            elif loop == "2000B":
                c.sbr = seg
            coded.append(seg)
        elif sid == "NM1":
            if loop == "2330B":
                if payer is not None:
                    payer.nm1 = seg
                    payer.payer_id = elements[9] if len(elements) > 9 else ""
            elif loop == "2010BB":
                c.dest_nm1 = seg
            coded.append(seg)
        elif sid == "CLM":
            if loop == "2300":
                c.clm = seg
            coded.append(seg)
        elif sid == "REF":
            if loop == "2300" and len(elements) > 1 and elements[1] == "F8":
                c.ref_f8 = seg
        elif sid == "HI" or sid == "N1" or sid == "N4":
            coded.append(seg)
    return c


def ambiguous_ids(c: Claim837) -> set[str]:
    """Payer ids named by more than one adjudicated (AMT*D) 2320: their 2430s cannot be attributed."""
    seen: set[str] = set()
    ambiguous: set[str] = set()
    for p in c.payers:
        if p.amt_d is not None and p.payer_id:
            if p.payer_id in seen:
                ambiguous.add(p.payer_id)
            seen.add(p.payer_id)
    return ambiguous


# ------------------------------------------------------------------------------------------ entry points


def check_claim(ctx: ClaimContext) -> None:
    if ctx.transaction == "837":
        _check_837(ctx)
    elif ctx.transaction == "835":
        _check_835(ctx)


def check_transaction(tctx: TransactionContext) -> None:
    """835: BPR02 == sum(CLP04) - sum(PLB amounts) (`bpr_balance`)."""
    if tctx.transaction != "835":
        return
    total = tctx.claim_payment_total
    if not isinstance(total, Decimal) or not total.is_finite():
        return
    bpr = next((s for s in tctx.header if s[1][0] == "BPR"), None)
    if bpr is None:
        return
    paid = amount(bpr, 2)
    if paid is None:
        return
    plb_total = amounts_total([seg for seg in tctx.trailer if seg[1][0] == "PLB"], PLB_AMOUNTS)
    if plb_total is None:
        return
    expected = total - plb_total
    if paid != expected:
        tctx.findings.append(Finding(
            snip=SNIP, severity=ERROR, code="bpr_balance",
            message=(f"BPR02 {money(paid)} != claim payments (sum of CLP04) {money(total)} "
                     f"- provider adjustments (PLB) {money(plb_total)} = {money(expected)}"),
            file=tctx.file, segment_no=bpr[2], segment_id="BPR", loop=bpr[0], element="BPR02",
            element_pos=2, st_segment_no=bpr[3], isa_control=tctx.isa_control,
            gs_control=tctx.gs_control, st_control=tctx.st_control,
        ))


# ------------------------------------------------------------------------------------------ 837 fast path

#: plain money: at most 15 digits before the point and 2 after. Sums of such amounts are exact both
#: as `Decimal` (28 digits) and as whole cents, so the two agree on every equation below.
_PLAIN_MONEY = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,2})?")
_CENTS: dict[str, int | None] = {}


def cents(value: str) -> int | None:
    """A plain money amount in whole cents; None for anything else (empty, malformed, or merely
    unusual like "1E3" or "5."), which sends the claim to the exact `Decimal` rules. Memoized (bounded)."""
    try:
        return _CENTS[value]
    except KeyError:
        pass
    c = int(Decimal(value) * 100) if _PLAIN_MONEY.fullmatch(value) is not None else None
    if len(_CENTS) > 100_000:
        _CENTS.clear()
    _CENTS[value] = c
    return c


def _cents_at(seg: LocatedSegment, i: int) -> int | None:
    """`cents` of the segment's element `i`; None when it is absent."""
    elements = seg[1]
    return cents(elements[i]) if i < len(elements) else None


def _cas_cents(segs: list[LocatedSegment]) -> int | None:
    """`cas_total` in cents; None when an amount is not plain."""
    return _summed(segs, CAS_AMOUNTS, cents, 0)


def _balanced_837(c: Claim837) -> bool:
    """True when every SNIP 3 equation of the claim holds in whole cents over plain amounts, so that the
    exact rules would find nothing. Nearly every claim is such, and integer sums (each 2430 summed once,
    for its line and for its payer) cost far less than the rules' `Decimal` ones. False means only "not
    proven": an ambiguous payer id, a missing or unusual amount, or an equation that fails."""
    charge = _cents_at(c.clm, 2) if c.clm is not None else None
    if charge is None or c.ambiguous():
        return False
    per_adj: dict[LineAdj, tuple[int, int]] = {}
    for a in c.adjs:
        paid = _cents_at(a.svd, 2)
        adjusted = _cas_cents(a.cas)
        if paid is None or adjusted is None:
            return False
        per_adj[a] = (paid, adjusted)
    lines_total = 0
    for line in c.lines:
        sv102 = _cents_at(line.sv1, 2) if line.sv1 is not None else None
        if sv102 is None or (line.adjs and not _line_balanced(line, sv102, per_adj)):
            return False
        lines_total += sv102
    if c.lines and lines_total != charge:
        return False
    for p in c.payers:
        if p.amt_d is None:
            continue
        amt_d = _cents_at(p.amt_d, 2)
        claim_cas = _cas_cents(p.cas)
        if amt_d is None or claim_cas is None:
            return False
        adjs = c.adjs_of(p.payer_id)
        paid = line_cas = 0
        for a in adjs:
            svd02, cas = per_adj[a]
            paid += svd02
            line_cas += cas
        if (adjs and amt_d != paid - claim_cas) or amt_d + claim_cas + line_cas != charge:
            return False
    return True


def _line_balanced(line: Line, sv102: int, per_adj: dict[LineAdj, tuple[int, int]]) -> bool:
    """Rule 2 in cents: SV102 == SVD02 + CAS of each payer's 2430s on the line."""
    adjs = line.adjs
    if len(adjs) == 1:
        paid, adjusted = per_adj[adjs[0]]
        return paid + adjusted == sv102
    by_payer: dict[str, int] = {}
    for a in adjs:
        paid, adjusted = per_adj[a]
        by_payer[a.payer_id] = by_payer.get(a.payer_id, 0) + paid + adjusted
    return all(net == sv102 for net in by_payer.values())


# ------------------------------------------------------------------------------------------ 837


def _check_837(ctx: ClaimContext, claim: Claim837 | None = None) -> None:
    c = claim if claim is not None else parse_837(ctx)
    clm = c.clm
    if clm is None or _balanced_837(c):
        return
    charge = amount(clm, 2)

    # rule 1: CLM02 == sum(SV102); a claim without lines is the engine's (2400 is required)
    if charge is not None and c.lines:
        lines_total: Decimal | None = ZERO
        for line in c.lines:
            d = amount(line.sv1, 2) if line.sv1 is not None else None
            if d is None:
                lines_total = None
                break
            lines_total += d
        if lines_total is not None and lines_total != charge:
            ctx.finding(SNIP, "clm02_sum",
                        f"CLM02 {money(charge)} != sum of line charges (SV102) {money(lines_total)}",
                        clm, element="CLM02", element_pos=2)

    if not c.adjs and not c.payers:
        return
    ambiguous = c.ambiguous()

    # rule 2: per line, per SVD01
    for line in c.lines:
        if not line.adjs or line.sv1 is None:
            continue
        sv102 = amount(line.sv1, 2)
        if sv102 is None:
            continue
        groups: dict[str, list[LineAdj]] = {}
        for a in line.adjs:
            groups.setdefault(a.payer_id, []).append(a)
        for payer_id, adjs in groups.items():
            if payer_id in ambiguous:
                continue
            paid = _svd_total(adjs)
            adjusted = _line_cas_total(adjs)
            if paid is None or adjusted is None:
                continue
            if paid + adjusted != sv102:
                ctx.finding(SNIP, "cob_line_balance",
                            f"line {line.number}: charge (SV102) {money(sv102)} != payer {payer_id or '(no id)'} "
                            f"paid (SVD02) {money(paid)} + line adjustments (CAS) {money(adjusted)} "
                            f"= {money(paid + adjusted)}",
                            adjs[0].svd, element="SVD02", element_pos=2)

    # rules 3-5: per adjudicated payer
    for p in c.payers:
        if p.amt_d is None:
            continue
        amt_d = amount(p.amt_d, 2)
        claim_cas = cas_total(p.cas)
        if amt_d is None or claim_cas is None:
            continue
        pid = p.payer_id
        adjs = c.adjs_of(pid)
        if adjs and pid in ambiguous:
            continue  # two adjudicated 2320s share the id: these 2430s cannot be attributed
        line_cas = _line_cas_total(adjs)
        if line_cas is None:
            continue
        if adjs:
            paid = _svd_total(adjs)
            if paid is not None and amt_d != paid - claim_cas:
                ctx.finding(SNIP, "cob_claim_vs_lines",
                            f"{p.label()}: AMT*D {money(amt_d)} != line paid (sum of SVD02) {money(paid)} "
                            f"- claim adjustments (2320 CAS) {money(claim_cas)} = {money(paid - claim_cas)}",
                            p.amt_d, element="AMT02", element_pos=2)
        if charge is None:
            continue
        total = amt_d + claim_cas + line_cas
        if total != charge:
            hint = ""
            if adjs:
                missing = [ln.number for ln in c.lines if not any(a.payer_id == pid for a in ln.adjs)]
                if missing:
                    hint = f"; line(s) {','.join(missing)} have no 2430 for this payer"
            ctx.finding(SNIP, "cob_claim_balance",
                        f"{p.label()}: CLM02 {money(charge)} != AMT*D {money(amt_d)} + claim adjustments "
                        f"(2320 CAS) {money(claim_cas)} + line adjustments (2430 CAS) {money(line_cas)} "
                        f"= {money(total)}{hint}",
                        p.amt_d, element="AMT02", element_pos=2)


def _svd_total(adjs: list[LineAdj]) -> Decimal | None:
    """Sum of SVD02 over these 2430s; None when one does not parse."""
    total = ZERO
    for a in adjs:
        d = amount(a.svd, 2)
        if d is None:
            return None
        total += d
    return total


def _line_cas_total(adjs: list[LineAdj]) -> Decimal | None:
    """`cas_total` of these 2430s' CAS taken together, added in file order like one list of them."""
    if len(adjs) == 1:
        return cas_total(adjs[0].cas)
    return cas_total([s for a in adjs for s in a.cas])


# ------------------------------------------------------------------------------------------ 835


def _check_835(ctx: ClaimContext) -> None:
    clp: LocatedSegment | None = None
    claim_cas: list[LocatedSegment] = []
    lines: list[tuple[LocatedSegment | None, list[LocatedSegment]]] = []  # (SVC, its CAS)
    for seg in ctx.segments:
        sid = seg[1][0]
        if seg[0] == "2110":
            if sid == "SVC":
                lines.append((seg, []))
            elif sid == "CAS":
                if not lines:
                    lines.append((None, []))  # misplaced; the engine reports the structure
                lines[-1][1].append(seg)
        elif sid == "CLP":
            clp = seg
        elif sid == "CAS" and seg[0] == "2100":
            claim_cas.append(seg)

    line_cas_total: Decimal | None = ZERO
    for n, (svc, cas) in enumerate(lines, 1):
        adjusted = cas_total(cas)
        if adjusted is None:
            line_cas_total = None
            continue
        if line_cas_total is not None:
            line_cas_total += adjusted
        if svc is None:
            continue
        charge = amount(svc, 2)
        paid = amount(svc, 3)
        if charge is None or paid is None:
            continue
        if charge - adjusted != paid:
            ctx.finding(SNIP, "svc_balance",
                        f"service line {n}: SVC03 {money(paid)} != charge (SVC02) {money(charge)} "
                        f"- line adjustments (CAS) {money(adjusted)} = {money(charge - adjusted)}",
                        svc, element="SVC03", element_pos=3)

    if clp is None or line_cas_total is None:
        return
    charge = amount(clp, 3)
    paid = amount(clp, 4)
    claim_adj = cas_total(claim_cas)
    if charge is None or paid is None or claim_adj is None:
        return
    expected = charge - claim_adj - line_cas_total
    if expected != paid:
        ctx.finding(SNIP, "clp_balance",
                    f"CLP04 {money(paid)} != charge (CLP03) {money(charge)} - claim adjustments (2100 CAS) "
                    f"{money(claim_adj)} - line adjustments (2110 CAS) {money(line_cas_total)} = {money(expected)}",
                    clp, element="CLP04", element_pos=4)
