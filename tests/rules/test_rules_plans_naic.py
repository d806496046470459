"""Reference section 6 D with the NAIC model rules (the default rule set)."""

import pytest

from .helpers import cov, explanation, order, rules_used

MARRIED = {"first_name": "Ana", "parents": "married"}
DIVORCED = {"first_name": "Ana", "parents": "divorced"}


def child_plan(id, sub, start="2018-01-01", **kw):
    return cov(id, relationship="child", status="active", employer_size=50, start_date=start, sub=sub, **kw)


# --- rule 16: no COB provision --------------------------------------------------------------------


def test_plan_without_cob_provision_pays_first_even_as_dependent_plan():
    result = order(
        cov("own", relationship="self", status="active"),
        cov("spouse", relationship="spouse", status="active", has_cob_provision=False),
    )
    assert result.order == ["spouse", "own"]
    assert rules_used(result) == ["no_cob_provision"]


# --- rule 17: own before dependent ----------------------------------------------------------------


def test_own_plan_before_spouses_plan():
    result = order(
        cov("wife", relationship="spouse", status="active", start_date="2000-01-01"),
        cov("own", relationship="self", status="active", start_date="2024-01-01"),
    )
    assert result.order == ["own", "wife"]
    assert "own plan before dependent plan" in explanation(result, "non_dependent")


def test_own_retiree_plan_still_before_spouses_active_plan_without_medicare():
    result = order(
        cov("wife", relationship="spouse", status="active"), cov("own", relationship="self", status="retired")
    )
    assert result.order == ["own", "wife"]
    assert rules_used(result) == ["non_dependent"]


def test_unknown_relationship_is_undetermined():
    result = order(cov("a", status="active"), cov("b", relationship="self", status="active"))
    assert result.missing == ["coverages[a].relationship"]


# --- rule 18: birthday rule -----------------------------------------------------------------------


def test_birthday_rule_month_and_day_not_year():
    # Tom is 10 years older, but March 15 comes before September 22 in the calendar year.
    result = order(child_plan("dad", ("Tom", "1975-09-22")), child_plan("mom", ("Jane", "1985-03-15")), patient=MARRIED)
    assert result.order == ["mom", "dad"]
    assert explanation(result, "birthday").startswith("birthday rule: March 15 before September 22")


def test_birthday_rule_younger_parent_first_when_earlier_in_year():
    result = order(
        child_plan("mom", ("Jane", "1970-12-01")),
        child_plan("dad", ("Tom", "1990-01-31")),
        patient={"parents": "living_together"},
    )
    assert result.order == ["dad", "mom"]


def test_same_birthday_longer_coverage_of_the_parent_wins_under_naic():
    result = order(
        child_plan("dad", ("Tom", "1980-06-01"), start="2012-05-01"),
        child_plan("mom", ("Jane", "1982-06-01"), start="2016-02-01"),
        patient=MARRIED,
    )
    assert result.order == ["dad", "mom"]
    assert "same birthday (June 1)" in explanation(result, "birthday")


def test_same_birthday_unknown_start_dates_is_undetermined():
    result = order(
        child_plan("dad", ("Tom", "1980-06-01"), start=None), child_plan("mom", ("Jane", "1982-06-01")), patient=MARRIED
    )
    assert result.missing == ["coverages[dad].start_date"]


def test_dependent_child_with_missing_birthdays_lists_both():
    result = order(child_plan("mom", ("Jane", None)), child_plan("dad", ("Tom", None)), patient=MARRIED)
    assert result.undetermined
    assert result.order == []
    assert result.missing == ["coverages[mom].subscriber.birth_date", "coverages[dad].subscriber.birth_date"]


def test_dependent_child_without_parents_status_is_undetermined():
    result = order(
        child_plan("mom", ("Jane", "1985-03-15")),
        child_plan("dad", ("Tom", "1983-09-22")),
        patient={"first_name": "Ana"},
    )
    assert result.missing == ["patient.parents"]


def test_guardian_coverage_is_ordered_like_parents():
    result = order(
        cov("grandma", relationship="other", status="retired", sub=("Rose", "1950-02-02")),
        child_plan("mom", ("Jane", "1985-03-15")),
        patient=MARRIED,
    )
    assert result.order == ["grandma", "mom"]
    assert rules_used(result) == ["birthday"]


# --- rule 19: parents apart -----------------------------------------------------------------------


def test_no_decree_custodial_then_stepparent_then_noncustodial_then_its_spouse():
    # Birthdays deliberately point the other way: custody, not birthdays, decides.
    result = order(
        child_plan("dad_wife", ("Eve", "1980-01-01"), parent_role="noncustodial_spouse"),
        child_plan("dad", ("Tom", "1980-01-02"), parent_role="noncustodial"),
        child_plan("stepdad", ("Max", "1980-01-03"), parent_role="custodial_spouse"),
        child_plan("mom", ("Jane", "1980-12-31"), parent_role="custodial"),
        patient=DIVORCED,
    )
    assert result.order == ["mom", "stepdad", "dad", "dad_wife"]
    assert set(rules_used(result)) == {"custody"}
    assert "custody rule (no court decree): the custodial parent before the custodial parent's spouse" in explanation(
        result, "custody"
    )


