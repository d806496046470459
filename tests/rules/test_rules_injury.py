"""Reference section 6 A: injury/illness-specific payers come first when the claim is related."""

import pytest

from .helpers import cov, explanation, medicare, order, rules_used

GHP_RETIREE = cov("ghp", relationship="self", status="retired", employer_size=500, start_date="2010-01-01")


@pytest.mark.parametrize(
    ("kind", "flag", "msp"),
    [
        ("workers_comp", "work_related", "15"),
        ("no_fault", "auto_accident", "14"),
        ("liability", "liability", "47"),
        ("black_lung", "black_lung_related", "41"),
        ("va", "va_authorized", "42"),
        ("other_federal", "federal_program_responsible", "16"),
    ],
)
def test_related_claim_puts_the_injury_payer_first_and_sets_msp_type(kind, flag, msp):
    result = order(medicare(), GHP_RETIREE, cov("inj", kind), claim={flag: True})
    assert result.order == ["inj", "mcr", "ghp"]
    assert result.msp_type == msp
    assert not result.undetermined


def test_workers_comp_first_without_medicare_has_no_msp_type():
    result = order(
        cov("ghp", relationship="self", status="active"), cov("wc", "workers_comp"), claim={"work_related": True}
    )
    assert result.order == ["wc", "ghp"]
    assert result.msp_type is None
    assert "work-related claim" in explanation(result, "workers_comp")


@pytest.mark.parametrize(
    ("kind", "flag"),
    [
        ("workers_comp", "work_related"),
        ("no_fault", "auto_accident"),
        ("liability", "liability"),
        ("black_lung", "black_lung_related"),
        ("va", "va_authorized"),
    ],
)
def test_unrelated_claim_leaves_the_injury_payer_out(kind, flag):
    result = order(medicare(), cov("inj", kind), claim={flag: False})
    assert result.order == ["mcr"]
    assert result.msp_type is None
    assert "inj left out" in result.decisions[0].explanation


def test_unknown_relatedness_is_undetermined_and_names_the_claim_flag():
    result = order(medicare(), cov("wc", "workers_comp"), claim={"work_related": None})
    assert result.undetermined
    assert result.order == []
    assert result.missing == ["claim.work_related"]


def test_unknown_flag_without_matching_coverage_does_not_matter():
    result = order(medicare(), claim={"work_related": None, "black_lung_related": None})
    assert result.order == ["mcr"]
    assert not result.undetermined


def test_no_fault_before_liability_when_both_apply():
    result = order(
        medicare(), cov("liab", "liability"), cov("auto", "no_fault"), claim={"auto_accident": True, "liability": True}
    )
    assert result.order == ["auto", "liab", "mcr"]
    assert result.msp_type == "14"
    assert rules_used(result)[:2] == ["no_fault", "liability"]


def test_two_policies_of_the_same_injury_kind_are_not_guessed():
    result = order(cov("l1", "liability"), cov("l2", "liability"), claim={"liability": True})
    assert result.undetermined
    assert result.missing == ["order among the liability coverages l1, l2"]
