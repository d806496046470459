"""Models for the COB rules: who pays in which order, and what the next payer is expected to pay.

These pydantic models ARE the JSON contract of ``cob order`` and ``cob estimate`` (``cob order --schema``
prints the JSON Schema generated from them). They live in ``schemas`` rather than in ``cob.rules``
because other stages embed them: the coverage roster will carry a ``BenefitTerms`` per payer, and the
pipeline will build an ``OrderRequest`` per claim.

Conventions (why they are strict):

* Unknown keys are rejected (``extra="forbid"``): a misspelt fact such as ``employer_sise`` silently
  ignored would change the order of benefits without anyone noticing.
* A fact that may be unknown is ``Optional`` with ``None`` meaning "not known". The rules never fill a
  gap with a guess: when a rule needs an unknown fact the result is *undetermined* and names the fact.
* Dates are ISO strings (``"2024-03-15"``) parsed to ``datetime.date``.
* Money is ``decimal.Decimal`` only. JSON numbers are accepted when the reader parsed them as
  ``Decimal`` (the CLI does, with ``json.loads(parse_float=Decimal)``) and strings such as ``"12.34"``
  are accepted too; Python ``float`` values are rejected, because a float cannot hold most cent amounts
  exactly.

Order-of-benefits input (``OrderRequest``), e.g.::

    {"claim": {"service_date": "2025-04-02", "work_related": false, "auto_accident": false,
               "liability": false},
     "patient": {"first_name": "Ana", "birth_date": "2015-06-01", "parents": "married"},
     "coverages": [
        {"id": "mom", "kind": "employer_group", "relationship": "child", "status": "active",
         "employer_size": 300, "start_date": "2019-01-01",
         "subscriber": {"first_name": "Jane", "birth_date": "1985-03-15"}},
        {"id": "dad", "kind": "employer_group", "relationship": "child", "status": "active",
         "employer_size": 40, "start_date": "2018-07-01",
         "subscriber": {"first_name": "Tom", "birth_date": "1983-09-22"}}]}

Order-of-benefits output (``OrderResult``)::

    {"order": ["mom", "dad"],
     "decisions": [{"rule": "birthday",
                    "explanation": "birthday rule: March 15 before September 22, so mom pays before dad"}],
     "msp_type": null, "undetermined": false, "missing": []}

Expected-payment input (``EstimateInput`` = ``PrimaryAdjudication`` + ``terms``), e.g.::

    {"claim_id": "C1", "charge": "150.00", "allowed": "100.00", "paid": "80.00", "coinsurance": "20.00",
     "contractual": "50.00", "secondary_allowed": "90.00",
     "terms": {"method": "standard", "plan_share": "0.80"}}
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# --------------------------------------------------------------------------------------------------
# Closed code lists
# --------------------------------------------------------------------------------------------------


class RuleSet(StrEnum):
    """Which order rules apply between two private plans (reference section 6 D)."""

    NAIC = "naic"  # NAIC COB Model Regulation (US default)
    CLHIA = "clhia"  # Canadian Life and Health Insurance Association guideline


class CoverageKind(StrEnum):
    """The kind of program or plan; decides which block of section 6 (A-D) a coverage takes part in."""

    EMPLOYER_GROUP = "employer_group"
    INDIVIDUAL = "individual"
    STUDENT = "student"
    MEDICARE = "medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDIGAP = "medigap"
    MEDICAID = "medicaid"
    TRICARE = "tricare"
    TRICARE_FOR_LIFE = "tricare_for_life"
    CHAMPVA = "champva"
    IHS = "ihs"
    WORKERS_COMP = "workers_comp"
    NO_FAULT = "no_fault"
    LIABILITY = "liability"
    BLACK_LUNG = "black_lung"
    VA = "va"
    OTHER_FEDERAL = "other_federal"  # Public Health Service or another federal agency (MSP type 16)


MEDICARE_KINDS = frozenset({CoverageKind.MEDICARE, CoverageKind.MEDICARE_ADVANTAGE})
PRIVATE_KINDS = frozenset({CoverageKind.EMPLOYER_GROUP, CoverageKind.INDIVIDUAL, CoverageKind.STUDENT})


class Relationship(StrEnum):
    """The patient's relationship to the subscriber of a coverage."""

    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    OTHER = "other"  # e.g. a grandchild or ward covered by a guardian (treated like a child, 6 D 19d)


