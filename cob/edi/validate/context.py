"""What claim-level and transaction-level rules (SNIP 3, 4, 5) see.

The SNIP 1-2 engine streams segments; whenever a claim closes it hands the claim's segments, already
located in their IG loops, to the rules as a `ClaimContext`. Rules work on plain lists of strings so
a clean file costs no model building; they report through `ClaimContext.finding`, which fills in the
file, envelope control numbers and claim id.

837P: `segments` holds the claim's context first -- the 2000B subscriber HL with its 2010BA/2010BB
loops, then the 2000C patient HL with 2010CA when present -- followed by the 2300 loop and everything
under it (2310x, 2320, 2330x, 2400, 2410, 2420x, 2430, 2440), in file order.
835: `segments` holds the CLP 2100 loop and its 2110 service loops, in file order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .findings import ERROR, Finding

#: (IG loop id, elements with [0] = segment id and composites left as raw strings, segment number
#: from the start of the file, segment number within the transaction set)
LocatedSegment = tuple[str, list[str], int, int]


@dataclass(slots=True)
class ClaimContext:
    file: str
    transaction: str  # "837" or "835"
    claim_id: str | None  # CLM01 / CLP01
    segments: list[LocatedSegment]
    component_sep: str = ":"
    repetition_sep: str | None = "^"
    isa_control: str | None = None
    gs_control: str | None = None
    st_control: str | None = None
    #: 835 only: BPR16 (payment date, CCYYMMDD) of the transaction, for rules keyed on dates.
    payment_date: str | None = None
    #: (segment number, id) of the first segment inside the claim that the walk could not place: it is
    #: not in `segments`, so the claim's sums would leave it out (SNIP 3 then says it cannot balance)
    unplaced: tuple[int, str] | None = None
    findings: list[Finding] = field(default_factory=list)
    #: a rule module's one-pass reading of the claim, kept so the next module need not read it again
    parsed: object = None

    def finding(self, snip: int, code: str, message: str, seg: LocatedSegment | None = None, *,
                element: str | None = None, element_pos: int | None = None,
                component_pos: int | None = None, severity: str = ERROR,
                ik4: str | None = None, data_ele: str | None = None) -> Finding:
        """Record a finding located at `seg` (or at the claim's first segment when None)."""
        if seg is None:
            seg = next((s for s in self.segments if s[1][0] in ("CLM", "CLP")), self.segments[0] if self.segments else None)
        f = Finding(
            snip=snip, severity=severity, code=code, message=message, file=self.file,
            segment_no=seg[2] if seg else None, segment_id=seg[1][0] if seg else None,
            loop=seg[0] if seg else None, element=element, element_pos=element_pos,
            component_pos=component_pos, data_ele=data_ele, claim_id=self.claim_id,
            st_segment_no=seg[3] if seg else None, isa_control=self.isa_control,
            gs_control=self.gs_control, st_control=self.st_control,
            ik3="8" if ik4 else None, ik4=ik4,
        )
        self.findings.append(f)
        return f


@dataclass(slots=True)
class TransactionContext:
    """Totals a transaction-level rule needs once SE is reached (835 BPR02 balancing)."""

    file: str
    transaction: str
    header: list[LocatedSegment]  # segments before the first claim (BPR, TRN, ... , 1000A/1000B)
    trailer: list[LocatedSegment]  # segments after the last claim before SE (835 PLB)
    claim_payment_total: object = None  # decimal.Decimal: sum of CLP04 over the set (835)
    claims: int = 0
    component_sep: str = ":"
    #: (segment number, id) of the first segment of the set the walk could not place (see ClaimContext)
    unplaced: tuple[int, str] | None = None
    isa_control: str | None = None
    gs_control: str | None = None
    st_control: str | None = None
    findings: list[Finding] = field(default_factory=list)
