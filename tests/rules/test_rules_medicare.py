"""Reference section 6 B: Medicare versus group health plans (MSP), with the SBR05 type."""

import pytest

from .helpers import cov, explanation, medicare, order, rules_used


def ghp(id="ghp", relationship="self", status="active", employer_size=None, **kw):
    return cov(id, relationship=relationship, status=status, employer_size=employer_size, **kw)


# --- age (working aged, 20 employees) --------------------------------------------------------------


@pytest.mark.parametrize("relationship", ["self", "spouse"])
def test_working_aged_employer_of_20_or_more_pays_before_medicare(relationship):
    result = order(medicare("age"), ghp(relationship=relationship, employer_size=20))
    assert result.order == ["ghp", "mcr"]
    assert result.msp_type == "12"
    assert "20 or more" in explanation(result, "msp_working_aged")


def test_working_aged_employer_of_19_leaves_medicare_first():
    result = order(medicare("age"), ghp(employer_size=19))
    assert result.order == ["mcr", "ghp"]
    assert result.msp_type is None
    assert "19 employees (fewer than 20)" in explanation(result, "medicare_primary")


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("retired", "retiree coverage"),
        ("cobra", "COBRA continuation coverage"),
        ("laid_off", "laid-off"),
    ],
)
def test_coverage_not_from_current_employment_follows_medicare(status, words):
    result = order(medicare("age"), ghp(status=status, employer_size=5000))
    assert result.order == ["mcr", "ghp"]
    assert result.msp_type is None
    assert words in explanation(result, "medicare_primary")


def test_working_aged_rule_does_not_cover_a_childs_employer_plan():
    result = order(medicare("age"), ghp(relationship="child", employer_size=5000))
    assert result.order == ["mcr", "ghp"]


def test_part_time_current_employment_counts_as_working():
    assert order(medicare("age"), ghp(status="part_time", employer_size=40)).order == ["ghp", "mcr"]


def test_working_aged_without_employer_size_is_undetermined():
    result = order(medicare("age"), ghp(employer_size=None))
    assert result.undetermined
    assert result.order == []
    assert result.missing == ["coverages[ghp].employer_size"]


def test_working_aged_without_employment_status_is_undetermined():
    result = order(medicare("age"), ghp(status=None, employer_size=300))
    assert result.missing == ["coverages[ghp].status"]


def test_medicare_basis_unknown_is_undetermined():
    result = order(medicare(None), ghp(employer_size=300))
    assert result.undetermined
    assert result.missing == ["coverages[mcr].medicare_basis"]


def test_individual_plan_follows_medicare_without_needing_the_basis():
    result = order(medicare(None), cov("ind", "individual", relationship="self"))
    assert result.order == ["mcr", "ind"]
    assert not result.undetermined


def test_medicare_advantage_is_treated_as_medicare():
    result = order(cov("ma", "medicare_advantage", medicare_basis="age"), ghp(employer_size=75))
    assert result.order == ["ghp", "ma"]
    assert result.msp_type == "12"


# --- disability (large group health plan, 100 employees) -------------------------------------------


@pytest.mark.parametrize("relationship", ["self", "spouse", "child"])
def test_disabled_with_large_group_plan_of_100_or_more(relationship):
    result = order(medicare("disability"), ghp(relationship=relationship, employer_size=100))
    assert result.order == ["ghp", "mcr"]
    assert result.msp_type == "43"


def test_disabled_with_employer_of_99_leaves_medicare_first():
    result = order(medicare("disability"), ghp(employer_size=99))
    assert result.order == ["mcr", "ghp"]
    assert "99 employees (fewer than 100)" in explanation(result, "medicare_primary")


def test_disabled_with_50_employees_would_be_primary_under_the_age_rule_but_not_here():
    assert order(medicare("age"), ghp(employer_size=50)).order == ["ghp", "mcr"]
    assert order(medicare("disability"), ghp(employer_size=50)).order == ["mcr", "ghp"]


def test_disabled_retiree_coverage_follows_medicare():
    assert order(medicare("disability"), ghp(status="retired", employer_size=900)).order == ["mcr", "ghp"]


# --- ESRD (30-month coordination period) -----------------------------------------------------------
# Coordination starts March 2023 (the day is ignored): months 1..30 run March 2023 to August 2025.


def esrd(**kw):
    return medicare("esrd", esrd_coordination_start="2023-03-17", **kw)


def test_esrd_last_day_of_month_30_the_group_plan_pays_first_type_13():
    result = order(esrd(), ghp(employer_size=5), claim={"service_date": "2025-08-31"})
    assert result.order == ["ghp", "mcr"]
    assert result.msp_type == "13"
    assert "month 30 of 30" in explanation(result, "msp_esrd")


def test_esrd_first_day_after_the_period_medicare_pays_first():
    result = order(esrd(), ghp(employer_size=5000), claim={"service_date": "2025-09-01"})
    assert result.order == ["mcr", "ghp"]
    assert result.msp_type is None
    assert "2023-03 to 2025-08 is over" in explanation(result, "msp_esrd")


@pytest.mark.parametrize("status", ["retired", "cobra", "laid_off", "active"])
def test_esrd_group_plan_first_regardless_of_status_and_size(status):
    result = order(esrd(), ghp(status=status, employer_size=3), claim={"service_date": "2024-01-15"})
    assert result.order == ["ghp", "mcr"]
    assert result.msp_type == "13"


def test_esrd_when_medicare_was_already_primary_it_stays_primary():
    result = order(esrd(esrd_prior_medicare_primary=True), ghp(status="retired"), claim={"service_date": "2024-01-15"})
    assert result.order == ["mcr", "ghp"]


def test_esrd_without_coordination_start_is_undetermined():
    result = order(medicare("esrd"), ghp(employer_size=10))
    assert result.missing == ["coverages[mcr].esrd_coordination_start"]


def test_esrd_does_not_make_an_individual_plan_primary():
    result = order(esrd(), cov("ind", "individual", relationship="self"), claim={"service_date": "2024-01-15"})
    assert result.order == ["mcr", "ind"]


# --- rule 17's exception: Medicare between a dependent plan and the patient's own retiree plan -----


def test_spouse_active_plan_before_medicare_before_own_retiree_plan():
    result = order(
        medicare("age"),
        ghp("own", relationship="self", status="retired", employer_size=5000, start_date="1990-01-01"),
        ghp("wife", relationship="spouse", status="active", employer_size=250, start_date="2020-01-01"),
    )
    assert result.order == ["wife", "mcr", "own"]
    assert result.msp_type == "12"
    assert "non_dependent_exception" in rules_used(result)


def test_two_plans_before_medicare_are_ordered_by_the_plan_rules():
    result = order(
        medicare("disability"),
        ghp("spouse_job", relationship="spouse", employer_size=300),
        ghp("own_job", relationship="self", employer_size=150),
    )
    assert result.order == ["own_job", "spouse_job", "mcr"]
    assert result.msp_type == "43"
