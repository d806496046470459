"""The 837I institutional claim (005010X223A2, UB-04 data) as the pipeline needs it.

Only the loops whose content differs from the 837P's are modelled here; the header, 2000A, 2000B and
2000C levels and the 2430 line adjudication have the same shape in both guides and are the models of
`cob.schemas.claim`. An `InstitutionalClaim` is a `Claim` (loop 2300 with its context) whose lines are
institutional (SV2) and whose other payers can carry MIA, so every pipeline stage that takes a `Claim`
takes it: the transaction-specific parts are the builder's and the writer's guide (`GUIDE`).

What the 837I adds at 2300 is read on demand from the segments the model keeps: CLM05 facility type and
frequency, CL1 (UB-04 admission type, source, patient status), DTP*434 statement dates and DTP*435
admission, and the HI qualifiers (ABK principal, ABJ admitting, APR reason for visit, ABF other
diagnoses, BE value codes, BH occurrence codes, BI occurrence spans, BG condition codes, BBR / BBQ
principal and other procedures, DR the DRG).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Optional

from pydantic import Field

from .claim import Claim, OtherPayer, ServiceLineBase
from .segments import CL1, MIA, SV2, HealthCareCode

#: HI qualifiers of the 837I by what they carry (ICD-10 first, ICD-9 beside it)
PRINCIPAL_DIAGNOSIS = ("ABK", "BK")
ADMITTING_DIAGNOSIS = ("ABJ", "BJ")
REASON_FOR_VISIT = ("APR", "PR")
OTHER_DIAGNOSIS = ("ABF", "BF")
PRINCIPAL_PROCEDURE = ("BBR", "BR", "CAH")
OTHER_PROCEDURE = ("BBQ", "BQ")
VALUE_CODE = "BE"
OCCURRENCE_CODE = "BH"
OCCURRENCE_SPAN = "BI"
CONDITION_CODE = "BG"
DRG = "DR"

#: the first digit of a type of bill (CLM05-1 facility type code) whose second digit 1 or 2 is an
#: inpatient bill: hospital, skilled nursing, religious non-medical, intermediate care. NUBC's type of
#: bill: first digit the kind of facility, second the bill classification (1 inpatient Part A, 2
#: inpatient Part B, 3 outpatient, 4 other); 7x clinics and 8x special facilities classify otherwise.
_INPATIENT_FACILITIES = frozenset("1246")


def is_inpatient(facility_type: str | None) -> bool:
    """Is a CLM05-1 facility type code (two digits of the type of bill) an inpatient bill?"""
    return bool(facility_type) and len(facility_type) == 2 and facility_type[0] in _INPATIENT_FACILITIES \
        and facility_type[1] in "12"


def claim_model(body: bytes) -> type[Claim]:
    """The model a claim's stored JSON (`model_dump_json`) is read back with: an 837I claim's lines have
    the key "sv2" (SV2 is required on every 837I line; an 837P line has none), told by content."""
    return InstitutionalClaim if b'"sv2":' in body else Claim


class InstitutionalServiceLine(ServiceLineBase):
    """Loop 2400 service line of the 837I: LX, SV2 (revenue code, HCPCS, charge, unit basis, units),
    DTP*472, REF*6R, ..., with 2420A-D line providers and the 2430 prior-payer adjudications."""

    LOOP_ID: ClassVar[str] = "2400"
    LOOPS: ClassVar[dict[str, str]] = {
        "2420A": "providers", "2420B": "providers", "2420C": "providers", "2420D": "providers",
        "2430": "adjudications",
    }

    sv2: SV2

    @property
    def service(self) -> SV2:
        return self.sv2

    @property
    def revenue_code(self) -> str:
        """SV201 service line revenue code (UB-04 form locator 42)."""
        return self.sv2.revenue_code


class InstitutionalOtherPayer(OtherPayer):
    """Loop 2320 other subscriber information of the 837I: the 837P's 2320 plus MIA (inpatient
    adjudication), with 2330A other subscriber, 2330B other payer and 2330C-I the other payer's
    provider identifiers. SBR05 is not used here (the MSP type goes in value codes)."""

    LOOPS: ClassVar[dict[str, str]] = {
        "2330A": "parties", "2330B": "parties", "2330C": "parties", "2330D": "parties",
        "2330E": "parties", "2330F": "parties", "2330G": "parties", "2330H": "parties", "2330I": "parties",
    }

    mia: Optional[MIA] = None


class InstitutionalClaim(Claim):
    """Loop 2300 claim information of the 837I (CLM, DTP*434/435, CL1, HI, ...) with 2310A-F providers,
    2320 other payers and 2400 institutional lines, plus the hierarchy context it was billed under."""

    GUIDE: ClassVar[str] = "005010X223A2"
    CLAIM_TYPE: ClassVar[str] = "I"

    cl1: Optional[CL1] = None
    other_payers: list[InstitutionalOtherPayer] = Field(default_factory=list)  # type: ignore[assignment]
    lines: list[InstitutionalServiceLine] = Field(default_factory=list)  # type: ignore[assignment]

    @property
    def facility_type(self) -> str | None:
        """CLM05-1: the first two digits of the type of bill (facility type and bill classification)."""
        return self.clm.location.place_of_service if self.clm.location else None

    @property
    def bill_type(self) -> str | None:
        """The UB-04 type of bill: facility type code + frequency (CLM05-1 + CLM05-3), e.g. 111."""
        ft, freq = self.facility_type, self.frequency
        return ft + freq if ft and freq else None

    @property
    def inpatient(self) -> bool:
        return is_inpatient(self.facility_type)

    def codes(self, *qualifiers: str) -> list[HealthCareCode]:
        """The HI composites with one of these qualifiers, in claim order."""
        return [c for hi in self.diagnoses for c in hi.codes() if c.qualifier in qualifiers]

    @property
    def principal_diagnosis(self) -> str | None:
        found = self.codes(*PRINCIPAL_DIAGNOSIS)
        return found[0].code if found else None

    @property
    def drg(self) -> str | None:
        """HI*DR diagnosis related group the provider billed."""
        found = self.codes(DRG)
        return found[0].code if found else None

    @property
    def value_codes(self) -> dict[str, Decimal]:
        """HI*BE value codes: code -> amount (UB-04 form locators 39-41)."""
        return {c.code: Decimal(c.amount) for c in self.codes(VALUE_CODE) if c.code and c.amount}

    @property
    def condition_codes(self) -> list[str]:
        return [c.code for c in self.codes(CONDITION_CODE) if c.code]

    @property
    def occurrence_codes(self) -> list[tuple[str, str | None]]:
        """HI*BH occurrence codes with their dates."""
        return [(c.code, c.date) for c in self.codes(OCCURRENCE_CODE) if c.code]

    @property
    def occurrence_spans(self) -> list[tuple[str, str | None]]:
        """HI*BI occurrence span codes with their RD8 from-through dates (UB-04 form locators 35-36)."""
        return [(c.code, c.date) for c in self.codes(OCCURRENCE_SPAN) if c.code]

    @property
    def procedures(self) -> list[HealthCareCode]:
        """The principal procedure (HI*BBR, ICD-9 BR) then the other procedures (BBQ / BQ), with their dates
        (UB-04 form locator 74)."""
        return self.codes(*PRINCIPAL_PROCEDURE) + self.codes(*OTHER_PROCEDURE)

    @property
    def statement_period(self):
        """DTP*434 statement covers period (start, end) as dates."""
        dtp = next((d for d in self.dates if d.qualifier == "434"), None)
        return (dtp.start, dtp.end) if dtp else None
