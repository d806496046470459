"""SNIP 4 (situational / inter-segment) rules over raw claim segments: 835 rules here; an 837P's are the
COB rule book's.

`check_claim(ctx)` is called by the engine once per claim, after SNIP 1-2 (which already reports
required segments, IG repeat counts, code lists and X12 relational syntax notes). Findings go through
`ClaimContext.finding`; nothing is returned.

837P: the COB situational rules (SVD01 vs 2330B NM109, DTP*573 and AMT*EAF at one level per payer,
SBR01 sequence, the destination not listed as a 2320, 2300 REF*F8 vs CLM05-3, CAS composition, ...) are
written once, with their codes and severities, in `cob.rules.book`, for `cob validate` and for
`cob secondary`'s pre-write check alike; `claim_view` reads the claim into the book's view.

837P, besides the rule book's (`check_837`, issue 15):

- `diagnosis_pointer`       an SV107 pointer beyond the number of diagnosis codes in the claim's HI segments
- `service_after_remittance` a line's service date (2400 DTP*472, a range's end) after the date a prior
                            payer adjudicated it (2430 DTP*573, else 2330B DTP*573 of the payer)

835:

- `service_after_remittance` a service date (2110 DTM*472/150/151, 2100 DTM*232/233) after the remittance
                            date (BPR16)
- `reversal_sign`           (warning) CLP02 22 with a positive CLP03 or CLP04 (a reversal negates the original)
- `cas_reason_amount`       a CAS reason without an amount, or an amount/quantity without a reason, in 2100 and
                            2110 CAS (the 837P's twin is the rule book's)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cob.edi.codesets import parse_date

from . import claim_view
from .context import ClaimContext, LocatedSegment
from .findings import WARNING
from .snip3 import amount, el, money

SNIP = 4
SNIP_ONLY = frozenset({SNIP})
ZERO = Decimal(0)


def check_claim(ctx: ClaimContext) -> None:
    """SNIP 4 over one claim: an 837P's rules are the COB rule book's, an 835's are here."""
    if ctx.transaction == "837":
        claim_view.check_claim(ctx, SNIP_ONLY)
        check_837(ctx)
    elif ctx.transaction == "835":
        _check_835(ctx)


# ------------------------------------------------------------------------------------------ 837P

#: HI qualifiers of diagnosis codes (principal and other, ICD-10-CM and ICD-9-CM): what SV107 points at
_DIAGNOSIS_QUALS = frozenset({"ABK", "ABF", "BK", "BF"})


def check_837(ctx: ClaimContext) -> None:
    """The 837P SNIP 4 rules that are not COB rules (so not the rule book's): diagnosis pointers, and
    service dates against the prior payers' adjudication dates. Reads the claim view SNIP 3/5 share."""
    c = claim_view.parse_837(ctx)
    comp = ctx.component_sep
    diagnoses = 0
    lines = []
    for seg in c.coded:
        elements = seg[1]
        sid = elements[0]
        if sid == "HI" and seg[0] == "2300":
            for value in elements[1:]:
                if value and value.split(comp, 1)[0] in _DIAGNOSIS_QUALS:
                    diagnoses += 1
        elif sid == "SV1" and seg[0] == "2400":
            lines.append(seg)
    for seg in lines:
        _pointers(ctx, seg, comp, diagnoses)
    if c.svd_blocks or any(p.date is not None for p in c.view.payers):
        _837_dates(ctx, c)


def _pointers(ctx: ClaimContext, sv1: LocatedSegment, comp: str, diagnoses: int) -> None:
    value = el(sv1[1], 7)
    if not value:
        return
    for j, pointer in enumerate(value.split(comp), 1):
        if pointer.isdigit() and int(pointer) > diagnoses:
            ctx.finding(SNIP, "diagnosis_pointer",
                        f"SV107-{j} points to diagnosis {pointer}, but the claim's HI segments hold "
                        f"{diagnoses} diagnosis code{'s' if diagnoses != 1 else ''}", sv1,
                        element=f"SV107-{j:02d}", element_pos=7, component_pos=j)


def _end_date(dtp: LocatedSegment | None) -> date | None:
    """DTP03 as a date; a range's (RD8) end."""
    if dtp is None:
        return None
    v = el(dtp[1], 3)
    return parse_date(v[9:] if len(v) == 17 else v)


