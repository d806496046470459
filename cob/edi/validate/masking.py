"""Which values of a segment a report may show: person data masked, what engineers fix files with shown.

A finding quotes the segment it is about, and reports get mailed around and pasted into tickets, so:

- masked (each character becomes `#`): the names, ids and addresses of patients, subscribers and other
  insured persons (NM1 / N1 whose entity code is a person: IL, QC, 74, GB, ...), every street address
  (N3) and city / postal code (N4), birth and death dates (DMG02, PAT06), person identifiers in REF
  (member ids, SSN, medical record numbers, policy numbers: every REF qualifier not known to be a
  control number or provider id), contact names and numbers (PER), free text (NTE, MSG, K3, N2), the
  patient control number CLM01 / CLP01 (a provider's patient account number), bank account numbers
  (BPR09, BPR15), dates in DTP / DTM (dates of service), and the security fields of the ISA;
- shown: the envelope (ISA sender/receiver ids, versions, control numbers, GS, ST, SE, GE, IEA, BHT),
  provider and payer names and ids (NM1 85, 82, PR, ...), codes, amounts and control numbers elsewhere
  (payer claim control number CLP07, REF*F8, REF*6R, TRN02, ...).

The decision depends only on the segment's own elements -- never on the loop the walker placed it in --
so the same segment is masked the same way wherever it stands, even when it could not be placed. A
segment whose identifier is not a segment id (a separator damaged, say `N3#9403 SPRING ST`) shows only
the letters and digits it starts with. `show_values=True` (`cob validate --show-values`, for local
debugging) returns the segment as it is.
"""

from __future__ import annotations

import re

#: NM101 / N101 entity identifier codes of persons whose data is protected: insured/subscriber,
#: patient, corrected insured or patient, other subscriber, dependent, employee, insured's spouse...
PERSON_ENTITIES = frozenset({"IL", "QC", "74", "GB", "03", "QD", "S1", "S3"})

#: REF01 qualifiers whose REF02 is a control number or a provider / payer / group id: shown. Any other
#: REF (member id 1W, SSN SY, medical record EA, policy IG, claim number of a casualty claim Y4, ...) is
#: taken as person data.
SHOWN_REFS = frozenset({
    "F8", "6R", "G1", "9F", "EI", "D9", "2U", "TJ", "0B", "G2", "1G", "LU", "HPI", "CE", "6P", "EV", "F2",
    "9A", "9C", "EO", "NF", "1A", "1B", "1C", "1D", "1H", "1J", "0K", "1K", "BT", "1S", "APC", "4N", "7G",
    "LX", "P4", "X4", "F5", "D3", "BB", "1L", "T4", "87",
})

#: free-text and address segments: everything after a leading code is masked
_FREE = frozenset({"NTE", "MSG", "K3", "N2", "N3"})
#: envelope and header segments: shown as they are, but for the ISA's authorization and security fields
_ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA", "BHT"})
#: the envelope's counts and numeric control numbers (ISA13, GS06, SE01, GE01/02, IEA01/02)
_ENVELOPE_NUMBERS = {"ISA": (13,), "GS": (6,), "SE": (1,), "GE": (1, 2), "IEA": (1, 2)}
#: a value that can be shown in any other segment: a code, id or control number (capitals and digits
#: without spaces) or an amount
_SAFE = re.compile(r"[A-Z0-9]{1,30}|-?\d*\.\d+|-?\d+\.?")
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_ID_PREFIX = re.compile(r"[A-Z0-9]{0,3}")


def _m(value: str) -> str:
    return "#" * len(value)


def _el(elements: list[str], i: int) -> str:
    return elements[i] if i < len(elements) else ""


def _positions(elements: list[str], component: str) -> set[int] | None:
    """Element positions to mask in a segment with a rule of its own; None: the generic rule applies."""
    sid = elements[0]
    if sid == "NM1":
        return {3, 4, 5, 6, 7, 9} if _el(elements, 1) in PERSON_ENTITIES else set()
    if sid == "N1":
        return {2, 4} if _el(elements, 1) in PERSON_ENTITIES else set()
    if sid == "N4":
        return {1, 3, 7}
    if sid == "DMG":
        return {2}
    if sid == "PAT":
        return {6}
    if sid == "PER":
        return {2, 4, 6, 8}
    if sid == "REF":
        return set() if _el(elements, 1) in SHOWN_REFS else {2, 3, 4}
    if sid in ("CLM", "CLP"):
        return {1}
    if sid == "BPR":
        return {9, 15}
    if sid in ("DTP", "DTM"):
        return {3} if sid == "DTP" else {2, 3}
    if sid in _ENVELOPE:
        # shown, but a count or control number only when it has the shape of one: anything else there
        # (a member id pasted into SE01, a street in ST02) is data in the wrong place, and masked
        masked = {2, 4} if sid == "ISA" else set()
        for i in _ENVELOPE_NUMBERS.get(sid, ()):
            v = _el(elements, i)
            if v and not (v.isdigit() and v.isascii() and len(v) <= 9):
                masked.add(i)
        if sid in ("ST", "SE"):
            v = _el(elements, 2)
            if v and not (len(v) <= 9 and _SAFE.fullmatch(v)):
                masked.add(2)
        return masked
    if sid == "TRN":
        return set()
    if sid in _FREE:
        return set(range(2 if sid == "NTE" else 1, len(elements)))
    return None


def mask_segment(elements: list[str], component: str = ":", show_values: bool = False) -> str:
    """The segment as text (elements joined by `*`), person data replaced by `#` runs of the same length."""
    if show_values:
        return "*".join(elements)
    seg_id = elements[0]
    if _SEGMENT_ID.fullmatch(seg_id) is None:
        # not a segment id: a damaged separator glued the values to it; keep only what could be the id
        keep = _ID_PREFIX.match(seg_id).group(0)
        head = keep + _m(seg_id[len(keep):])
        return "*".join([head] + [_m(v) for v in elements[1:]])
    masked = _positions(elements, component)
    out = [seg_id]
    for i, value in enumerate(elements[1:], start=1):
        if not value:
            out.append("")
        elif masked is not None:
            out.append(_m(value) if i in masked else value)
        else:
            out.append(component.join(p if not p or _SAFE.fullmatch(p) else _m(p) for p in value.split(component)))
    return "*".join(out)
