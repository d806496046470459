"""`cob estimate --remit 835 --coverage roster` for every method (issue 17 clause 5), amounts by hand.

The 835 (tests/rules/test_rules_cli.py REMIT_835): charge 250, primary paid P1 116, CO 45 80 + 20,
PR 34 = deductible 10 + coinsurance 4 + copay 20, so the primary's allowed A1 = 116 + 34 = 150.
The secondary's allowed A2 = 140, either given in the roster or priced by a fee schedule:
99214 at 120 x 1 unit + 87880-QW at 10 x 2 units = 140. Plan share 80%: N2 = 112.
"""

import json

import pytest
from click.testing import CliRunner

from cob.cli.rules import estimate

from .test_rules_cli import REMIT_835

COVERAGE = {"member_id": "PRIM123", "sequence": "S", "payer_name": "SECOND PAYER INC", "payer_id": "SECPAY",
            "subscriber_last_name": "TESTER", "subscriber_id": "SEC1", "relationship": "18",
            "filing_indicator": "CI"}

# method, extra terms, (secondary pays, patient balance), worked by hand
CASES = [
    ("standard", {}, ("34.00", "0.00")),  # min(N2 112, A1 150 - 116 = 34)
    ("non_duplication", {}, ("0.00", "34.00")),  # max(0, 112 - 116)
    ("carve_out", {}, ("0.00", "34.00")),  # non-dup form
    ("maintenance_of_benefits", {}, ("19.20", "14.80")),  # 0.8 x (140 - 116) = 19.20; 34 - 19.20
    ("medicare_secondary", {}, ("34.00", "0.00")),  # min(150 - 116, 0.8 x 140, max(140, 150) - 116)
    ("medicaid", {}, ("24.00", "0.00")),  # min(PR1 34, 140 - 116 = 24); Medicaid copay 0
    ("medigap", {"medigap_plan": "G"}, ("24.00", "10.00")),  # coinsurance 4 + copay 20; Part B deductible 10 kept
    ("soft_non_duplication_1", {}, ("6.00", "28.00")),  # max(0, 34 - (140 - 112) = 6)
    ("soft_non_duplication_2", {}, ("4.00", "30.00")),  # 0.8 x max(150, 140) = 120 - 116
    ("regular_medicare_cob", {}, ("34.00", "0.00")),  # min(112, MA 150 - 116 = 34)
    ("pro_rata", {}, ("34.00", "0.00")),  # min(150, 116 + 112) x 112 / 228 = 73.68, only 150 - 116 = 34 left
    ("clhia_second_payer", {}, ("24.00", "10.00")),  # min(112, 140 - 116 = 24)
]


@pytest.fixture
def files(tmp_path):
    remit = tmp_path / "remit.835"
    remit.write_text(REMIT_835)
    (tmp_path / "fees.csv").write_text("procedure,modifier,amount\n99214,,120\n87880,QW,10\n")

    def roster(terms):
        path = tmp_path / "roster.json"
        path.write_text(json.dumps({"coverages": [dict(COVERAGE, benefit_terms=terms)]}))
        return str(path)

    return str(remit), roster


def run(*args):
    return CliRunner().invoke(estimate, list(args))


@pytest.mark.parametrize("pricing", [{"secondary_allowed": "140"}, {"fee_schedule": "fees.csv"}])
@pytest.mark.parametrize("method, extra, expected", CASES)
def test_every_method_from_remit_and_roster(files, method, extra, expected, pricing):
    remit, roster = files
    result = run("--remit", remit, "--coverage", roster({"method": method, **extra, **pricing}), "--format", "json")
    assert result.exit_code == 0, result.output
    (est,) = json.loads(result.stdout)["estimates"]
    assert (est["secondary_pays"], est["patient_balance"]) == expected


def test_a_code_missing_from_the_fee_schedule_says_which_and_exits_1(files, tmp_path):
    remit, roster = files
    (tmp_path / "fees.csv").write_text("procedure,modifier,amount\n99214,,120\n")
    result = run("--remit", remit, "--coverage", roster({"method": "standard", "fee_schedule": "fees.csv"}))
    assert result.exit_code == 1
    assert "PCN123: not estimated: claim PCN123: line 2: procedure 87880 is not in the fee schedule" in result.stdout
    assert "no claim could be estimated" in result.stderr


def test_no_roster_entry_for_the_next_payer_is_explained(files, tmp_path):
    remit, _ = files
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"coverages": [dict(COVERAGE, member_id="SOMEONE", benefit_terms={"method": "standard"})]}))
    result = run("--remit", remit, "--coverage", str(path), "--format", "json")
    assert result.exit_code == 1
    (err,) = json.loads(result.stdout)["errors"]
    assert err["field"] == "coverage" and "no payer at level 2" in err["message"]


def test_roster_entry_without_terms_is_explained(files, tmp_path):
    remit, _ = files
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"coverages": [COVERAGE]}))
    result = run("--remit", remit, "--coverage", str(path))
    assert result.exit_code == 1
    assert "payer SECPAY has no benefit_terms" in result.stdout


def test_a_method_that_needs_the_allowed_amount_says_so(files):
    remit, roster = files
    result = run("--remit", remit, "--coverage", roster({"method": "clhia_second_payer"}), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["field"] == "secondary_allowed"


@pytest.mark.parametrize("kind, key", [("adjudication", "items"), ("roster", "properties"), ("facts", "properties")])
def test_schema_of_each_input(kind, key):
    result = run("--schema", kind)
    assert result.exit_code == 0
    assert key in json.loads(result.stdout)