def test_separated_parents_follow_the_custody_order_too():
    result = order(
        child_plan("dad", ("Tom", "1980-01-01"), parent_role="noncustodial"),
        child_plan("mom", ("Jane", "1980-07-01"), parent_role="custodial"),
        patient={"parents": "separated"},
    )
    assert result.order == ["mom", "dad"]


def test_court_decree_beats_custody():
    result = order(
        child_plan("mom", ("Jane", "1980-01-01"), parent_role="custodial"),
        child_plan("dad", ("Tom", "1980-07-01"), parent_role="noncustodial", court_decree=True),
        patient=DIVORCED,
    )
    assert result.order == ["dad", "mom"]
    assert "court decree" in explanation(result, "court_decree")


def test_decree_making_both_responsible_falls_back_to_birthday_rule():
    result = order(
        child_plan("mom", ("Jane", "1980-11-01"), parent_role="custodial", court_decree=True),
        child_plan("dad", ("Tom", "1980-07-01"), parent_role="noncustodial", court_decree=True),
        patient=DIVORCED,
    )
    assert result.order == ["dad", "mom"]
    assert "birthday rule: July 1 before November 1" in explanation(result, "birthday")


def test_joint_custody_birthday_rule_and_parents_before_stepparents():
    result = order(
        child_plan("stepmom", ("Eve", "1980-01-01"), parent_role="noncustodial_spouse"),
        child_plan("mom", ("Jane", "1980-11-01")),
        child_plan("dad", ("Tom", "1980-07-01")),
        patient={"parents": "divorced", "joint_custody": True},
    )
    assert result.order == ["dad", "mom", "stepmom"]


def test_parents_apart_without_parent_role_is_undetermined():
    result = order(
        child_plan("mom", ("Jane", "1980-11-01"), parent_role="custodial"),
        child_plan("dad", ("Tom", "1980-07-01")),
        patient=DIVORCED,
    )
    assert result.missing == ["coverages[dad].parent_role"]


def test_child_with_parent_plan_and_own_spouse_plan_longer_coverage_first():
    result = order(
        cov("husband", relationship="spouse", status="active", start_date="2024-06-01", sub=("Leo", "2000-01-05")),
        child_plan("mom", ("Jane", "1975-08-08"), start="2005-01-01"),
        patient=MARRIED,
    )
    assert result.order == ["mom", "husband"]
    assert rules_used(result) == ["child_and_spouse"]


def test_child_with_parent_plan_and_spouse_plan_same_start_birthday_rule():
    result = order(
        cov("husband", relationship="spouse", status="active", start_date="2024-06-01", sub=("Leo", "2000-01-05")),
        child_plan("mom", ("Jane", "1975-08-08"), start="2024-06-01"),
        patient=MARRIED,
    )
    assert result.order == ["husband", "mom"]
    assert "January 5 before August 8" in explanation(result, "child_and_spouse")


# --- rules 20, 21, 22 -----------------------------------------------------------------------------


def own(id, status, start="2020-01-01", kind="employer_group"):
    return cov(id, kind, relationship="self", status=status, start_date=start)


@pytest.mark.parametrize("inactive", ["retired", "laid_off"])
def test_active_before_retired_or_laid_off(inactive):
    result = order(own("old_job", inactive, start="1995-01-01"), own("new_job", "active", start="2023-01-01"))
    assert result.order == ["new_job", "old_job"]
    assert rules_used(result) == ["active_vs_inactive"]


def test_active_before_cobra():
    result = order(own("cobra_plan", "cobra", start="2001-01-01"), own("job", "active", start="2024-01-01"))
    assert result.order == ["job", "cobra_plan"]
    assert "COBRA last" in explanation(result, "cobra")


def test_retiree_plan_before_cobra_plan():
    result = order(own("cobra_plan", "cobra", start="2001-01-01"), own("ret", "retired", start="2024-01-01"))
    assert result.order == ["ret", "cobra_plan"]


def test_naic_part_time_is_active_so_longer_coverage_decides():
    result = order(own("full", "active", start="2021-01-01"), own("part", "part_time", start="2019-01-01"))
    assert result.order == ["part", "full"]
    assert rules_used(result) == ["longer_coverage"]


def test_longer_coverage_between_two_own_individual_plans():
    result = order(
        own("b", None, start="2022-03-01", kind="individual"), own("a", None, start="2021-03-01", kind="individual")
    )
    assert result.order == ["a", "b"]


def test_employer_plan_without_status_is_undetermined_when_status_matters():
    result = order(own("a", None, start="2022-03-01"), own("b", "retired", start="2021-03-01"))
    assert result.missing == ["coverages[a].status"]


def test_nothing_decides_means_undetermined_not_a_guess():
    result = order(own("a", "active", start="2022-03-01"), own("b", "active", start="2022-03-01"))
    assert result.undetermined
    assert result.order == []
    assert "share allowable expenses equally" in result.missing[0]


def test_three_plans_get_a_total_order():
    result = order(
        cov("spouse_plan", relationship="spouse", status="active", start_date="2010-01-01"),
        own("retiree", "retired", start="2000-01-01"),
        own("job", "active", start="2024-01-01"),
    )
    assert result.order == ["job", "retiree", "spouse_plan"]
    assert len(result.decisions) == 3
