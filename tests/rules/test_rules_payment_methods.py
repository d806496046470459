"""Issue 17 clause 5: the payers' published COB methods beside the reference's, each computed by hand.

Notation as in `cob.rules.payment`: C charge, A1 primary allowed, P1 primary paid, PR1 what the primary left
the patient, A2 the secondary's allowed, N2 its normal benefit (what it pays with no other coverage).
"""

from decimal import Decimal as D

import pytest

from cob.rules.payment import EstimateInputError, estimate_claim
from cob.schemas.order import BenefitTerms, PrimaryAdjudication


def adj(**kw):
    return PrimaryAdjudication.model_validate({"claim_id": "C1", **kw})


def est(method, p, **terms):
    return estimate_claim(p, BenefitTerms.model_validate({"method": method, **terms}))


# --- hard non-duplication: the published example the issue quotes -----------------------------------


def test_hard_non_duplication_primary_100_secondary_would_pay_150_gives_50():
    # The secondary's normal benefit is 150 (80% of its allowed 187.50); the primary paid 100 of an allowed
    # 200 and left 100 coinsurance. Non-dup: max(0, 150 - 100) = 50; the patient still owes 100 - 50 = 50.
    p = adj(charge="300", allowed="200", paid="100", coinsurance="100", contractual="100", secondary_allowed="187.50")
    e = est("non_duplication", p)
    assert (e.secondary_pays, e.patient_balance) == (D("50.00"), D("50.00"))


def test_hard_non_duplication_primary_200_secondary_would_pay_150_gives_0():
    # The primary paid 200 (allowed 250, coinsurance 50) - more than the secondary's 150: max(0, 150 - 200) = 0.
    p = adj(charge="300", allowed="250", paid="200", coinsurance="50", contractual="50", secondary_allowed="187.50")
    e = est("non_duplication", p)
    assert (e.secondary_pays, e.patient_balance) == (D("0.00"), D("50.00"))


def test_hard_non_duplication_delta_dental_published_example():
    """Delta Dental (deltadentalins.com, "If you are covered by two dental plans",
    http://www.deltadentalins.com/individuals/guidance/dual-coverage.html), non-duplication clause: the
    secondary pays nothing if the primary paid the same as or more than what the secondary allows. Its example:
    both plans pay 80%; the primary allows $100 (pays $80, leaves $20), the secondary normally allows $80.
    cob: N2 = 0.8 x 80 = 64; max(0, 64 - 80) = 0; the patient keeps the primary's $20."""
    p = adj(charge="100", allowed="100", paid="80", coinsurance="20", secondary_allowed="80")
    e = est("non_duplication", p)
    assert (e.secondary_pays, e.patient_balance) == (D("0.00"), D("20.00"))


# --- soft non-duplication I and II --------------------------------------------------------------------


def test_soft_non_dup_1_reference_inputs():
    # Reference section 5 inputs: A1 100, P1 80, PR1 20, A2 90, N2 = 0.8 x 90 = 72.
    # non-dup part max(0, 72 - 80) = 0; the plan's own cost share A2 - N2 = 18; PR1 - 18 = 2 -> S = 2,
    # the patient keeps 18 (what the secondary alone would have left), hard non-dup would leave 20.
    p = adj(charge="150", allowed="100", paid="80", coinsurance="20", contractual="50", secondary_allowed="90")
    e = est("soft_non_duplication_1", p)
    assert (e.secondary_pays, e.patient_balance) == (D("2.00"), D("18.00"))


def test_soft_non_dup_1_when_non_dup_already_pays_more():
    # The 150-versus-100 example: non-dup 50; own cost share 187.50 - 150 = 37.50; PR1 100 - 37.50 = 62.50
    # -> S = max(50, 62.50) = 62.50, patient 37.50.
    p = adj(charge="300", allowed="200", paid="100", coinsurance="100", contractual="100", secondary_allowed="187.50")
    e = est("soft_non_duplication_1", p)
    assert (e.secondary_pays, e.patient_balance) == (D("62.50"), D("37.50"))


def test_soft_non_dup_2_prices_on_the_higher_allowed():
    # A1 100 (primary 70%: P1 70, PR1 30), A2 90. N2' = 0.8 x max(100, 90) = 80; S = 80 - 70 = 10
    # (hard non-dup on A2: 72 - 70 = 2); patient 30 - 10 = 20.
    p = adj(charge="150", allowed="100", paid="70", coinsurance="30", contractual="50", secondary_allowed="90")
    assert est("soft_non_duplication_2", p).secondary_pays == D("10.00")
    assert est("non_duplication", p).secondary_pays == D("2.00")
    assert est("soft_non_duplication_2", p).patient_balance == D("20.00")


# --- Regular Medicare COB ----------------------------------------------------------------------------


