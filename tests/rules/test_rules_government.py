"""Reference section 6 C: Medigap, TRICARE, TRICARE For Life, CHAMPVA, Medicaid, IHS."""

from .helpers import cov, explanation, medicare, order

GHP_ACTIVE_BIG = cov("ghp", relationship="self", status="active", employer_size=400, start_date="2015-01-01")
GHP_RETIREE = cov("ret", relationship="self", status="retired", employer_size=400, start_date="2015-01-01")


def test_medigap_pays_right_after_medicare():
    result = order(cov("gap", "medigap", relationship="self"), medicare())
    assert result.order == ["mcr", "gap"]
    assert "Medicare supplement" in explanation(result, "medigap")


def test_medigap_without_medicare_is_undetermined():
    result = order(cov("gap", "medigap"))
    assert result.undetermined
    assert result.missing == ["the Medicare coverage that gap (medigap) supplements"]


def test_medigap_and_a_retiree_plan_after_medicare_are_not_guessed():
    result = order(medicare(), cov("gap", "medigap"), GHP_RETIREE)
    assert result.undetermined
    assert result.order == ["mcr"]  # Medicare is certainly first; the rest is open
    assert "order between gap (Medigap) and ret" in result.missing[0]


def test_tricare_is_secondary_to_other_health_insurance():
    result = order(cov("tri", "tricare", relationship="child", status="retired"), GHP_ACTIVE_BIG)
    assert result.order == ["ghp", "tri"]
    assert "after other health insurance" in explanation(result, "tricare")


def test_tricare_before_medicaid_and_ihs():
    result = order(cov("ihs", "ihs"), cov("mcd", "medicaid"), cov("tri", "tricare"))
    assert result.order == ["tri", "mcd", "ihs"]


def test_tricare_for_life_after_medicare():
    result = order(cov("tfl", "tricare_for_life"), medicare())
    assert result.order == ["mcr", "tfl"]
    assert result.msp_type is None


def test_current_employment_ohi_then_medicare_then_tricare_for_life():
    result = order(cov("tfl", "tricare_for_life"), medicare("age"), GHP_ACTIVE_BIG)
    assert result.order == ["ghp", "mcr", "tfl"]
    assert result.msp_type == "12"


def test_plain_tricare_with_medicare_acts_as_tricare_for_life():
    result = order(cov("tri", "tricare", status="retired"), medicare())
    assert result.order == ["mcr", "tri"]


def test_tricare_for_life_without_medicare_is_undetermined():
    result = order(cov("tfl", "tricare_for_life"))
    assert result.undetermined
    assert result.missing == ["the Medicare coverage that tfl (tricare_for_life) pays after"]


def test_active_duty_tricare_with_medicare_pays_first_without_an_msp_code():
    result = order(medicare("disability"), cov("tri", "tricare", status="active"))
    assert result.order == ["tri", "mcr"]
    assert result.msp_type is None
    assert "uncertain" in explanation(result, "tricare_active_duty")


def test_champva_after_other_insurance_and_medicare_before_medicaid():
    result = order(cov("mcd", "medicaid"), cov("cva", "champva"), medicare(), GHP_RETIREE)
    assert result.order == ["mcr", "ret", "cva", "mcd"]


def test_champva_and_tricare_together_are_not_guessed():
    result = order(cov("cva", "champva"), cov("tri", "tricare"))
    assert result.undetermined
    assert "exclude each other" in result.missing[0]


def test_medicaid_is_last_after_medicare_and_private_plans():
    result = order(cov("mcd", "medicaid"), medicare(), GHP_RETIREE)
    assert result.order == ["mcr", "ret", "mcd"]
    assert "payer of last resort" in explanation(result, "medicaid_last")


def test_medicaid_after_an_injury_payer_and_a_private_plan():
    result = order(cov("mcd", "medicaid"), GHP_ACTIVE_BIG, cov("auto", "no_fault"), claim={"auto_accident": True})
    assert result.order == ["auto", "ghp", "mcd"]


def test_ihs_after_medicaid():
    result = order(cov("ihs", "ihs"), cov("mcd", "medicaid"), GHP_ACTIVE_BIG)
    assert result.order == ["ghp", "mcd", "ihs"]
    assert "even after Medicaid" in explanation(result, "ihs_last")


def test_two_medicaid_coverages_are_not_guessed():
    result = order(cov("m1", "medicaid"), cov("m2", "medicaid"))
    assert result.undetermined
    assert result.missing == ["which medicaid coverage applies: m1, m2"]
