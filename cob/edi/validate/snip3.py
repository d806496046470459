"""SNIP 3 (balancing) over raw claim segments: 835 balancing here; an 837P's is the COB rule book's.

The engine calls `check_claim(ctx)` once per claim (837P: 2000B context + 2300 and below; 835: a 2100
loop and its 2110s) and `check_transaction(tctx)` once per 835 transaction set at SE. Rules record
findings through `ClaimContext.finding`; nothing is returned.

837P: the balancing equations of a claim and of each prior payer (`clm02_sum`, `cob_line_balance`,
`cob_claim_vs_lines`, `cob_claim_balance`; reference §1.9) are written once, in `cob.rules.book`, for
`cob validate` and for `cob secondary`'s pre-write check alike; `claim_view` reads the claim into the
book's view and reports what the book finds.

835 (reference §2.5; reversals, CLP02=22, carry negated amounts and balance the same way):

- `svc_balance`         SVC02 - sum(2110 CAS) == SVC03
- `clp_balance`         CLP03 - sum(2100 CAS) - sum(2110 CAS) == CLP04
- `bpr_balance`         BPR02 == sum(CLP04) - sum(PLB04, PLB06, ..., PLB14)   (transaction level)
- `clp05_pr_sum`        (warning) CLP05, the patient responsibility, == the sum of the PR (patient
                        responsibility) CAS amounts of the claim and its lines; payers may round or carry a
                        responsibility the CAS does not show, so it is a warning

A claim (or an 835 set) in which the walk could not place a segment (`ClaimContext.unplaced`, say an
SVC or CAS out of order) is not balanced: its sums would leave out money that is in the file, so
instead of a false sum one warning (`balance_not_checked`) names the segment that stopped it; the
structural error itself is SNIP 2's.

Amounts are `Decimal`, compared exactly. An amount that does not parse is the SNIP 1-2 engine's to
report: the equation that needs it is skipped without a finding.
"""

from __future__ import annotations

from decimal import Decimal

from cob.rules.book import money
from cob.rules.view import UNREADABLE

from . import claim_view
from .context import ClaimContext, LocatedSegment, TransactionContext
from .findings import ERROR, WARNING, Finding

SNIP = 3
SNIP_ONLY = frozenset({SNIP})
ZERO = Decimal(0)

#: CAS amount positions (CAS03, 06, 09, 12, 15, 18) and PLB amount positions (PLB04, 06, ..., 14)
CAS_AMOUNTS = (3, 6, 9, 12, 15, 18)
PLB_AMOUNTS = (4, 6, 8, 10, 12, 14)


# ------------------------------------------------------------------------------------------ helpers


def el(elements: list[str], i: int) -> str:
    return elements[i] if i < len(elements) else ""


def dec(value: str) -> Decimal | None:
    """A money amount, or None when empty or malformed (the engine reports malformed values): the claim
    view's reading of an amount (`claim_view.amount_of`, memoized), with unreadable as absent."""
    d = claim_view.amount_of(value)
    return None if d is UNREADABLE else d


def amount(seg: LocatedSegment, i: int) -> Decimal | None:
    """`dec` of the segment's element `i`, None when it is absent: the rules read most amounts this way,
    on every claim, so it is one call rather than two."""
    elements = seg[1]
    return dec(elements[i]) if i < len(elements) else None


def amounts_total(segs: list[LocatedSegment], positions: tuple[int, ...]) -> Decimal | None:
    """Sum of the amounts at `positions` in these segments (each segment's up to its last element);
    None as soon as one does not parse."""
    total = ZERO
    for seg in segs:
        elements = seg[1]
        n = len(elements)
        for i in positions:
            if i >= n:
                break
            v = elements[i]
            if v:
                d = dec(v)
                if d is None:
                    return None
                total += d
    return total


def cas_total(segs: list[LocatedSegment]) -> Decimal | None:
    """Sum of every amount in these CAS segments (a stray amount without a reason is still money);
    None when one does not parse."""
    return amounts_total(segs, CAS_AMOUNTS)


# ------------------------------------------------------------------------------------------ entry points


def check_claim(ctx: ClaimContext) -> None:
    """SNIP 3 over one claim: an 837P's balancing is the COB rule book's, an 835's is here."""
    if ctx.transaction == "837":
        claim_view.check_claim(ctx, SNIP_ONLY)
    elif ctx.transaction == "835":
        _check_835(ctx)


def _why_not(unplaced: tuple[int, str]) -> str:
    no, seg_id = unplaced
    return (f"segment {no} ({seg_id}) could not be placed, so a sum over the segments that were would "
            "leave it out")


def not_balanced(ctx: ClaimContext) -> None:
    """The one finding of a claim that SNIP 3 does not balance because a segment in it was not placed."""
    ctx.finding(SNIP, "balance_not_checked", f"claim not balanced: {_why_not(ctx.unplaced)}",
                severity=WARNING)


def check_transaction(tctx: TransactionContext) -> None:
    """835: BPR02 == sum(CLP04) - sum(PLB amounts) (`bpr_balance`)."""
    if tctx.transaction != "835":
        return
    if tctx.unplaced is not None:
        bpr = next((s for s in tctx.header if s[1][0] == "BPR"), None)
        tctx.findings.append(Finding(
            snip=SNIP, severity=WARNING, code="balance_not_checked",
            message=f"BPR02 not balanced against the claims: {_why_not(tctx.unplaced)}",
            file=tctx.file, segment_no=bpr[2] if bpr else None, segment_id="BPR" if bpr else None,
            loop=bpr[0] if bpr else None, st_segment_no=bpr[3] if bpr else None, isa_control=tctx.isa_control,
            gs_control=tctx.gs_control, st_control=tctx.st_control))
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

    if clp is None:
        return
    _patient_responsibility(ctx, clp, claim_cas, [seg for _svc, cas in lines for seg in cas])
    if line_cas_total is None:
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


def _patient_responsibility(ctx: ClaimContext, clp: LocatedSegment, claim_cas: list[LocatedSegment],
                            line_cas: list[LocatedSegment]) -> None:
    """CLP05 against the PR adjustments (claim and lines)."""
    stated = amount(clp, 5)
    if stated is None:
        return
    pr = [seg for seg in claim_cas if el(seg[1], 1) == "PR"] + [seg for seg in line_cas if el(seg[1], 1) == "PR"]
    total = cas_total(pr)
    if total is None or total == stated:
        return
    ctx.finding(SNIP, "clp05_pr_sum",
                f"CLP05 {money(stated)} != patient responsibility adjustments (PR CAS) {money(total)}",
                clp, element="CLP05", element_pos=5, severity=WARNING)
