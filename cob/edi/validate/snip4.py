"""SNIP 4 (situational / inter-segment) rules over raw claim segments: 835 rules here; an 837P's are the
COB rule book's.

`check_claim(ctx)` is called by the engine once per claim, after SNIP 1-2 (which already reports
required segments, IG repeat counts, code lists and X12 relational syntax notes). Findings go through
`ClaimContext.finding`; nothing is returned.

837P: the COB situational rules (SVD01 vs 2330B NM109, DTP*573 and AMT*EAF at one level per payer,
SBR01 sequence, the destination not listed as a 2320, 2300 REF*F8 vs CLM05-3, CAS composition, ...) are
written once, with their codes and severities, in `cob.rules.book`, for `cob validate` and for
`cob secondary`'s pre-write check alike; `claim_view` reads the claim into the book's view.

835:

- `reversal_sign`           (warning) CLP02 22 with a positive CLP03 or CLP04 (a reversal negates the original)
- `cas_reason_amount`       a CAS reason without an amount, or an amount/quantity without a reason, in 2100 and
                            2110 CAS (the 837P's twin is the rule book's)
"""

from __future__ import annotations

from decimal import Decimal

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
    elif ctx.transaction == "835":
        _check_835(ctx)


# ------------------------------------------------------------------------------------------ 835


def _check_835(ctx: ClaimContext) -> None:
    svc_no = 0
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
