"""Reference section 5: each payment method's worked example, computed by hand in the comments."""

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from cob.rules.payment import EstimateInputError, estimate_claim
from cob.schemas.order import BenefitTerms, PrimaryAdjudication


def primary(**kw):
    """Reference section 5 common example: C 150, A1 100, P1 80, PR1 20 (coinsurance), A2 90."""
    base = dict(
        claim_id="C1",
        charge="150.00",
        allowed="100.00",
        paid="80.00",
        coinsurance="20.00",
        contractual="50.00",
        secondary_allowed="90.00",
    )
    if "medicare_fee_schedule" in kw:  # the alias replaces secondary_allowed; giving both is an error
        del base["secondary_allowed"]
    base.update(kw)
    return PrimaryAdjudication.model_validate(base)


def est(method, p=None, **terms):
    return estimate_claim(p or primary(), BenefitTerms.model_validate({"method": method, **terms}))


# --- standard COB ---------------------------------------------------------------------------------


def test_standard_cob_reference_example():
    # N2 = 0.8 x 90 = 72; S = min(72, 100 - 80) = 20; patient 20 - 20 = 0
    e = est("standard")
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("0.00"))
    assert e.reserve_balance_after is None


def test_standard_cob_blue_cross_mn_published_example_1():
    """Blue Cross and Blue Shield of Minnesota, provider page "Coordination of benefits and Medicare
    crossovers" (https://www.bluecrossmn.com/providers/coordination-benefits-and-medicare-crossovers),
    Example #1: charge $100; both plans allow $80 and pay 80%, deductibles met. Primary pays $64 (80% of
    $80); secondary pays $16 ($80 - $64); patient owes $0; the $20 above the allowed is the primary's
    reduction. cob: N2 = 0.8 x 80 = 64; S = min(64, AE 80 - 64 = 16) = 16, patient 16 - 16 = 0."""
    p = primary(charge="100", allowed="80", paid="64", coinsurance="16", contractual="20", secondary_allowed="80")
    e = est("standard", p)
    assert (e.secondary_pays, e.patient_balance) == (D("16.00"), D("0.00"))


def test_standard_cob_with_benefit_reserve_banks_the_savings():
    # reserve += N2 - S = 72 - 20 = 52
    e = est("standard", benefit_reserve=True)
    assert e.secondary_pays == D("20.00")
    assert e.reserve_balance_after == D("52.00")


def test_benefit_reserve_pays_a_later_claim_beyond_the_normal_benefit():
    # PR1 = 50 deductible; N2 = 0.8 x 40 = 32; S = min(100 - 50, 32 + 52) = 50; reserve 52 + 32 - 50 = 34
    p = primary(
        charge="100.00",
        allowed="100.00",
        paid="50.00",
        coinsurance="0",
        deductible="50.00",
        contractual="0",
        secondary_allowed="40.00",
    )
    e = est("standard", p, benefit_reserve=True, reserve_balance="52.00")
    assert (e.secondary_pays, e.patient_balance, e.reserve_balance_after) == (D("50.00"), D("0.00"), D("34.00"))


def test_standard_cob_with_secondary_allowed_as_allowable_expense():
    # AE = 90; S = min(72, 90 - 80) = 10; patient 20 - 10 = 10
    e = est("standard", allowable_expense="secondary_allowed")
    assert (e.secondary_pays, e.patient_balance) == (D("10.00"), D("10.00"))


def test_secondary_deductible_and_copay_reduce_the_normal_benefit():
    # N2 = 0.8 x (90 - 60 - 15) = 12; S = min(12, 20) = 12; patient 8
    e = est("standard", primary(unmet_deductible="60.00"), copay="15.00")
    assert (e.secondary_pays, e.patient_balance) == (D("12.00"), D("8.00"))


def test_rounding_is_half_up_to_cents():
    # N2 = 0.5 x 10.05 = 5.025 -> 5.03 (banker's rounding would give 5.02); patient 10 - 5.03 = 4.97
    p = primary(
        charge="20.00", allowed="20.00", paid="10.00", coinsurance="10.00", contractual="0", secondary_allowed="10.05"
    )
    e = est("standard", p, plan_share="0.50")
    assert (e.secondary_pays, e.patient_balance) == (D("5.03"), D("4.97"))


# --- non-duplication, carve-out, maintenance of benefits ------------------------------------------


def test_non_duplication_reference_example():
    # max(0, 72 - 80) = 0; patient owes 20
    e = est("non_duplication")
    assert (e.secondary_pays, e.patient_balance) == (D("0.00"), D("20.00"))


def test_non_duplication_pays_the_excess_of_its_own_benefit():
    # P1 50: max(0, 72 - 50) = 22; patient 50 - 22 = 28
    e = est("non_duplication", primary(paid="50.00", coinsurance="50.00"))
    assert (e.secondary_pays, e.patient_balance) == (D("22.00"), D("28.00"))


def test_carve_out_defaults_to_the_non_dup_form():
    e = est("carve_out")
    assert (e.secondary_pays, e.patient_balance) == (D("0.00"), D("20.00"))