class EmploymentStatus(StrEnum):
    """The subscriber's employment status behind an employment-based coverage."""

    ACTIVE = "active"  # full-time active employment
    PART_TIME = "part_time"  # active, part-time (same as active under NAIC; ranked after full-time by CLHIA)
    RETIRED = "retired"
    COBRA = "cobra"  # COBRA or state continuation coverage
    LAID_OFF = "laid_off"


class ParentsStatus(StrEnum):
    """Whether a dependent child's parents live together (birthday rule) or apart (custody rules)."""

    MARRIED = "married"
    LIVING_TOGETHER = "living_together"
    DIVORCED = "divorced"
    SEPARATED = "separated"
    NOT_LIVING_TOGETHER = "not_living_together"


class ParentRole(StrEnum):
    """Which parent (or step-parent) holds this coverage, for children of parents who live apart."""

    CUSTODIAL = "custodial"
    CUSTODIAL_SPOUSE = "custodial_spouse"
    NONCUSTODIAL = "noncustodial"
    NONCUSTODIAL_SPOUSE = "noncustodial_spouse"


class MedicareBasis(StrEnum):
    """Why the patient is entitled to Medicare; selects the MSP rule (age 20+, disability 100+, ESRD)."""

    AGE = "age"
    DISABILITY = "disability"
    ESRD = "esrd"


class MspType(StrEnum):
    """2000B SBR05 Medicare Secondary Payer type, sent only when Medicare is not the first payer."""

    WORKING_AGED = "12"
    ESRD = "13"
    NO_FAULT = "14"
    WORKERS_COMP = "15"
    OTHER_FEDERAL = "16"
    BLACK_LUNG = "41"
    VETERANS = "42"
    DISABLED_LGHP = "43"
    LIABILITY = "47"


# --------------------------------------------------------------------------------------------------
# Order-of-benefits input
# --------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClaimFacts(_Strict):
    """Facts about the claim being billed; accident and work relatedness can make a non-health payer first.

    A flag left ``null`` is unknown: it only matters (and is then reported missing) when the patient has a
    coverage of the matching kind.
    """

    service_date: date
    work_related: bool | None = None  # workers' compensation
    auto_accident: bool | None = None  # no-fault / auto med-pay
    liability: bool | None = None  # a liability insurer is responsible
    black_lung_related: bool | None = None  # Federal Black Lung program (DOL)
    va_authorized: bool | None = None  # care authorized by the VA
    federal_program_responsible: bool | None = None  # PHS / other federal agency responsible


class Patient(_Strict):
    """The patient; ``parents`` and ``joint_custody`` matter only for a dependent child's plans."""

    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    parents: ParentsStatus | None = None
    joint_custody: bool = False  # parents apart, joint custody without assigning health-care responsibility


class Subscriber(_Strict):
    """The person who holds a coverage (a parent, spouse, or the patient)."""

    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None


class Coverage(_Strict):
    """One coverage of the patient, with the facts the order rules read.

    Field notes:
    * ``status`` is the subscriber's employment status (for a dependent: that of the employee).
    * ``employer_size`` is the number of employees of the employer sponsoring the plan (MSP thresholds).
    * ``start_date`` is when this plan started covering the patient (length-of-coverage rule) - for the
      same-birthday tie-break, when it started covering the parent.
    * ``court_decree``: a court decree, known to this plan, makes this coverage's subscriber responsible
      for the child's health care.
    * ``esrd_coordination_start``: first month of ESRD-based Medicare eligibility (day is ignored).
    * ``esrd_prior_medicare_primary``: the patient was already entitled on age or disability and Medicare
      was primary when ESRD began; Medicare then stays primary.
    * ``has_cob_provision``: False for a plan without a (compliant) COB clause; it pays first.
    """

    id: str = Field(min_length=1)
    kind: CoverageKind
    name: str | None = None
    payer_id: str | None = None
    relationship: Relationship | None = None
    status: EmploymentStatus | None = None
    employer_size: int | None = Field(default=None, ge=0)
    start_date: date | None = None
    subscriber: Subscriber | None = None
    parent_role: ParentRole | None = None
    court_decree: bool = False
    medicare_basis: MedicareBasis | None = None
    esrd_coordination_start: date | None = None
    esrd_prior_medicare_primary: bool = False
    has_cob_provision: bool = True


