"""Claim ids repeated within one file: a CLM01 twice in one 837, a CLP01 twice in one 835 (a SNIP 4 warning).

Billing systems that reuse CLM01 across visits make a payment's claim uncertain (issue 14): `cob secondary`
then has to tell the visits apart by patient, dates and charge, and holds what it cannot. The validator says
so up front. A repeated CLP01 is often legitimate (a split claim, a reversal and its correction), hence a
warning, never an error.

The one place this is decided: every validator (the engine and, for the sets it checks, the second process)
notes each CLM/CLP's id and segment number as the claim opens (`ClaimIds.note`); the engine merges the notes
of both sides when the file is done and files one warning per repeat (`findings`), at file level after the
rest (a warning goes in no acknowledgment).

Memory: finding repeats needs every id of the file, so the notes grow with the number of claims; they are
kept packed (`ClaimIds`: the ids in one byte string, segment numbers and offsets in machine-word arrays,
about len(id) + 17 bytes a claim, against some 300 for a list of tuples), and `findings` looks for repeats
through a bitmap of hash buckets (two passes, a fixed-size bitmap) instead of a dict of every id; only the
few ids whose bucket is hit twice are compared as strings.
"""

from __future__ import annotations

from array import array

from .findings import Finding

CODE = "claim_id_repeated"

_KIND = {"CLM": "M", "CLP": "P"}
_SEGMENT = {"M": "CLM", "P": "CLP"}


class ClaimIds:
    """The (segment number, CLM/CLP, claim id) of every claim of one validator side, packed (module doc)."""

    __slots__ = ("segs", "ends", "blob")

    def __init__(self) -> None:
        self.segs = array("q")  # segment number of each claim's CLM/CLP
        self.ends = array("q")  # where each claim's key ends in `blob` (it starts where the previous ends)
        self.blob = bytearray()  # keys: "M" (CLM) or "P" (CLP), then the claim id, UTF-8

    def __len__(self) -> int:
        return len(self.segs)

    def note(self, seg_no: int, seg_id: str, claim_id: str) -> None:
        self.segs.append(seg_no)
        self.blob += (_KIND[seg_id] + claim_id).encode()
        self.ends.append(len(self.blob))

    def extend(self, other: "ClaimIds") -> None:
        """Take in the notes of the other side (the second process's sets)."""
        base = len(self.blob)
        self.segs.extend(other.segs)
        self.blob += other.blob
        self.ends.extend(array("q", (end + base for end in other.ends)))

    def keys(self):
        """(index, key bytes) of every note, in the order noted."""
        start, blob = 0, bytes(self.blob)
        for n, end in enumerate(self.ends):
            yield n, blob[start:end]
            start = end


def findings(file: str, noted: ClaimIds) -> list[Finding]:
    """One warning per claim whose id an earlier claim of the file has; `noted`: both sides' notes, in any
    order."""
    n = len(noted)
    bits = 1 << max(16, min(27, (16 * n).bit_length()))  # about 16 buckets a claim, at most 16 MB of bitmap
    mask = bits - 1
    once, twice = bytearray(bits >> 3), bytearray(bits >> 3)
    for _i, key in noted.keys():
        b = hash(key) & mask
        byte, bit = b >> 3, 1 << (b & 7)
        if once[byte] & bit:
            twice[byte] |= bit
        else:
            once[byte] |= bit
    groups: dict[bytes, list[int]] = {}  # only claims whose bucket was hit twice: repeats and a few collisions
    for i, key in noted.keys():
        b = hash(key) & mask
        if twice[b >> 3] & (1 << (b & 7)):
            groups.setdefault(key, []).append(noted.segs[i])
    repeats: list[tuple[int, bytes, int]] = []  # (segment number, key, segment number of the first)
    for key, seg_nos in groups.items():
        seg_nos.sort()
        repeats.extend((seg_no, key, seg_nos[0]) for seg_no in seg_nos[1:])
    repeats.sort()
    out: list[Finding] = []
    for seg_no, key, earlier in repeats:
        seg_id, claim_id = _SEGMENT[chr(key[0])], key[1:].decode()
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