def test_carve_out_in_its_mob_form():
    e = est("carve_out", carve_out_form="maintenance_of_benefits")
    assert (e.secondary_pays, e.patient_balance) == (D("8.00"), D("12.00"))


def test_maintenance_of_benefits_reference_example():
    # (90 - 80) x 0.8 = 8; patient owes 12
    e = est("maintenance_of_benefits")
    assert (e.secondary_pays, e.patient_balance) == (D("8.00"), D("12.00"))


def test_maintenance_of_benefits_after_remaining_deductible():
    # (90 - 80 - 5) x 0.8 = 4; patient 16
    e = est("maintenance_of_benefits", primary(unmet_deductible="5.00"))
    assert (e.secondary_pays, e.patient_balance) == (D("4.00"), D("16.00"))


def test_commercial_methods_never_pay_more_than_the_patient_owes():
    # A2 200: N2 160; non-dup 160 - 80 = 80, capped at PR1 20
    e = est("non_duplication", primary(secondary_allowed="200.00"))
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("0.00"))


# --- Medicare secondary payer (42 CFR 411.33) -----------------------------------------------------


def msp_primary(**kw):
    base = dict(
        charge="175.00",
        allowed="150.00",
        paid="120.00",
        coinsurance="30.00",
        contractual="0",
        medicare_fee_schedule="125.00",
    )
    base.update(kw)
    return primary(**base)


def test_msp_cfr_example():
    # (1) 175 - 120 = 55; (2) 0.8 x 125 = 100; (3) max(150, 125) - 120 = 30 -> 30
    e = est("medicare_secondary", msp_primary())
    assert e.secondary_pays == D("30.00")
    assert e.patient_balance == D("0.00")
    assert e.steps[:3] == [
        "(1) min(C 175.00, OTAF 175.00) - P1 120.00 = 55.00",
        "(2) 80% x (Medicare allowed 125.00 - unmet deductible 0.00) = 100.00",
        "(3) max(Medicare allowed 125.00, A1 150.00) - P1 120.00 = 30.00",
    ]


def test_msp_cfr_example_with_otaf_150():
    # (1) becomes min(175, 150) - 120 = 30 -> still 30
    e = est("medicare_secondary", msp_primary(otaf="150.00"))
    assert e.secondary_pays == D("30.00")
    assert e.steps[0] == "(1) min(C 175.00, OTAF 150.00) - P1 120.00 = 30.00"


def test_msp_otaf_derived_from_the_contractual_adjustment():
    # CO 25 -> OTAF 175 - 25 = 150, same as above
    e = est("medicare_secondary", msp_primary(contractual="25.00"))
    assert e.secondary_pays == D("30.00")
    assert e.steps[0] == "(1) min(C 175.00, OTAF 150.00) - P1 120.00 = 30.00"


def test_msp_unmet_medicare_deductible_makes_amount_2_the_lowest():
    # (2) 0.8 x (125 - 100) = 20 -> Medicare pays 20; patient min(30, 150 - 120 - 20) = 10
    e = est("medicare_secondary", msp_primary(unmet_deductible="100.00"))
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("10.00"))


def test_msp_charge_can_be_the_lowest():
    # charge 130, A1 125, P1 120, fee 140: (1) 10, (2) 112, (3) 140 - 120 = 20 -> 10
    e = est(
        "medicare_secondary",
        msp_primary(charge="130.00", allowed="125.00", coinsurance="5.00", medicare_fee_schedule="140.00"),
    )
    assert (e.secondary_pays, e.patient_balance) == (D("10.00"), D("0.00"))


def test_msp_never_negative():
    e = est(
        "medicare_secondary",
        msp_primary(charge="100.00", allowed="100.00", paid="100.00", coinsurance="0", medicare_fee_schedule="80.00"),
    )
    assert e.secondary_pays == D("0.00")


# --- Medicaid lesser-of ---------------------------------------------------------------------------


def test_medicaid_reference_example_pays_nothing():
    # min(20, 70 - 80) -> 0; the provider accepts Medicaid as payment in full: patient 0
    e = est("medicaid", primary(secondary_allowed="70.00"))
    assert (e.secondary_pays, e.patient_balance) == (D("0.00"), D("0.00"))


def test_medicaid_pays_up_to_its_rate():
    # min(20, 95 - 80) = 15
    e = est("medicaid", primary(secondary_allowed="95.00"))
    assert (e.secondary_pays, e.patient_balance) == (D("15.00"), D("0.00"))


def test_medicaid_patient_owes_only_the_medicaid_copay():
    e = est("medicaid", primary(secondary_allowed="95.00"), copay="3.00")
    assert (e.secondary_pays, e.patient_balance) == (D("15.00"), D("3.00"))


# --- Medigap plan letters -------------------------------------------------------------------------