def _837_dates(ctx: ClaimContext, c) -> None:
    served = [_end_date(d) for d in c.service_dates]
    payer_dates = [_end_date(p.date) for p in c.view.payers if p.date is not None]
    latest_payer = max((d for d in payer_dates if d is not None), default=None)
    checked: set[int] = set()
    for block in c.svd_blocks:
        line = block.line
        if not 0 <= line < len(served) or served[line] is None:
            continue
        adjudicated = _end_date(block.dtp573) if block.dtp573 is not None else None
        if adjudicated is not None and served[line] > adjudicated:
            checked.add(line)
            _after(ctx, c.service_dates[line], served[line], adjudicated, f"service line {line + 1}",
                   "its prior payer adjudication (2430 DTP*573)")
    if latest_payer is None:
        return
    for line, d in enumerate(served):
        if d is not None and line not in checked and d > latest_payer:
            _after(ctx, c.service_dates[line], d, latest_payer, f"service line {line + 1}",
                   "the latest prior payer adjudication (2330B DTP*573)")


def _after(ctx: ClaimContext, seg: LocatedSegment, served: date, paid: date, what: str, against: str) -> None:
    ctx.finding(SNIP, "service_after_remittance",
                f"{what}: service date {served.isoformat()} is after {against} {paid.isoformat()}",
                seg, element=f"{seg[1][0]}{3 if seg[1][0] == 'DTP' else 2:02d}",
                element_pos=3 if seg[1][0] == "DTP" else 2)


# ------------------------------------------------------------------------------------------ 835


#: 835 DTM qualifiers of service dates: 2110 472 (service), 150/151 (period start/end); 2100 232/233
#: (claim statement period start/end)
_SERVICE_DTM = frozenset({"472", "150", "151", "232", "233"})


def _check_835(ctx: ClaimContext) -> None:
    svc_no = 0
    paid = parse_date(ctx.payment_date) if ctx.payment_date else None
    for seg in ctx.segments:
        elements = seg[1]
        sid = elements[0]
        if sid == "CLP":
            if el(elements, 2) == "22":
                _reversal_sign(ctx, seg)
        elif sid == "SVC":
            svc_no += 1
        elif sid == "CAS":
            _cas_trios(ctx, seg, svc_no if seg[0] == "2110" else 0)
        elif sid == "DTM" and paid is not None and el(elements, 1) in _SERVICE_DTM:
            served = parse_date(el(elements, 2))
            if served is not None and served > paid:
                _after(ctx, seg, served, paid, _place(svc_no if seg[0] == "2110" else 0),
                       "the remittance date (BPR16)")


def _reversal_sign(ctx: ClaimContext, clp: LocatedSegment) -> None:
    for pos in (3, 4):
        d = amount(clp, pos)
        if d is not None and d > ZERO:
            ctx.finding(SNIP, "reversal_sign",
                        f"reversal (CLP02 22) with a positive CLP{pos:02d} {money(d)}; a reversal repeats the "
                        "original claim with its amounts negated",
                        clp, element=f"CLP{pos:02d}", element_pos=pos, severity=WARNING)


def _place(service_line: int) -> str:
    """The place a CAS message names, from the 835 service line number (0: the claim), which callers
    pass so that the text is only built when there is something to report."""
    return f"service line {service_line}" if service_line else "claim"


def _cas_trios(ctx: ClaimContext, seg: LocatedSegment, where: int) -> None:
    """§1.8 in an 835 CAS: every reason with an amount, no amount or quantity without a reason."""
    elements = seg[1]
    n = len(elements)
    group = el(elements, 1)
    for trio, i in enumerate(range(2, min(n, 20), 3), 1):
        reason = elements[i]
        amount = elements[i + 1] if i + 1 < n else ""
        quantity = elements[i + 2] if i + 2 < n else ""
        if reason and not amount:
            ctx.finding(SNIP, "cas_reason_amount",
                        f"{_place(where)}: CAS {group} reason {reason} (CAS{i:02d}) has no amount",
                        seg, element=f"CAS{i + 1:02d}", element_pos=i + 1)
        elif not reason and (amount or quantity):
            ctx.finding(SNIP, "cas_reason_amount",
                        f"{_place(where)}: CAS {group} adjustment {trio} has an amount or quantity but no reason",
                        seg, element=f"CAS{i:02d}", element_pos=i)
