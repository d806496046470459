"""SNIP 4 (situational / inter-segment) rules over raw claim segments: 837P COB rules and a few 835 ones.

`check_claim(ctx)` is called by the engine once per claim, after SNIP 1-2 (which already reports
required segments, IG repeat counts, code lists and X12 relational syntax notes). Findings go through
`ClaimContext.finding`; nothing is returned. Severity is error unless noted.

837P (reference §1.5-1.8, §3.8, §9):

- `svd_payer_id`            a 2430 SVD01 names no 2320's 2330B payer id (NM109)
- `duplicate_payer_id`      (warning) two adjudicated 2320s carry the same 2330B id, so their 2430s cannot
                            be told apart (SNIP 3 then skips that id's line-level equations)
- `payer_paid_missing`      a 2320 without AMT*D although its payer adjudicated the claim (2320 CAS,
                            2330B DTP*573, or 2430s naming it)
- `adjudication_date_level` 2330B DTP*573 for a payer that also reports 2430s: the date belongs only in the
                            2430s then (2430 DTP*573 is required there; the engine checks that)
- `adjudication_date_missing` an adjudicated payer (AMT*D) with no 2430s and no 2330B DTP*573
- `eaf_level`               AMT*EAF in a 2320 and in a 2430 of the same payer
- `amt_a8_with_paid`        (warning) AMT*A8 (cost-avoided) in a 2320 that also has AMT*D (§9.3)
- `payer_sequence_duplicate` an SBR01 code repeated across 2000B and the 2320s (U may repeat on 2320s)
- `destination_in_2320`     a 2320 with the destination's SBR01 and the destination's payer id (2010BB NM109)
- `payer_sequence_order`    (warning) 2320 SBR01 codes not in P, S, T, A..H order
- `ref_f8_frequency`        2300 REF*F8 with CLM05-3 other than 7/8, or CLM05-3 7/8 without 2300 REF*F8
- `negative_svd`            SVD02 < 0
- `cas_reason_amount`       a CAS reason without an amount, or an amount/quantity without a reason (837 and 835)
- `duplicate_cas_group`     the same CAS01 group code twice in one 2320 or one 2430

835:

- `reversal_sign`           (warning) CLP02 22 with a positive CLP03 or CLP04 (a reversal negates the original)
- `cas_reason_amount`       as above, in 2100 and 2110 CAS
"""

from __future__ import annotations

from decimal import Decimal

from .context import ClaimContext, LocatedSegment
from .findings import WARNING
from .snip3 import Claim837, amount, el, money, parse_837

SNIP = 4
ZERO = Decimal(0)

#: payer responsibility sequence ranks (SBR01); U (unknown) has none
SEQUENCE_RANK = {code: rank for rank, code in enumerate("PSTABCDEFGH", 1)}
REPLACEMENT_FREQUENCIES = ("7", "8")


def check_claim(ctx: ClaimContext) -> None:
    if ctx.transaction == "837":
        _check_837(ctx, parse_837(ctx))
    elif ctx.transaction == "835":
        _check_835(ctx)


# ------------------------------------------------------------------------------------------ 837


def _check_837(ctx: ClaimContext, c: Claim837) -> None:
    _ref_f8_frequency(ctx, c)
    _payer_sequence(ctx, c)
    ambiguous = c.ambiguous()
    known = {p.payer_id for p in c.payers if p.payer_id}

    for pid in sorted(ambiguous):
        second = [p for p in c.payers if p.amt_d is not None and p.payer_id == pid][1]
        ctx.finding(SNIP, "duplicate_payer_id",
                    f"two adjudicated 2320s name payer {pid}; their 2430s cannot be told apart",
                    second.nm1 or second.sbr, element="NM109", element_pos=9, severity=WARNING)

    for a in c.adjs:
        svd = a.svd
        pid = a.payer_id
        if pid not in known:
            ctx.finding(SNIP, "svd_payer_id",
                        f"line {a.line_number}: SVD01 {pid or '(empty)'} names no other payer "
                        "(no 2320's 2330B NM109 carries it)",
                        svd, element="SVD01", element_pos=1)
        paid = amount(svd, 2)
        if paid is not None and paid < ZERO:
            ctx.finding(SNIP, "negative_svd",
                        f"line {a.line_number}: payer {pid or '(no id)'} SVD02 {money(paid)} is negative",
                        svd, element="SVD02", element_pos=2)
        if a.cas and not _cas_sound(a.cas):
            _cas_rules(ctx, a.cas, f"line {a.line_number} 2430 of payer {pid or '(no id)'}")

    for p in c.payers:
        pid = p.payer_id
        adjs = c.adjs_of(pid)
        if p.amt_d is None:
            if adjs or p.cas or p.dtp573 is not None:
                why = "reports 2430 line adjudication" if adjs else (
                    "has claim-level CAS" if p.cas else "has an adjudication date (2330B DTP*573)")
                ctx.finding(SNIP, "payer_paid_missing",
                            f"{p.label()} {why} but its 2320 has no AMT*D (payer paid amount)", p.sbr)
        else:
            if p.dtp573 is None and not adjs:
                ctx.finding(SNIP, "adjudication_date_missing",
                            f"{p.label()} adjudicated the claim (AMT*D) without 2430s, so 2330B DTP*573 "
                            "(adjudication date) is required", p.nm1 or p.amt_d)
            if p.amt_a8 is not None:
                ctx.finding(SNIP, "amt_a8_with_paid",
                            f"{p.label()} has AMT*A8 alongside AMT*D; A8 is only for a payer the provider "
                            "did not bill (cost avoidance)", p.amt_a8, severity=WARNING)
        if p.dtp573 is not None and adjs and pid not in ambiguous:
            ctx.finding(SNIP, "adjudication_date_level",
                        f"{p.label()} reports 2430 line adjudication, so its adjudication date belongs in the "
                        "2430s (DTP*573), not in 2330B", p.dtp573)
        if p.amt_eaf is not None and pid not in ambiguous:
            lines = [a.line_number for a in adjs if a.amt_eaf is not None]
            if lines:
                ctx.finding(SNIP, "eaf_level",
                            f"{p.label()} has AMT*EAF in 2320 and in 2430 on line(s) {','.join(lines)}; "
                            "remaining patient liability goes at one level only", p.amt_eaf)
        if p.cas and not _cas_sound(p.cas):
            _cas_rules(ctx, p.cas, f"2320 of {p.label()}")


