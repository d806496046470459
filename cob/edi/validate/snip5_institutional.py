"""SNIP type 5 rules of the 837I (005010X223A2): the UB-04 code lists (`cob.edi.codesets.ub04`).

`snip5` hands each coded segment of an institutional claim here: CLM (type of bill: facility type code
and frequency, instead of the 837P's place of service), CL1 (admission type, point of origin, discharge
status), SV2 and 2430 SVD04 (revenue codes), HI (value, occurrence, occurrence span and condition code
formats, ICD-10-PCS procedures, DRG). An unknown code of a public list is a warning (the list may be
older than the file); a value that cannot be a code at all is an error. Messages name codes, never
amounts or patient data.
"""

from __future__ import annotations

from cob.edi.codesets import ub04

from .context import ClaimContext, LocatedSegment
from .findings import ERROR, WARNING

SNIP = 5
IK4_CODE = "7"
IK4_PATTERN = "I12"
#: the segment ids checked here (instead of the 837P's rules for CLM)
SEGMENT_IDS = frozenset({"CLM", "CL1", "SV2", "SVD", "HI"})
_TWO_CHARACTER = {"BE": "value", "BH": "occurrence", "BI": "occurrence span", "BG": "condition"}
_PCS = frozenset({"BBR", "BBQ"})


def _el(elements: list[str], pos: int) -> str:
    return elements[pos] if pos < len(elements) else ""


def check(ctx: ClaimContext, seg: LocatedSegment, sep: str) -> None:
    sid = seg[1][0]
    if sid == "CLM":
        _clm(ctx, seg, sep)
    elif sid == "CL1":
        _cl1(ctx, seg)
    elif sid == "SV2":
        _revenue(ctx, seg, 1, "SV201")
    elif sid == "SVD":
        _revenue(ctx, seg, 4, "SVD04")
    elif sid == "HI":
        _hi(ctx, seg, sep)


def _clm(ctx: ClaimContext, seg: LocatedSegment, sep: str) -> None:
    """CLM05: the type of bill, facility type code (CLM05-1) and frequency (CLM05-3)."""
    parts = _el(seg[1], 5).split(sep)
    facility = parts[0]
    if facility and not ub04.facility_type_ok(facility):
        ctx.finding(SNIP, "facility_type_invalid", f"CLM05-1 facility type code {facility} is not a type of "
                    "bill's facility and classification", seg, element="CLM05-01", element_pos=5,
                    component_pos=1, ik4=IK4_CODE)
    freq = parts[2] if len(parts) > 2 else ""
    if freq and freq not in ub04.FREQUENCIES:
        ctx.finding(SNIP, "frequency_code_invalid", f"CLM05-3 claim frequency code {freq} is not a UB-04 "
                    "frequency of bill", seg, element="CLM05-03", element_pos=5, component_pos=3,
                    ik4=IK4_CODE, severity=WARNING)


def _cl1(ctx: ClaimContext, seg: LocatedSegment) -> None:
    el = seg[1]
    for pos, codes, what in ((1, ub04.ADMISSION_TYPES, "admission type"),
                             (2, ub04.ADMISSION_SOURCES, "point of origin (admission source)"),
                             (3, ub04.PATIENT_STATUSES, "patient discharge status")):
        code = _el(el, pos)
        if code and code not in codes:
            ctx.finding(SNIP, "ub04_code_unknown", f"CL10{pos} {code} is not a UB-04 {what} code", seg,
                        element=f"CL10{pos}", element_pos=pos, ik4=IK4_CODE, severity=WARNING)


def _revenue(ctx: ClaimContext, seg: LocatedSegment, pos: int, name: str) -> None:
    code = _el(seg[1], pos)
    if code and not ub04.revenue_code_ok(code):
        ctx.finding(SNIP, "revenue_code_invalid", f"{name} {code} is not a service line revenue code "
                    "(0100-1009, 0022-0024)", seg, element=name, element_pos=pos, ik4=IK4_CODE)


def _hi(ctx: ClaimContext, seg: LocatedSegment, sep: str) -> None:
    el = seg[1]
    for pos in range(1, len(el)):
        comp = el[pos]
        if not comp:
            continue
        parts = comp.split(sep)
        qual = parts[0]
        code = parts[1] if len(parts) > 1 else ""
        where = f"HI{pos:02d}"
        if qual in _TWO_CHARACTER:
            if not ub04.two_character_code_ok(code):
                ctx.finding(SNIP, "ub04_code_format", f"{where}-2 is not a {_TWO_CHARACTER[qual]} code "
                            "(two characters)", seg, element=f"{where}-02", element_pos=pos, component_pos=2,
                            ik4=IK4_PATTERN)
            if qual == "BE" and not (parts[4] if len(parts) > 4 else ""):
                ctx.finding(SNIP, "value_code_amount_missing", f"{where}-5: value code {code} has no amount",
                            seg, element=f"{where}-05", element_pos=pos, component_pos=5, ik4="2")
            elif qual == "BI" and _span_backwards(parts):
                ctx.finding(SNIP, "occurrence_span_backwards", f"{where}-4: occurrence span {code} ends "
                            "before it starts", seg, element=f"{where}-04", element_pos=pos, component_pos=4,
                            ik4="8")
        elif qual in _PCS:
            if not ub04.icd10_pcs_ok(code):
                ctx.finding(SNIP, "icd10_pcs_format", f"{where}-2 is not an ICD-10-PCS code (format)", seg,
                            element=f"{where}-02", element_pos=pos, component_pos=2, ik4=IK4_PATTERN)
        elif qual == "DR":
            if not ub04.drg_ok(code):
                ctx.finding(SNIP, "drg_format", f"{where}-2 is not an MS-DRG (three digits)", seg,
                            element=f"{where}-02", element_pos=pos, component_pos=2, ik4=IK4_PATTERN,
                            severity=WARNING)


def _span_backwards(parts: list[str]) -> bool:
    """An RD8 occurrence span (UB-04 form locators 35-36: from and through dates) whose through date is
    before its from date (CCYYMMDD-CCYYMMDD compares as text; SNIP 2 has checked the format)."""
    if len(parts) < 4 or parts[2] != "RD8":
        return False
    start, _, end = parts[3].partition("-")
    return len(start) == len(end) == 8 and start > end


__all__ = ["SEGMENT_IDS", "check", "ERROR"]