def test_regular_medicare_cob_coordinates_up_to_the_medicare_allowance():
    # Medicare allowed 100: paid 78.40 (80 less CO 253 sequestration 1.60), PR 2 coinsurance 20.
    # MA = 98.40 + 1.60 = 100; N2 = 0.8 x 100 = 80; S = min(80, 100 - 78.40 = 21.60) = 21.60,
    # capped at the 20 the patient owes -> 20; the 1.60 stays a write-off, never the patient's.
    p = adj(charge="150", allowed="98.40", paid="78.40", coinsurance="20", contractual="51.60", sequestration="1.60")
    e = est("regular_medicare_cob", p)
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("0.00"))


def test_regular_medicare_cob_with_an_unmet_plan_deductible():
    # Same claim, 90 of the plan's deductible left: N2 = 0.8 x (100 - 90) = 8; S = min(8, 21.60) = 8; patient 12.
    p = adj(charge="150", allowed="98.40", paid="78.40", coinsurance="20", contractual="51.60",
            sequestration="1.60", unmet_deductible="90")
    e = est("regular_medicare_cob", p)
    assert (e.secondary_pays, e.patient_balance) == (D("8.00"), D("12.00"))


def test_regular_medicare_cob_needs_no_secondary_allowed():
    # Part B deductible 100 of an allowed 100: Medicare paid 0; MA 100, N2 80, S = min(80, 100) = 80; patient 20.
    p = adj(charge="120", allowed="100", paid="0", deductible="100", contractual="20")
    e = est("regular_medicare_cob", p)
    assert (e.secondary_pays, e.patient_balance) == (D("80.00"), D("20.00"))


def test_regular_medicare_cob_uhc_rule_coordinates_up_to_the_medicare_allowed_amount():
    """Published RULE, numbers ours (no payer-published worked example with numbers was found):
    UnitedHealthcare Administrative Guide 2018, ch. 9 "Subrogation and Coordination of Benefits"
    (https://www.uhcprovider.com/en/admin-guides/2018-uhc-admin-guide/ch9-our-claims-process/sub-coord-benefits-ch9-guide.html):
    when the provider accepts Medicare assignment, all COB types coordinate up to Medicare's allowed amount.
    Medicare allowed 100, paid 80, coinsurance 20; the plan's own allowed is higher, 150 (N2 = 0.8 x 150 = 120).
    S = min(120, 100 - 80 = 20) = 20: Medicare + plan = 100, the Medicare allowed, never 150."""
    p = adj(charge="200", allowed="100", paid="80", coinsurance="20", contractual="100", secondary_allowed="150")
    e = est("regular_medicare_cob", p)
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("0.00"))
    assert p.paid + e.secondary_pays == p.allowed


@pytest.mark.parametrize(
    ("paid", "deductible", "coinsurance", "plan_pays", "patient"),
    [
        ("0", "100", "0", "90.00", "10.00"),  # all of it Medicare's Part B deductible: the 10% bound is reached
        ("80", "0", "20", "20.00", "0.00"),  # ordinary 80/20: the plan's 90% covers the whole coinsurance
    ],
)
def test_regular_medicare_cob_mchcp_rule_member_pays_at_most_10_percent(paid, deductible, coinsurance,
                                                                         plan_pays, patient):
    """Published RULE, numbers ours: Missouri Consolidated Health Care Plan (state employees' plan),
    "Coordination of Benefits (COB)" (http://mchcp.org/stateMembers/coordinationOfBenefits.asp): with
    Medicare primary, the Medicare Approved amount drives both payments and, once the PPO deductible is
    met, the member pays no more than 10% of the Medicare Approved amount. Plan share 90%, deductible met,
    Medicare approved 100: N2 = 90; S = min(90, 100 - Medicare paid); the member keeps at most 10."""
    p = adj(charge="130", allowed="100", paid=paid, deductible=deductible, coinsurance=coinsurance,
            contractual="30")
    e = est("regular_medicare_cob", p, plan_share="0.90")
    assert (e.secondary_pays, e.patient_balance) == (D(plan_pays), D(patient))
    assert e.patient_balance <= D("0.10") * p.allowed


def test_regular_medicare_cob_takes_the_rosters_allowed():
    """The roster's secondary_allowed (BenefitTerms) prices N2 as the adjudication's own would: plan allowed
    20 on a Medicare allowed 100 (paid 80, coinsurance 20): N2 = 0.8 x 20 = 16; S = min(16, 20) = 16; patient 4."""
    p = adj(charge="150", allowed="100", paid="80", coinsurance="20", contractual="50")
    e = est("regular_medicare_cob", p, secondary_allowed="20")
    assert (e.secondary_pays, e.patient_balance) == (D("16.00"), D("4.00"))


# --- CLHIA pro-rata and second payer -------------------------------------------------------------------