def _ref_f8_frequency(ctx: ClaimContext, c: Claim837) -> None:
    clm = c.clm
    if clm is None:
        return
    composite = el(clm[1], 5)
    parts = composite.split(ctx.component_sep) if composite else []
    frequency = parts[2] if len(parts) > 2 else ""
    if c.ref_f8 is not None and frequency not in REPLACEMENT_FREQUENCIES:
        ctx.finding(SNIP, "ref_f8_frequency",
                    f"2300 REF*F8 (payer claim control number) with claim frequency (CLM05-3) "
                    f"{frequency or '(none)'}; only a replacement (7) or void (8) carries it",
                    c.ref_f8)
    elif c.ref_f8 is None and frequency in REPLACEMENT_FREQUENCIES:
        ctx.finding(SNIP, "ref_f8_frequency",
                    f"claim frequency (CLM05-3) {frequency} requires 2300 REF*F8, the payer's claim control "
                    "number of the claim being replaced or voided",
                    clm, element="CLM05-03", element_pos=5, component_pos=3)


def _payer_sequence(ctx: ClaimContext, c: Claim837) -> None:
    dest = el(c.sbr[1], 1) if c.sbr is not None else ""
    dest_id = el(c.dest_nm1[1], 9) if c.dest_nm1 is not None else ""
    seen: set[str] = {dest} if dest else set()
    last_rank = 0
    last_code = ""
    for p in c.payers:
        seq = p.sequence
        if not seq:
            continue  # SBR01 is required: the engine reports it
        if seq == dest and dest_id and p.payer_id == dest_id:
            ctx.finding(SNIP, "destination_in_2320",
                        f"2320 SBR01 {seq} names the destination payer {dest_id} (2000B SBR01 {dest}); the "
                        "payer being billed must not be listed as an other payer",
                        p.sbr, element="SBR01", element_pos=1)
        elif seq in seen and not (seq == "U" and seq != dest):
            where = "the destination (2000B)" if seq == dest else "another 2320"
            ctx.finding(SNIP, "payer_sequence_duplicate",
                        f"2320 SBR01 {seq} repeats the payer responsibility sequence of {where}",
                        p.sbr, element="SBR01", element_pos=1)
        seen.add(seq)
        rank = SEQUENCE_RANK.get(seq)
        if rank is None:
            continue
        if rank < last_rank:
            ctx.finding(SNIP, "payer_sequence_order",
                        f"2320 SBR01 {seq} follows a 2320 with SBR01 {last_code}; other payers are expected "
                        "in P, S, T, A..H order", p.sbr, element="SBR01", element_pos=1, severity=WARNING)
        else:
            last_rank, last_code = rank, seq


#: element counts of a CAS whose last element is a reason (CAS02, 05, ..., 17), so without its amount
_ENDS_ON_REASON = frozenset({3, 6, 9, 12, 15, 18})


def _cas_sound(cas_segs: list[LocatedSegment]) -> bool:
    """No `_cas_rules` finding in these CAS? Nearly every CAS in a file is sound, and this says so
    without building the place its messages would name: distinct group codes, no empty element among
    the adjustment trios (CAS02-CAS19), and the last trio not cut off after its reason."""
    groups: set[str] = set()
    for seg in cas_segs:
        elements = seg[1]
        n = len(elements)
        group = elements[1] if n > 1 else ""
        if group in groups or n in _ENDS_ON_REASON or "" in elements[2:20]:
            return False
        groups.add(group)
    return True


def _cas_rules(ctx: ClaimContext, cas_segs: list[LocatedSegment], where: str) -> None:
    """§1.8: one CAS per group code in a loop; every reason with an amount, no amount without a reason."""
    if not cas_segs:
        return
    groups: set[str] = set()
    for seg in cas_segs:
        elements = seg[1]
        group = el(elements, 1)
        if group in groups:
            ctx.finding(SNIP, "duplicate_cas_group",
                        f"{where}: CAS group {group} appears more than once; one CAS per group code",
                        seg, element="CAS01", element_pos=1)
        groups.add(group)
        _cas_trios(ctx, seg, where)


def _place(where: str | int) -> str:
    """The place a CAS message names: as given, or from an 835 service line number (0: the claim),
    which callers pass so that the text is only built when there is something to report."""
    if isinstance(where, str):
        return where
    return f"service line {where}" if where else "claim"


def _cas_trios(ctx: ClaimContext, seg: LocatedSegment, where: str | int) -> None:
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
