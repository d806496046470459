"""The small read-only view of an 837P or 837I claim that the COB rule book (`cob.rules.book`) judges.

The rule book must give one answer whether the claim is raw X12 read by the validator (`cob validate`,
segments as lists of strings) or pydantic models built by `cob secondary`. So it reads neither: each
side has an adapter that fills this view, and the book sees only what is here.

    raw segments ─▶ cob.edi.validate.claim_view ─┐
                                                  ├─▶ ClaimView ─▶ cob.rules.book ─▶ Violation
    cob.schemas.Claim ─▶ cob.billing.checks ─────┘

What the view holds is what the COB rules need and nothing more: the claim's charge, frequency and
2300 REF*F8; the destination (2000B SBR01, 2010BB payer id, 2010BA member id); every service line
with its charge and its 2430s (payer id, paid amount, CAS, DTP*573, AMT*EAF); every 2320 (SBR01, 2330B
payer id, 2330A member id, AMT*D / AMT*EAF / AMT*A8, claim CAS, 2330B DTP*573 and REF*F8).

Conventions, the same for both adapters:

- Money is `Decimal`. An element that is absent is `None`; one present but not a number is
  `UNREADABLE` (only raw X12 has those; the validator's SNIP 1-2 engine reports them, and a rule
  whose equation needs one skips it without a finding).
- Codes and ids are `str`, `""` when absent (a member id is `None` when unknown).
- Every element carries a *locator* (`at`, `..._at`): something the adapter that built the view can
  turn back into a place. The raw adapter uses the validator's located segment (for segment number,
  loop and element), the model adapter the model object. The book never looks inside a locator; it
  only tests whether one is there (`is not None` = the segment is present) and hands it back in a
  `Violation`. A locator must therefore never be None for a segment that is present.
- Service line numbers are LX01 as text, as messages name them.

Nothing here is changed after an adapter has built it. A CAS is a tuple; the loops are plain slotted
objects, filled in as their segments are read (a 2320's AMT*D comes after its SBR), rather than frozen
dataclasses: the validator builds them for every claim of every file, and frozen construction costs
several times more.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple, Union


class _Unreadable:
    """The type of `UNREADABLE`: an amount that is present but not a number."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNREADABLE"


#: an amount element present but not a number (raw X12 only)
UNREADABLE = _Unreadable()

#: a money amount as the view holds it
Amount = Union[Decimal, None, _Unreadable]

#: where an element is, as the adapter that built the view understands it (opaque to the book)
Locator = Any


class CasView(NamedTuple):
    """One CAS segment (2320 or 2430): its group code and its adjustment trios, position by position.

    `reasons`, `amounts` and `quantities` are parallel by trio (CAS02-04, 05-07, ...) but may be of
    different lengths: raw X12 keeps only the trios its elements reach, so a segment that ends on a
    reason has one reason more than amounts. A missing position reads as absent. `quantities` only
    says whether a quantity is present (by truth value): no rule reads its value.

    A tuple, so that it can be made without a Python-level `__init__`: the validator makes one for
    every CAS of every claim (`tuple.__new__(CasView, (...))`).
    """

    group: str
    reasons: Sequence[str]
    amounts: Sequence[Amount]
    quantities: Sequence[Any]
    at: Locator


class LineAdjudicationView:
    """One 2430: a prior payer's decision on one service line (SVD, CAS, DTP*573, AMT*EAF)."""

    __slots__ = ("payer_id", "paid", "cas", "date", "eaf", "line", "at")

    def __init__(self, payer_id: str, paid: Amount, line: str, at: Locator):
        self.payer_id = payer_id  # SVD01
        self.paid = paid  # SVD02
        self.cas: list[CasView] = []
        self.date: Locator | None = None  # DTP*573
        self.eaf: Locator | None = None  # AMT*EAF
        self.line = line  # LX01 of the line it is under
        self.at = at  # SVD


class LineView:
    """One 2400 service line: LX01, SV102 and its 2430s in order."""

    __slots__ = ("number", "charge", "charge_at", "adjudications", "at")

    def __init__(self, number: str, at: Locator):
        self.number = number  # LX01
        self.charge: Amount = None  # SV102
        self.charge_at: Locator | None = None  # SV1
        self.adjudications: list[LineAdjudicationView] = []
        self.at = at  # LX


class OtherPayerView:
    """One 2320 with its 2330A subscriber and 2330B payer."""

    __slots__ = ("sequence", "payer_id", "member_id", "paid", "paid_at", "eaf", "a8", "cas", "date",
                 "ref_f8", "name_at", "at")

    def __init__(self, sequence: str, at: Locator):
        self.sequence = sequence  # SBR01
        self.payer_id = ""  # 2330B NM109
        self.member_id: str | None = None  # 2330A NM109
        self.paid: Amount = None  # AMT*D amount
        self.paid_at: Locator | None = None  # AMT*D: present = this payer adjudicated the claim
        self.eaf: Locator | None = None  # AMT*EAF
        self.a8: Locator | None = None  # AMT*A8
        self.cas: list[CasView] = []  # 2320 CAS
        self.date: Locator | None = None  # 2330B DTP*573
        self.ref_f8: Locator | None = None  # 2330B REF*F8
        self.name_at: Locator | None = None  # 2330B NM1
        self.at = at  # SBR

    def label(self) -> str:
        """How messages name a 2320: its payer id and SBR01, never the subscriber."""
        return f"payer {self.payer_id or '(no id)'} (SBR01 {self.sequence or '(none)'})"


class ClaimView:
    """An 837P or 837I claim (2300 and below) with its destination (2000B/2010BA/2010BB). The rules are the
    same for both; `guide` names the implementation guide (its repeat limits) and `charge_element` the
    line charge element messages name (SV102, or the 837I's SV203)."""

    __slots__ = ("charge", "frequency", "ref_f8", "sequence", "sequence_at", "payer_id", "member_id",
                 "lines", "payers", "at", "guide", "charge_element")

    def __init__(self, at: Locator = None, guide: str = "005010X222A1"):
        self.guide = guide
        self.charge_element = "SV203" if guide.startswith("005010X223") else "SV102"
        self.charge: Amount = None  # CLM02
        self.frequency = ""  # CLM05-3
        self.ref_f8: Locator | None = None  # 2300 REF*F8
        self.sequence = ""  # 2000B SBR01: the destination's level
        self.sequence_at: Locator | None = None  # 2000B SBR
        self.payer_id = ""  # 2010BB NM109: the destination payer
        self.member_id: str | None = None  # 2010BA NM109: the destination policy's member id
        self.lines: list[LineView] = []
        self.payers: list[OtherPayerView] = []
        self.at = at  # CLM; None when the claim has none (rules that need CLM02 are then skipped)