class OrderRequest(_Strict):
    """Everything ``determine_order`` needs for one claim."""

    claim: ClaimFacts
    patient: Patient = Field(default_factory=Patient)
    coverages: list[Coverage] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> OrderRequest:
        ids = [c.id for c in self.coverages]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"coverage ids must be unique; repeated: {', '.join(dupes)}")
        medicare = [c.id for c in self.coverages if c.kind in MEDICARE_KINDS]
        if len(medicare) > 1:
            raise ValueError(
                "at most one Medicare coverage (medicare or medicare_advantage) per patient; got " + ", ".join(medicare)
            )
        return self


# --------------------------------------------------------------------------------------------------
# Order-of-benefits output
# --------------------------------------------------------------------------------------------------


class Decision(_Strict):
    """One step of the order: the rule (a short stable name) and what it decided, in plain words."""

    rule: str
    explanation: str


class OrderResult(_Strict):
    """The order of benefits for one claim.

    When ``undetermined`` is true, ``order`` holds only the leading payers whose place is certain and
    ``missing`` names the facts (e.g. ``coverages[mom].subscriber.birth_date``) that would decide the rest.
    ``msp_type`` is the SBR05 code for a claim to Medicare when Medicare is not the first payer.
    """

    order: list[str]
    decisions: list[Decision]
    msp_type: MspType | None = None
    undetermined: bool = False
    missing: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Expected payment
# --------------------------------------------------------------------------------------------------


def _no_float(value: Any) -> Any:
    """Refuse floats before pydantic turns them into Decimal: 0.1 as a float is not 10 cents."""
    if isinstance(value, float):
        raise ValueError("money must be a Decimal, an int or a numeric string, not a float")
    return value


Money = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0, allow_inf_nan=False)]
Rate = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0, le=1, allow_inf_nan=False)]


class PaymentMethod(StrEnum):
    """How the secondary computes its payment (reference section 5)."""

    STANDARD = "standard"  # traditional NAIC COB, optionally with a benefit reserve
    NON_DUPLICATION = "non_duplication"
    CARVE_OUT = "carve_out"
    MAINTENANCE_OF_BENEFITS = "maintenance_of_benefits"
    MEDICARE_SECONDARY = "medicare_secondary"  # 42 CFR 411.33 lowest-of
    MEDICAID = "medicaid"  # lesser-of
    MEDIGAP = "medigap"  # Medicare supplement plan letters
    SOFT_NON_DUPLICATION_1 = "soft_non_duplication_1"  # non-dup, patient never owes more than the plan's own cost-share
    SOFT_NON_DUPLICATION_2 = "soft_non_duplication_2"  # non-dup on the higher of the two allowed amounts
    REGULAR_MEDICARE_COB = "regular_medicare_cob"  # plan after Medicare: up to the Medicare allowance
    PRO_RATA = "pro_rata"  # CLHIA: no order rule applies, plans share in proportion to their benefits
    CLHIA_SECOND_PAYER = "clhia_second_payer"  # CLHIA: min(first-payer benefit, 100% eligible - first paid)


class MedigapPlan(StrEnum):
    """Standardized Medigap plan letters (E, H, I, J are closed to new sales and not modelled)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    F = "F"
    G = "G"
    K = "K"
    L = "L"
    M = "M"
    N = "N"


class AllowableBasis(StrEnum):
    """Which allowed amount is the NAIC 'allowable expense' for standard COB."""

    PRIMARY_ALLOWED = "primary_allowed"  # provider in network with the primary: its negotiated fee
    SECONDARY_ALLOWED = "secondary_allowed"
    HIGHER_ALLOWED = "higher_allowed"  # neither network applies: the higher of the two


class VisitType(StrEnum):
    """Setting of the service; only Medigap plan N's copays depend on it."""

    OFFICE = "office"
    EMERGENCY = "emergency"  # ER visit not resulting in an inpatient admission
    OTHER = "other"


