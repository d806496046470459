"""Properties that must hold for any input, not just the worked examples."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cob.rules.order import determine_order
from cob.rules.payment import estimate_claim
from cob.schemas.order import (
    BenefitTerms,
    CoverageKind,
    EmploymentStatus,
    MedicareBasis,
    OrderRequest,
    ParentRole,
    ParentsStatus,
    PrimaryAdjudication,
    Relationship,
    RuleSet,
)

dates = st.dates(min_value=__import__("datetime").date(1940, 1, 1), max_value=__import__("datetime").date(2025, 12, 31))
maybe = lambda s: st.none() | s  # noqa: E731

coverage_facts = st.fixed_dictionaries(
    {
        "kind": st.sampled_from([k.value for k in CoverageKind if k not in (CoverageKind.MEDICARE_ADVANTAGE,)]),
        "relationship": maybe(st.sampled_from([r.value for r in Relationship])),
        "status": maybe(st.sampled_from([s.value for s in EmploymentStatus])),
        "employer_size": maybe(st.integers(0, 500)),
        "start_date": maybe(dates),
        "subscriber": st.fixed_dictionaries(
            {"first_name": maybe(st.sampled_from(["Ann", "Bob", "ann"])), "birth_date": maybe(dates)}
        ),
        "parent_role": maybe(st.sampled_from([r.value for r in ParentRole])),
        "court_decree": st.booleans(),
        "medicare_basis": maybe(st.sampled_from([b.value for b in MedicareBasis])),
        "esrd_coordination_start": maybe(dates),
        "has_cob_provision": st.booleans(),
    }
)


@st.composite
def order_requests(draw):
    facts = draw(st.lists(coverage_facts, min_size=1, max_size=5))
    coverages, seen_medicare = [], False
    for n, f in enumerate(facts):
        if f["kind"] == "medicare":
            if seen_medicare:
                continue
            seen_medicare = True
        coverages.append({"id": f"c{n}", **f})
    claim = {
        "service_date": draw(dates),
        **{
            flag: draw(maybe(st.booleans()))
            for flag in (
                "work_related",
                "auto_accident",
                "liability",
                "black_lung_related",
                "va_authorized",
                "federal_program_responsible",
            )
        },
    }
    patient = {
        "parents": draw(maybe(st.sampled_from([p.value for p in ParentsStatus]))),
        "joint_custody": draw(st.booleans()),
    }
    return OrderRequest.model_validate({"claim": claim, "patient": patient, "coverages": coverages})


@settings(max_examples=300, deadline=None)
@given(order_requests(), st.sampled_from(list(RuleSet)), st.randoms())
def test_order_is_well_formed_and_ignores_input_order(request, rule_set, rnd):
    result = determine_order(request, rule_set)
    ids = [c.id for c in request.coverages]
    assert len(set(result.order)) == len(result.order)
    assert set(result.order) <= set(ids)
    assert result.undetermined == bool(result.missing)
    if not result.undetermined:
        left_out = {
            c.id for c in request.coverages if any(f"{c.id} left out" in d.explanation for d in result.decisions)
        }
        assert set(result.order) | left_out == set(ids)
    medicare = [c.id for c in request.coverages if c.kind is CoverageKind.MEDICARE]
    if result.msp_type is not None:
        assert medicare and result.order and result.order[0] != medicare[0]

    shuffled = list(request.coverages)
    rnd.shuffle(shuffled)
    again = determine_order(request.model_copy(update={"coverages": shuffled}), rule_set)
    assert again.order == result.order
    assert again.undetermined == result.undetermined
    assert set(again.missing) == set(result.missing)
    assert again.msp_type == result.msp_type


cents = st.integers(0, 100_000).map(lambda n: Decimal(n) / 100)


@st.composite
def adjudications(draw):
    allowed = draw(cents)
    paid = draw(st.integers(0, int(allowed * 100)).map(lambda n: Decimal(n) / 100))
    rest = allowed - paid
    deductible = draw(st.integers(0, int(rest * 100)).map(lambda n: Decimal(n) / 100))
    coinsurance = rest - deductible
    contractual = draw(cents)
    return PrimaryAdjudication(
        claim_id="P",
        charge=allowed + contractual,
        allowed=allowed,
        paid=paid,
        deductible=deductible,
        coinsurance=coinsurance,
        contractual=contractual,
        secondary_allowed=draw(cents),
        unmet_deductible=draw(cents),
        visit="office",
    )


terms = st.builds(
    BenefitTerms,
    method=st.sampled_from(["standard", "non_duplication", "carve_out", "maintenance_of_benefits", "medigap"]),
    plan_share=st.integers(0, 100).map(lambda n: Decimal(n) / 100),
    copay=cents,
    benefit_reserve=st.booleans(),
    reserve_balance=cents,
    medigap_plan=st.sampled_from(list("ABCDFGKLMN")),
)


def in_cents(x: Decimal) -> bool:
    return x.as_tuple().exponent == -2


@settings(max_examples=300, deadline=None)
@given(adjudications(), terms)
def test_commercial_and_medigap_split_the_patient_share_exactly(primary, t):
    e = estimate_claim(primary, t)
    pr1 = primary.patient_responsibility
    assert Decimal(0) <= e.secondary_pays <= pr1
    assert e.secondary_pays + e.patient_balance == pr1
    assert in_cents(e.secondary_pays) and in_cents(e.patient_balance)
    if e.reserve_balance_after is not None:
        assert e.reserve_balance_after >= 0


@settings(max_examples=300, deadline=None)
@given(adjudications(), st.integers(0, 100).map(lambda n: Decimal(n) / 100), cents)
def test_medicare_and_medicaid_stay_within_their_limits(primary, share, copay):
    msp = estimate_claim(primary, BenefitTerms(method="medicare_secondary", plan_share=share))
    assert Decimal(0) <= msp.secondary_pays <= primary.charge - primary.contractual - primary.paid
    assert Decimal(0) <= msp.patient_balance <= primary.patient_responsibility
    mcd = estimate_claim(primary, BenefitTerms(method="medicaid", copay=copay))
    assert Decimal(0) <= mcd.secondary_pays <= primary.patient_responsibility
    assert Decimal(0) <= mcd.patient_balance <= copay