def test_pro_rata_two_plans_each_80_percent_of_100():
    # CLHIA: no order rule applies; expense 100, each plan would pay 80 alone. Together 160 > 100, so each
    # pays 100 x 80 / 160 = 50. The other plan paid its share, 50 (leaving 50).
    p = adj(charge="100", allowed="100", paid="50", coinsurance="50", secondary_allowed="100")
    e = est("pro_rata", p, other_plan_benefit="80")
    assert (e.secondary_pays, e.patient_balance) == (D("50.00"), D("0.00"))


def test_pro_rata_unequal_benefits():
    # Expense 100; plan A 50% (N1 50), this plan 80% (N2 80): 100 x 80 / 130 = 61.538... -> 61.54;
    # plan A paid its share 38.46 -> left 61.54; patient 0.
    p = adj(charge="100", allowed="100", paid="38.46", coinsurance="61.54", secondary_allowed="100")
    e = est("pro_rata", p, other_plan_benefit="50")
    assert (e.secondary_pays, e.patient_balance) == (D("61.54"), D("0.00"))


def test_pro_rata_limited_to_what_the_other_payment_left():
    # The other plan paid its full 80 (it did not prorate): share 50 but only 100 - 80 = 20 is left -> 20.
    p = adj(charge="100", allowed="100", paid="80", coinsurance="20", secondary_allowed="100")
    e = est("pro_rata", p)
    assert e.secondary_pays == D("20.00")


def test_pro_rata_union_trust_fund_rule():
    """Published RULE, numbers ours: Ontario trust-fund plans' "Co-ordination of Benefits" pages
    (https://otcbenefits.com/index.php/health-care/co-ordination-of-benefits; the same text at Teamsters
    Local 230 Construction Benefits): when no priority rule decides, benefits are pro-rated among the plans in
    proportion to what each would have paid had it been the only plan. Expense 300; this plan alone 80% = 240,
    the other plan alone 50% = 150; together 390 > 300, so this plan pays 300 x 240 / 390 = 184.615... -> 184.62
    and the other 115.38 (which it paid); patient 0."""
    p = adj(charge="300", allowed="300", paid="115.38", coinsurance="184.62", secondary_allowed="300")
    e = est("pro_rata", p, other_plan_benefit="150")
    assert (e.secondary_pays, e.patient_balance) == (D("184.62"), D("0.00"))


def test_clhia_second_payer_published_formula():
    # CLHIA: eligible 100; first payer paid 80; as first payer this plan would pay 80% = 80.
    # lesser of 80 and 100% x 100 - 80 = 20 -> 20; patient 0.
    p = adj(charge="100", allowed="100", paid="80", coinsurance="20", secondary_allowed="100")
    e = est("clhia_second_payer", p)
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("0.00"))


def test_clhia_second_payer_the_published_eye_exam():
    # CLHIA's consumer guide states the rule ("the lowest of the amount that would have been payable had it
    # been the first plan, or 100% of the eligible expenses minus the benefits paid by the first plan"), and
    # an insurer's page that restates it works it out: an eye exam of 100, the member's plan covers 75, the
    # remainder 25 goes to the spouse's plan "and would be paid". The spouse's plan covers 80% as first
    # payer: lesser of 80 and 100 - 75 = 25 -> 25; the patient owes nothing.
    p = adj(charge="100", allowed="100", paid="75", coinsurance="25", secondary_allowed="100")
    e = est("clhia_second_payer", p)
    assert (e.secondary_pays, e.patient_balance) == (D("25.00"), D("0.00"))


def test_clhia_second_payer_when_its_own_benefit_is_the_lesser():
    # First payer 50% of 100 = 50 (patient 50); this plan 40% -> 40; lesser of 40 and 100 - 50 = 50 -> 40; patient 10.
    p = adj(charge="100", allowed="100", paid="50", coinsurance="50", secondary_allowed="100")
    e = est("clhia_second_payer", p, plan_share="0.40")
    assert (e.secondary_pays, e.patient_balance) == (D("40.00"), D("10.00"))


# --- the roster gives the secondary's allowed -----------------------------------------------------------


def test_terms_can_carry_the_secondary_allowed():
    p = adj(charge="150", allowed="100", paid="80", coinsurance="20", contractual="50")
    e = est("clhia_second_payer", p, secondary_allowed="90")
    # N2 72; min(72, 90 - 80 = 10) = 10; patient 10
    assert (e.secondary_pays, e.patient_balance) == (D("10.00"), D("10.00"))


@pytest.mark.parametrize("method", ["soft_non_duplication_1", "soft_non_duplication_2", "clhia_second_payer"])
def test_methods_needing_the_secondary_allowed_say_so(method):
    p = adj(charge="150", allowed="100", paid="80", coinsurance="20", contractual="50")
    with pytest.raises(EstimateInputError, match="secondary_allowed"):
        est(method, p)