class BenefitTerms(_Strict):
    """A secondary payer's COB method and benefit terms (per payer; the coverage roster will embed it).

    ``plan_share`` is the fraction of allowed the plan pays after deductible and copay (0.80 = 80%);
    for Medicare secondary it is Medicare's rate (normally 0.80). ``copay`` is the secondary's own copay
    (for Medicaid: the nominal Medicaid copay the patient may still be charged).
    ``reserve_balance`` is the benefit-reserve credit carried into this claim (standard COB with
    ``benefit_reserve``); the caller stores ``PaymentEstimate.reserve_balance_after`` for the next claim.
    """

    method: PaymentMethod
    plan_share: Rate = Decimal("0.80")
    copay: Money = Decimal("0")
    allowable_expense: AllowableBasis = AllowableBasis.PRIMARY_ALLOWED
    benefit_reserve: bool = False
    reserve_balance: Money = Decimal("0")
    carve_out_form: Literal["non_duplication", "maintenance_of_benefits"] = "non_duplication"
    medigap_plan: MedigapPlan | None = None
    #: pro-rata: what the OTHER plan would pay with no other coverage (its normal benefit); absent: the
    #: other plan's actual payment is taken as its normal benefit (it paid as if alone)
    other_plan_benefit: Money | None = None
    #: roster only (`cob estimate --remit --coverage`, `cob run`): the payer's allowed amount for the claim,
    #: or a fee schedule file (CSV procedure,modifier,amount; path relative to the roster) that prices its lines
    secondary_allowed: Money | None = None
    fee_schedule: str | None = None

    @model_validator(mode="after")
    def _plan_letter(self) -> BenefitTerms:
        if self.method is PaymentMethod.MEDIGAP and self.medigap_plan is None:
            raise ValueError("medigap_plan is required when method is medigap")
        if self.secondary_allowed is not None and self.fee_schedule is not None:
            raise ValueError("give secondary_allowed or fee_schedule, not both")
        return self


class PrimaryAdjudication(_Strict):
    """What the prior payer did with the claim (from its 835), plus the secondary's own pricing if known.

    ``deductible`` + ``coinsurance`` + ``copay`` + ``noncovered_patient`` is the patient responsibility
    (835 group PR); ``contractual`` is group CO. ``secondary_allowed`` is the secondary's own allowed
    amount - for Medicare as secondary, its fee-schedule amount (also accepted as
    ``medicare_fee_schedule``). ``unmet_deductible`` is what is left of the *secondary's* deductible.
    ``otaf`` is the amount the provider must accept from the primary as payment in full; when absent it is
    taken as ``charge - contractual`` (the CO reduction is exactly that obligation).
    """

    claim_id: str = Field(min_length=1)
    charge: Money
    allowed: Money
    paid: Money
    deductible: Money = Decimal("0")
    coinsurance: Money = Decimal("0")
    copay: Money = Decimal("0")
    noncovered_patient: Money = Decimal("0")
    contractual: Money = Decimal("0")
    #: Medicare's 2% sequestration (CO 253): part of the Medicare allowance although nobody pays it
    sequestration: Money = Decimal("0")
    secondary_allowed: Money | None = Field(
        default=None, validation_alias=AliasChoices("secondary_allowed", "medicare_fee_schedule")
    )
    unmet_deductible: Money = Decimal("0")
    otaf: Money | None = None
    visit: VisitType | None = None

    @model_validator(mode="after")
    def _amounts_fit(self) -> PrimaryAdjudication:
        if self.paid > self.allowed:
            raise ValueError(f"paid {self.paid} exceeds allowed {self.allowed}")
        if self.allowed > self.charge:
            raise ValueError(f"allowed {self.allowed} exceeds charge {self.charge}")
        return self

    @property
    def patient_responsibility(self) -> Decimal:
        """The primary's PR total: what the patient owes before any secondary pays."""
        return self.deductible + self.coinsurance + self.copay + self.noncovered_patient


class EstimateInput(PrimaryAdjudication):
    """One row of ``cob estimate --adjudication FILE``: the prior payer's result and the next payer's terms."""

    terms: BenefitTerms


class PaymentEstimate(_Strict):
    """The secondary's expected payment and what the patient still owes afterwards."""

    claim_id: str
    method: PaymentMethod
    secondary_pays: Decimal
    patient_balance: Decimal
    patient_responsibility_before: Decimal
    reserve_balance_after: Decimal | None = None
    steps: list[str] = Field(default_factory=list)
