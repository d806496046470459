"""Claim ids repeated within one file: a CLM01 twice in one 837, a CLP01 twice in one 835 (a SNIP 4 warning).

Billing systems that reuse CLM01 across visits make a payment's claim uncertain (issue 14): `cob secondary`
then has to tell the visits apart by patient, dates and charge, and holds what it cannot. The validator says
so up front. A repeated CLP01 is often legitimate (a split claim, a reversal and its correction), hence a
warning, never an error.

The one place this is decided: every validator (the engine and, for the sets it checks, the second process)
notes each CLM/CLP's id and segment number as the claim opens (`note`); the engine merges the notes of both
sides when the file is done and files one warning per repeat (`findings`), at file level after the rest (a
warning goes in no acknowledgment). What is kept per claim is its id and segment number only.
"""

from __future__ import annotations

from .findings import Finding

CODE = "claim_id_repeated"


def findings(file: str, noted: list[tuple[int, str, str]]) -> list[Finding]:
    """One warning per claim whose id an earlier claim of the file has; `noted`: (segment number, segment id
    CLM or CLP, claim id) from every side, in any order."""
    first: dict[tuple[str, str], int] = {}
    out: list[Finding] = []
    for seg_no, seg_id, claim_id in sorted(noted):
        key = (seg_id, claim_id)
        earlier = first.get(key)
        if earlier is None:
            first[key] = seg_no
            continue
        element = "CLM01" if seg_id == "CLM" else "CLP01"
        what = ("claim id (CLM01) used by another claim of this file: payers answer both under one id, and "
                "a payment can only be told apart by patient, dates and charge") if seg_id == "CLM" else \
            ("claim id (CLP01) answered again in this 835: a split claim, a reversal or another visit under "
             "one id")
        out.append(Finding(snip=4, severity="warning", code=CODE,
                           message=f"{element} {claim_id} repeats the one at segment {earlier}: {what}",
                           file=file, segment_no=seg_no, segment_id=seg_id, element=element, element_pos=1,
                           claim_id=claim_id))
    return out