def medicare_primary(**kw):
    """Reference example: allowed 100, paid 78.40 (80 less CO-253 of 1.60), PR-2 coinsurance 20."""
    base = dict(
        charge="100.00", allowed="100.00", paid="78.40", coinsurance="20.00", contractual="1.60", secondary_allowed=None
    )
    base.update(kw)
    return primary(**base)


# Part B deductible 257.00, then 80% of 43.00 = 34.40 less 2% sequestration 0.69 = 33.71; coinsurance 8.60.
WITH_DEDUCTIBLE = dict(
    charge="300.00", allowed="300.00", paid="33.71", contractual="0.69", deductible="257.00", coinsurance="8.60"
)


@pytest.mark.parametrize("letter", ["A", "B", "D", "G", "M"])
def test_medigap_reference_example_full_coinsurance(letter):
    e = est("medigap", medicare_primary(), medigap_plan=letter)
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("0.00"))


@pytest.mark.parametrize(
    ("letter", "pays", "patient"),
    [
        ("G", "8.60", "257.00"),  # G: coinsurance only, Part B deductible stays with the patient
        ("D", "8.60", "257.00"),
        ("F", "265.60", "0.00"),  # F: Part B deductible 257.00 + coinsurance 8.60
        ("C", "265.60", "0.00"),
    ],
)
def test_medigap_plan_g_versus_plan_f_part_b_deductible(letter, pays, patient):
    e = est("medigap", medicare_primary(**WITH_DEDUCTIBLE), medigap_plan=letter)
    assert (e.secondary_pays, e.patient_balance) == (D(pays), D(patient))


@pytest.mark.parametrize(("letter", "pays", "patient"), [("K", "10.00", "10.00"), ("L", "15.00", "5.00")])
def test_medigap_k_pays_half_and_l_three_quarters_of_coinsurance(letter, pays, patient):
    e = est("medigap", medicare_primary(), medigap_plan=letter)
    assert (e.secondary_pays, e.patient_balance) == (D(pays), D(patient))


def test_medigap_k_rounds_half_up():
    # 50% of 20.25 = 10.125 -> 10.13; patient 20.25 - 10.13 = 10.12
    p = medicare_primary(charge="101.25", allowed="101.25", paid="81.00", coinsurance="20.25", contractual="0")
    e = est("medigap", p, medigap_plan="K")
    assert (e.secondary_pays, e.patient_balance) == (D("10.13"), D("10.12"))


@pytest.mark.parametrize(
    ("visit", "allowed", "paid", "coins", "pays", "patient"),
    [
        ("office", "150.00", "120.00", "30.00", "10.00", "20.00"),  # patient keeps the $20 office copay
        ("office", "50.00", "40.00", "10.00", "0.00", "10.00"),  # coinsurance below the cap: all patient's
        ("emergency", "200.00", "160.00", "40.00", "0.00", "40.00"),  # up to $50 for the ER visit
        ("emergency", "400.00", "320.00", "80.00", "30.00", "50.00"),
        ("other", "150.00", "120.00", "30.00", "30.00", "0.00"),
    ],
)
def test_medigap_plan_n_copays(visit, allowed, paid, coins, pays, patient):
    p = medicare_primary(charge=allowed, allowed=allowed, paid=paid, coinsurance=coins, contractual="0", visit=visit)
    e = est("medigap", p, medigap_plan="N")
    assert (e.secondary_pays, e.patient_balance) == (D(pays), D(patient))


def test_medigap_plan_n_needs_the_visit_type():
    with pytest.raises(EstimateInputError) as info:
        est("medigap", medicare_primary(), medigap_plan="N")
    assert info.value.field_name == "visit"


def test_medigap_does_not_pay_non_covered_amounts():
    e = est("medigap", medicare_primary(charge="115.00", noncovered_patient="15.00"), medigap_plan="G")
    assert (e.secondary_pays, e.patient_balance) == (D("20.00"), D("15.00"))


# --- inputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method", ["standard", "non_duplication", "carve_out", "maintenance_of_benefits", "medicare_secondary", "medicaid"]
)
def test_methods_pricing_with_the_secondary_allowed_require_it(method):
    with pytest.raises(EstimateInputError) as info:
        est(method, primary(secondary_allowed=None))
    assert info.value.field_name == "secondary_allowed"


def test_money_refuses_floats():
    with pytest.raises(ValidationError, match="not a float"):
        PrimaryAdjudication(claim_id="C1", charge=150.0, allowed=D("100"), paid=D("80"))
    with pytest.raises(ValidationError, match="not a float"):
        BenefitTerms(method="standard", plan_share=0.8)


def test_paid_above_allowed_is_rejected():
    with pytest.raises(ValidationError, match="exceeds allowed"):
        primary(paid="120.00")


def test_medigap_terms_need_a_plan_letter():
    with pytest.raises(ValidationError, match="medigap_plan is required"):
        BenefitTerms(method="medigap")


def test_results_are_decimals_in_cents():
    e = est("standard")
    assert isinstance(e.secondary_pays, D) and e.secondary_pays.as_tuple().exponent == -2
    assert isinstance(e.patient_balance, D) and e.patient_balance.as_tuple().exponent == -2
