"""Reference section 6 D with the Canadian CLHIA guideline (``--rules clhia``)."""

from .helpers import cov, explanation, order, rules_used

MARRIED = {"first_name": "Ana", "parents": "married"}


def child_plan(id, sub, start="2018-01-01", **kw):
    return cov(id, relationship="child", status="active", start_date=start, sub=sub, **kw)


def test_same_birthday_first_name_alphabetically_under_clhia():
    # Tom's plan is older, which would win under NAIC; CLHIA looks at first names instead.
    plans = (
        child_plan("dad", ("Tom", "1980-06-01"), start="2010-01-01"),
        child_plan("mom", ("Jane", "1983-06-01"), start="2020-01-01"),
    )
    clhia = order(*plans, rules="clhia", patient=MARRIED)
    naic = order(*plans, rules="naic", patient=MARRIED)
    assert clhia.order == ["mom", "dad"]
    assert "first names alphabetically, Jane before Tom" in explanation(clhia, "birthday")
    assert naic.order == ["dad", "mom"]


def test_same_birthday_without_first_names_is_undetermined_under_clhia():
    result = order(
        child_plan("dad", (None, "1980-06-01")),
        child_plan("mom", ("Jane", "1983-06-01")),
        rules="clhia",
        patient=MARRIED,
    )
    assert result.missing == ["coverages[dad].subscriber.first_name"]


def test_birthday_rule_still_month_and_day_under_clhia():
    result = order(
        child_plan("dad", ("Tom", "1990-02-03")),
        child_plan("mom", ("Jane", "1970-03-31")),
        rules="clhia",
        patient=MARRIED,
    )
    assert result.order == ["dad", "mom"]


def test_student_own_plan_before_parents_plan():
    result = order(
        child_plan("mom", ("Jane", "1980-01-01")),
        cov("school", "student", relationship="self", start_date="2024-09-01"),
        rules="clhia",
        patient=MARRIED,
    )
    assert result.order == ["school", "mom"]
    assert rules_used(result) == ["student_plan"]
    assert "student's own plan" in explanation(result, "student_plan")


def test_full_time_before_part_time_before_retiree():
    result = order(
        cov("ret", relationship="self", status="retired", start_date="1990-01-01"),
        cov("part", relationship="self", status="part_time", start_date="2000-01-01"),
        cov("full", relationship="self", status="active", start_date="2024-01-01"),
        rules="clhia",
    )
    assert result.order == ["full", "part", "ret"]
    assert set(rules_used(result)) == {"employment_status"}


def test_same_status_longest_coverage_first():
    result = order(
        cov("b", relationship="self", status="part_time", start_date="2022-01-01"),
        cov("a", relationship="self", status="part_time", start_date="2019-01-01"),
        rules="clhia",
    )
    assert result.order == ["a", "b"]


def test_single_custody_order_under_clhia():
    result = order(
        child_plan("dad", ("Tom", "1980-01-01"), parent_role="noncustodial"),
        child_plan("stepdad", ("Max", "1980-01-02"), parent_role="custodial_spouse"),
        child_plan("mom", ("Jane", "1980-05-05"), parent_role="custodial"),
        rules="clhia",
        patient={"parents": "divorced"},
    )
    assert result.order == ["mom", "stepdad", "dad"]


def test_joint_custody_parents_by_birthday_then_stepparent():
    result = order(
        child_plan("stepdad", ("Max", "1980-01-02"), parent_role="custodial_spouse"),
        child_plan("mom", ("Jane", "1980-05-05")),
        child_plan("dad", ("Tom", "1980-03-03")),
        rules="clhia",
        patient={"parents": "separated", "joint_custody": True},
    )
    assert result.order == ["dad", "mom", "stepdad"]


def test_own_plan_before_spouses_plan_under_clhia():
    result = order(
        cov("wife", relationship="spouse", status="active"),
        cov("own", relationship="self", status="retired"),
        rules="clhia",
    )
    assert result.order == ["own", "wife"]
