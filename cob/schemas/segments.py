"""Segment and composite models shared by the 837P and 835 schemas.

Field order is element order (see `cob.schemas.base.Segment`). Docstrings name the segment as in the TR3.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Optional

from pydantic import model_validator

from .base import Composite, Date, Int, Money, Quantity, Segment, parse_d8
from .codes import CasGroup, ClaimFilingIndicator, ClaimStatus, MedicareSecondaryType, PayerSequence

S = Optional[str]


# ---------------------------------------------------------------------------- composites


class ProcedureCode(Composite):
    """C003 composite medical procedure identifier (SV101, SVD03, SVC01, SVC06)."""

    qualifier: str
    code: str
    modifier1: S = None
    modifier2: S = None
    modifier3: S = None
    modifier4: S = None
    description: S = None
    code2: S = None

    @property
    def modifiers(self) -> tuple[str, ...]:
        return tuple(m for m in (self.modifier1, self.modifier2, self.modifier3, self.modifier4) if m)


class ServiceLocation(Composite):
    """C023 health care service location (CLM05): place of service, qualifier B, claim frequency."""

    place_of_service: S = None
    qualifier: S = None
    frequency: S = None


class RelatedCauses(Composite):
    """C024 related causes (CLM11): AA auto, EM employment, OA other accident; state; country."""

    cause1: S = None
    cause2: S = None
    cause3: S = None
    state: S = None
    country: S = None


class DiagnosisPointers(Composite):
    """C004 composite diagnosis code pointer (SV107)."""

    pointer1: S = None
    pointer2: S = None
    pointer3: S = None
    pointer4: S = None


class HealthCareCode(Composite):
    """C022 health care code information (HI): qualifier ABK/ABF/BK/BF..., code, and rarely more."""

    qualifier: S = None
    code: S = None
    date_format: S = None
    date: S = None
    amount: S = None
    quantity: S = None
    version: S = None
    code2: S = None
    present_on_admission: S = None


class ReferenceIdentifier(Composite):
    """C040 reference identifier (REF04)."""

    qualifier1: S = None
    id1: S = None
    qualifier2: S = None
    id2: S = None
    qualifier3: S = None
    id3: S = None


class AdjustmentIdentifier(Composite):
    """C042 adjustment identifier (PLB03/05/...): provider adjustment reason code and reference."""

    reason: str
    reference: S = None


# ---------------------------------------------------------------------------- shared segments


class HL(Segment):
    """HL hierarchical level (2000A/B/C)."""

    SEGMENT_ID = "HL"
    id: str
    parent_id: S = None
    level_code: str
    child_code: S = None


class NM1(Segment):
    """NM1 individual or organizational name."""

    SEGMENT_ID = "NM1"
    entity_id: str
    entity_type: S = None
    last_or_org_name: S = None
    first_name: S = None
    middle_name: S = None
    prefix: S = None
    suffix: S = None
    id_qualifier: S = None
    id: S = None
    relationship: S = None
    entity_relationship: S = None
    entity_id2: S = None


class N1(Segment):
    """N1 party identification (835 1000A payer N1*PR, 1000B payee N1*PE)."""

    SEGMENT_ID = "N1"
    entity_id: str
    name: S = None
    id_qualifier: S = None
    id: S = None


class N3(Segment):
    """N3 party location (address lines)."""

    SEGMENT_ID = "N3"
    address1: str
    address2: S = None


class N4(Segment):
    """N4 geographic location."""

    SEGMENT_ID = "N4"
    city: S = None
    state: S = None
    postal_code: S = None
    country: S = None
    location_qualifier: S = None
    location_id: S = None
    country_subdivision: S = None


class REF(Segment):
    """REF reference information."""

    SEGMENT_ID = "REF"
    qualifier: str
    value: S = None
    description: S = None
    reference: Optional[ReferenceIdentifier] = None


class PER(Segment):
    """PER administrative communications contact."""

    SEGMENT_ID = "PER"
    function: str
    name: S = None
    qualifier1: S = None
    number1: S = None
    qualifier2: S = None
    number2: S = None
    qualifier3: S = None
    number3: S = None
    contact_inquiry_reference: S = None


class PRV(Segment):
    """PRV provider information (taxonomy)."""

    SEGMENT_ID = "PRV"
    provider_code: str
    qualifier: S = None
    taxonomy: S = None
    state: S = None
    specialty: S = None
    organization_code: S = None


class DMG(Segment):
    """DMG demographic information (D8 birth date, gender)."""

    SEGMENT_ID = "DMG"
    date_format: S = None
    birth_date: Optional[Date] = None
    gender: S = None


#: DTP02 formats the claim logic reads -> how many CCYYMMDD dates DTP03 holds
_DATE_PARTS = {"D8": 1, "RD8": 2}


@functools.lru_cache(maxsize=1 << 16)
def _check_dates(date_format: str, value: str) -> None:
    """Raises ValueError unless `value` holds the real CCYYMMDD dates `date_format` (D8 / RD8) says.

    Memoized (a file carries few distinct dates; a refused value is checked again, the memo keeps no errors).
    """
    parts = value.split("-")
    if len(parts) != _DATE_PARTS[date_format] or not all(len(p) == 8 and p.isdigit() for p in parts):
        raise ValueError(f"DTP03 is not a {date_format} date (CCYYMMDD)")
    for part in parts:
        parse_d8(part)  # a month or day out of range raises


class DTP(Segment):
    """DTP date or time period: D8 (one date) or RD8 (CCYYMMDD-CCYYMMDD) kept as text, parsed on demand."""

    SEGMENT_ID = "DTP"
    qualifier: str
    format: str
    value: str

    @model_validator(mode="after")
    def _readable_dates(self) -> "DTP":
        """A D8 / RD8 value that is not a real date is refused when the claim is read, located like any
        other bad element; let through, it would stop a whole `cob secondary` run when line matching
        reads the service date."""
        if self.format in _DATE_PARTS:
            _check_dates(self.format, self.value)
        return self

    @property
    def start(self):
        return parse_d8(self.value.split("-", 1)[0])

    @property
    def end(self):
        return parse_d8(self.value.split("-", 1)[-1])


class DTM(Segment):
    """DTM date/time reference (835)."""

    SEGMENT_ID = "DTM"
    qualifier: str
    date: Optional[Date] = None
    time: S = None
    time_code: S = None
    period_format: S = None
    period: S = None


class AMT(Segment):
    """AMT monetary amount."""

    SEGMENT_ID = "AMT"
    qualifier: str
    amount: Money
    credit_debit: S = None


class QTY(Segment):
    """QTY quantity."""

    SEGMENT_ID = "QTY"
    qualifier: str
    quantity: Optional[Quantity] = None
    composite_unit: S = None
    free_form: S = None


class CAS(Segment):
    """CAS claim adjustment: a group code and up to six (reason, amount, quantity) trios."""

    SEGMENT_ID = "CAS"
    group: CasGroup
    reason1: str
    amount1: Money
    quantity1: Optional[Quantity] = None
    reason2: S = None
    amount2: Optional[Money] = None
    quantity2: Optional[Quantity] = None
    reason3: S = None
    amount3: Optional[Money] = None
    quantity3: Optional[Quantity] = None
    reason4: S = None
    amount4: Optional[Money] = None
    quantity4: Optional[Quantity] = None
    reason5: S = None
    amount5: Optional[Money] = None
    quantity5: Optional[Quantity] = None
    reason6: S = None
    amount6: Optional[Money] = None
    quantity6: Optional[Quantity] = None

    def trios(self) -> list[tuple[str, "Money", "Quantity | None"]]:
        """(reason, amount, quantity) for each trio present."""
        fields = self.__dict__  # pydantic keeps field values here: no descriptor per element
        return [(fields[r], fields[a], fields[q]) for r, a, q in _CAS_TRIOS if fields[r]]

    def slots(self) -> list[tuple[str | None, "Money | None", "Quantity | None"]]:
        """All six (reason, amount, quantity) places in order, empty ones as Nones."""
        fields = self.__dict__
        return [(fields[r], fields[a], fields[q]) for r, a, q in _CAS_TRIOS]

    def amounts(self) -> list["Money"]:
        """Every amount, whether or not its reason is present (a stray amount is still money)."""
        fields = self.__dict__
        return [fields[a] for _r, a, _q in _CAS_TRIOS if fields[a] is not None]

    @classmethod
    def build(cls, group: CasGroup | str, trios: list[tuple]) -> "CAS":
        """A CAS from up to six (reason, amount[, quantity]) trios."""
        if not 1 <= len(trios) <= 6:
            raise ValueError("a CAS segment holds one to six reason trios")
        data: dict = {"group": group}
        for (reason, amount, quantity), trio in zip(_CAS_TRIOS, trios):
            data[reason] = trio[0]
            data[amount] = trio[1]
            if len(trio) > 2 and trio[2] is not None:
                data[quantity] = trio[2]
        return cls.model_validate(data)

    @property
    def total(self) -> Decimal:
        fields = self.__dict__
        return sum((fields[a] for r, a, _q in _CAS_TRIOS if fields[r]), Decimal(0))


#: the field names of CAS's six (reason, amount, quantity) trios
_CAS_TRIOS = tuple((f"reason{i}", f"amount{i}", f"quantity{i}") for i in range(1, 7))


class MOA(Segment):
    """MOA outpatient adjudication information (835 2100, 837P and 837I 2320)."""

    SEGMENT_ID = "MOA"
    reimbursement_rate: Optional[Quantity] = None
    hcpcs_payable_amount: Optional[Money] = None
    remark1: S = None
    remark2: S = None
    remark3: S = None
    remark4: S = None
    remark5: S = None
    esrd_payment_amount: Optional[Money] = None
    nonpayable_professional_component: Optional[Money] = None


class MIA(Segment):
    """MIA inpatient adjudication information (835 2100, 837I 2320, where MIA02 is not used); element by element."""

    SEGMENT_ID = "MIA"
    covered_days: Optional[Quantity] = None
    pps_operating_outlier: Optional[Money] = None
    lifetime_psychiatric_days: Optional[Quantity] = None
    drg_amount: Optional[Money] = None
    remark1: S = None
    disproportionate_share: Optional[Money] = None
    msp_pass_through: Optional[Money] = None
    pps_capital: Optional[Money] = None
    pps_capital_fsp_drg: Optional[Money] = None
    pps_capital_hsp_drg: Optional[Money] = None
    pps_capital_dsh_drg: Optional[Money] = None
    old_capital: Optional[Money] = None
    pps_capital_ime: Optional[Money] = None
    pps_operating_hospital_specific_drg: Optional[Money] = None
    cost_report_day_count: Optional[Quantity] = None
    pps_operating_federal_specific_drg: Optional[Money] = None
    pps_capital_outlier: Optional[Money] = None
    indirect_teaching: Optional[Money] = None
    nonpayable_professional_component: Optional[Money] = None
    remark2: S = None
    remark3: S = None
    remark4: S = None
    remark5: S = None
    pps_capital_exception: Optional[Money] = None


class LX(Segment):
    """LX transaction set line number (837P 2400, 835 2000)."""

    SEGMENT_ID = "LX"
    number: Int


class NTE(Segment):
    """NTE note/special instruction."""

    SEGMENT_ID = "NTE"
    reference_code: S = None
    description: S = None


# ---------------------------------------------------------------------------- 837P segments


class BHT(Segment):
    """BHT beginning of hierarchical transaction."""

    SEGMENT_ID = "BHT"
    structure_code: str
    purpose_code: str
    reference_id: S = None
    date: Optional[Date] = None
    time: S = None
    transaction_type: S = None


class SBR(Segment):
    """SBR subscriber information (2000B: destination payer; 2320: another payer)."""

    SEGMENT_ID = "SBR"
    payer_sequence: PayerSequence
    relationship: S = None
    group_number: S = None
    group_name: S = None
    insurance_type: Optional[MedicareSecondaryType] = None
    coordination_of_benefits: S = None
    yes_no: S = None
    employment_status: S = None
    filing_indicator: Optional[ClaimFilingIndicator] = None


class PAT(Segment):
    """PAT patient information (2000B/2000C)."""

    SEGMENT_ID = "PAT"
    relationship: S = None
    location: S = None
    employment_status: S = None
    student_status: S = None
    date_format: S = None
    date: S = None
    unit: S = None
    weight: Optional[Quantity] = None
    pregnancy: S = None


class CLM(Segment):
    """CLM claim information (2300)."""

    SEGMENT_ID = "CLM"
    patient_control_number: str
    total_charge: Money
    claim_filing_indicator: S = None
    non_institutional_type: S = None
    location: Optional[ServiceLocation] = None
    provider_signature: S = None
    assignment: S = None
    benefits_assignment: S = None
    release_of_information: S = None
    patient_signature_source: S = None
    related_causes: Optional[RelatedCauses] = None
    special_program: S = None
    yes_no13: S = None
    level_of_service: S = None
    yes_no15: S = None
    provider_agreement: S = None
    claim_status: S = None
    yes_no18: S = None
    claim_submission_reason: S = None
    delay_reason: S = None


class HI(Segment):
    """HI health care information codes: up to twelve C022 composites (diagnoses, ...)."""

    SEGMENT_ID = "HI"
    code1: HealthCareCode
    code2: Optional[HealthCareCode] = None
    code3: Optional[HealthCareCode] = None
    code4: Optional[HealthCareCode] = None
    code5: Optional[HealthCareCode] = None
    code6: Optional[HealthCareCode] = None
    code7: Optional[HealthCareCode] = None
    code8: Optional[HealthCareCode] = None
    code9: Optional[HealthCareCode] = None
    code10: Optional[HealthCareCode] = None
    code11: Optional[HealthCareCode] = None
    code12: Optional[HealthCareCode] = None

    def codes(self) -> list[HealthCareCode]:
        return [c for c in (getattr(self, f"code{i}") for i in range(1, 13)) if c is not None]


class OI(Segment):
    """OI other health insurance information (2320)."""

    SEGMENT_ID = "OI"
    claim_filing_indicator: S = None
    claim_submission_reason: S = None
    benefits_assignment: S = None
    patient_signature_source: S = None
    provider_agreement: S = None
    release_of_information: S = None


class SV1(Segment):
    """SV1 professional service (2400)."""

    SEGMENT_ID = "SV1"
    procedure: ProcedureCode
    charge: Money
    unit_basis: S = None
    units: Optional[Quantity] = None
    place_of_service: S = None
    service_type: S = None
    diagnosis_pointers: Optional[DiagnosisPointers] = None
    monetary_amount: Optional[Money] = None
    emergency: S = None
    multiple_procedure: S = None
    epsdt: S = None
    family_planning: S = None
    review_code: S = None
    national_or_local_assigned_review: S = None
    copay_status: S = None
    health_care_professional_shortage_area: S = None
    reference_id: S = None
    postal_code: S = None
    monetary_amount2: Optional[Money] = None
    level_of_care: S = None
    provider_agreement: S = None


class SVD(Segment):
    """SVD line adjudication information (2430): payer id, paid amount, adjudicated code, paid units."""

    SEGMENT_ID = "SVD"
    payer_id: str
    paid: Money
    procedure: Optional[ProcedureCode] = None
    revenue_code: S = None
    paid_units: Optional[Quantity] = None
    bundled_line_number: Optional[Int] = None


# ---------------------------------------------------------------------------- 837I segments


class CL1(Segment):
    """CL1 institutional claim code (837I 2300): UB-04 admission type, admission source, patient status."""

    SEGMENT_ID = "CL1"
    admission_type: S = None
    admission_source: S = None
    patient_status: S = None
    nursing_home_status: S = None


class SV2(Segment):
    """SV2 institutional service line (837I 2400): revenue code, HCPCS composite, charge, unit basis, units."""

    SEGMENT_ID = "SV2"
    revenue_code: str
    procedure: Optional[ProcedureCode] = None
    charge: Money
    unit_basis: S = None
    units: Optional[Quantity] = None
    unit_rate: Optional[Money] = None
    non_covered_charge: Optional[Money] = None
    yes_no: S = None
    nursing_home_status: S = None
    level_of_care: S = None


# ---------------------------------------------------------------------------- 835 segments


class BPR(Segment):
    """BPR financial information (835 header)."""

    SEGMENT_ID = "BPR"
    handling_code: str
    total_payment: Money
    credit_debit: S = None
    payment_method: S = None
    payment_format: S = None
    sender_dfi_qualifier: S = None
    sender_dfi_id: S = None
    sender_account_qualifier: S = None
    sender_account: S = None
    originating_company_id: S = None
    originating_company_supplemental: S = None
    receiver_dfi_qualifier: S = None
    receiver_dfi_id: S = None
    receiver_account_qualifier: S = None
    receiver_account: S = None
    payment_date: Optional[Date] = None
    business_function: S = None
    dfi_qualifier3: S = None
    dfi_id3: S = None
    account_qualifier3: S = None
    account3: S = None


class TRN(Segment):
    """TRN reassociation trace number (check/EFT number and payer id)."""

    SEGMENT_ID = "TRN"
    trace_type: str
    trace_number: str
    originating_company_id: S = None
    supplemental_id: S = None


class CLP(Segment):
    """CLP claim payment information (835 2100)."""

    SEGMENT_ID = "CLP"
    patient_control_number: str
    status: ClaimStatus
    charge: Money
    paid: Money
    patient_responsibility: Optional[Money] = None
    filing_indicator: S = None
    payer_claim_control_number: S = None
    facility_type: S = None
    frequency: S = None
    patient_status: S = None
    drg_code: S = None
    drg_weight: Optional[Quantity] = None
    discharge_fraction: Optional[Quantity] = None
    yes_no: S = None


class SVC(Segment):
    """SVC service payment information (835 2110)."""

    SEGMENT_ID = "SVC"
    procedure: ProcedureCode
    charge: Money
    paid: Money
    revenue_code: S = None
    paid_units: Optional[Quantity] = None
    submitted_procedure: Optional[ProcedureCode] = None
    submitted_units: Optional[Quantity] = None


class LQ(Segment):
    """LQ industry code (835 2110 remark codes: HE = RARC)."""

    SEGMENT_ID = "LQ"
    qualifier: str
    code: str


class PLB(Segment):
    """PLB provider level adjustment (835 footer): up to six (reason:reference, amount) pairs."""

    SEGMENT_ID = "PLB"
    provider_id: str
    fiscal_period_date: Date
    adjustment1: AdjustmentIdentifier
    amount1: Money
    adjustment2: Optional[AdjustmentIdentifier] = None
    amount2: Optional[Money] = None
    adjustment3: Optional[AdjustmentIdentifier] = None
    amount3: Optional[Money] = None
    adjustment4: Optional[AdjustmentIdentifier] = None
    amount4: Optional[Money] = None
    adjustment5: Optional[AdjustmentIdentifier] = None
    amount5: Optional[Money] = None
    adjustment6: Optional[AdjustmentIdentifier] = None
    amount6: Optional[Money] = None

    def adjustments(self) -> list[tuple[AdjustmentIdentifier, "Money"]]:
        out = []
        for i in range(1, 7):
            adj = getattr(self, f"adjustment{i}")
            if adj is not None:
                out.append((adj, getattr(self, f"amount{i}")))
        return out


SEGMENT_MODELS: dict[str, type[Segment]] = {
    cls.SEGMENT_ID: cls
    for cls in (HL, NM1, N1, N3, N4, REF, PER, PRV, DMG, DTP, DTM, AMT, QTY, CAS, MOA, MIA, LX, NTE, BHT, SBR,
                PAT, CLM, HI, OI, SV1, SVD, CL1, SV2, BPR, TRN, CLP, SVC, LQ, PLB)
}
