"""``cob order`` and ``cob estimate`` through click: exit codes 0/1/2, JSON shape, one-line errors."""

import json

import pytest
from click.testing import CliRunner

from cob.cli.rules import estimate, order

PARENTS = {
    "claim": {"service_date": "2025-04-02", "work_related": False, "auto_accident": False, "liability": False},
    "patient": {"first_name": "Ana", "birth_date": "2015-06-01", "parents": "married"},
    "coverages": [
        {
            "id": "dad",
            "kind": "employer_group",
            "relationship": "child",
            "status": "active",
            "employer_size": 40,
            "start_date": "2010-07-01",
            "subscriber": {"first_name": "Tom", "birth_date": "1983-06-01"},
            "parent_role": None,
            "court_decree": False,
            "medicare_basis": None,
            "esrd_coordination_start": None,
        },
        {
            "id": "mom",
            "kind": "employer_group",
            "relationship": "child",
            "status": "active",
            "employer_size": 300,
            "start_date": "2019-01-01",
            "subscriber": {"first_name": "Jane", "birth_date": "1985-06-01"},
            "parent_role": None,
            "court_decree": False,
            "medicare_basis": None,
            "esrd_coordination_start": None,
        },
    ],
}


@pytest.fixture
def write(tmp_path):
    def _write(data, name="input.json"):
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return str(path)

    return _write


def run(command, *args):
    return CliRunner().invoke(command, list(args))


def test_order_json_decided_exit_0(write):
    result = run(order, write(PARENTS), "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"order", "decisions", "msp_type", "undetermined", "missing"}
    assert payload["order"] == ["dad", "mom"]  # same birthday June 1: dad's plan is older (NAIC)
    assert payload["undetermined"] is False and payload["missing"] == [] and payload["msp_type"] is None
    assert all(set(d) == {"rule", "explanation"} for d in payload["decisions"])


def test_order_clhia_rules_change_the_tie_break(write):
    result = run(order, write(PARENTS), "--format", "json", "--rules", "clhia")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["order"] == ["mom", "dad"]  # Jane before Tom


def test_order_json_with_msp_type(write):
    data = {
        "claim": {"service_date": "2025-04-02", "work_related": True},
        "patient": {"first_name": "Al"},
        "coverages": [{"id": "mcr", "kind": "medicare", "medicare_basis": "age"}, {"id": "wc", "kind": "workers_comp"}],
    }
    payload = json.loads(run(order, write(data), "--format", "json").stdout)
    assert payload["order"] == ["wc", "mcr"]
    assert payload["msp_type"] == "15"


def test_order_undetermined_exit_1_lists_missing_facts(write):
    data = json.loads(json.dumps(PARENTS))
    for c in data["coverages"]:
        c["subscriber"]["birth_date"] = None
    result = run(order, write(data), "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["undetermined"] is True
    assert payload["order"] == []
    assert payload["missing"] == ["coverages[dad].subscriber.birth_date", "coverages[mom].subscriber.birth_date"]


def test_order_text_lists_payers_then_reasons(write):
    result = run(order, write(PARENTS))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Order of benefits (NAIC rules):"
    assert lines[1:3] == ["  1. dad (employer_group)", "  2. mom (employer_group)"]
    assert "same birthday (June 1)" in result.stdout


def test_order_text_undetermined_says_so(write):
    data = json.loads(json.dumps(PARENTS))
    data["patient"]["parents"] = None
    result = run(order, write(data))
    assert result.exit_code == 1
    assert "UNDETERMINED" in result.stdout
    assert "  - patient.parents" in result.stdout


def test_order_bad_enum_exit_2_one_line_naming_file_and_field(write):
    data = json.loads(json.dumps(PARENTS))
    data["coverages"][1]["kind"] = "employer"
    path = write(data)
    result = run(order, path)
    assert result.exit_code == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert path in message
    assert 'coverages[1] (id "mom").kind' in message


def test_order_bad_date_exit_2(write):
    data = json.loads(json.dumps(PARENTS))
    data["claim"]["service_date"] = "04/02/2025"
    result = run(order, write(data))
    assert result.exit_code == 2
    assert "claim.service_date" in result.stderr


def test_order_unknown_field_is_bad_input(write):
    data = json.loads(json.dumps(PARENTS))
    data["coverages"][0]["employer_sise"] = 40
    result = run(order, write(data))
    assert result.exit_code == 2
    assert "employer_sise" in result.stderr


def test_order_duplicate_ids_exit_2(write):
    data = json.loads(json.dumps(PARENTS))
    data["coverages"][1]["id"] = "dad"
    result = run(order, write(data))
    assert result.exit_code == 2
    assert "unique" in result.stderr


def test_order_invalid_json_exit_2(write):
    path = write('{"claim": ')
    result = run(order, path)
    assert result.exit_code == 2
    assert path in result.stderr and "not valid JSON" in result.stderr


def test_order_missing_file_exit_2(tmp_path):
    result = run(order, str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "cannot read file" in result.stderr
    assert "Traceback" not in result.output


def test_order_schema_option_prints_the_input_schema():
    result = run(order, "--schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "coverages" in schema["properties"]


ESTIMATES = [
    {
        "claim_id": "C1",
        "charge": 150.00,
        "allowed": 100.00,
        "paid": 80.00,
        "coinsurance": 20.00,
        "contractual": 50.00,
        "secondary_allowed": 90.00,
        "terms": {"method": "standard", "plan_share": 0.80},
    },
    {
        "claim_id": "C2",
        "charge": "175.00",
        "allowed": "150.00",
        "paid": "120.00",
        "coinsurance": "30.00",
        "medicare_fee_schedule": "125.00",
        "terms": {"method": "medicare_secondary"},
    },
]


def test_estimate_json_exit_0(write):
    result = run(estimate, "--adjudication", write(ESTIMATES), "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["errors"] == []
    rows = {e["claim_id"]: e for e in payload["estimates"]}
    assert (rows["C1"]["secondary_pays"], rows["C1"]["patient_balance"]) == ("20.00", "0.00")
    assert (rows["C2"]["secondary_pays"], rows["C2"]["patient_balance"]) == ("30.00", "0.00")


def test_estimate_text(write):
    result = run(estimate, "--adjudication", write(ESTIMATES))
    assert result.exit_code == 0
    assert "C1: standard: next payer pays 20.00, patient balance 0.00 (was 20.00)" in result.stdout


def test_estimate_missing_fact_exit_1(write):
    rows = [dict(ESTIMATES[0], secondary_allowed=None)]
    result = run(estimate, "--adjudication", write(rows), "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["estimates"] == []
    assert payload["errors"][0]["claim_id"] == "C1"
    assert payload["errors"][0]["field"] == "secondary_allowed"


def test_estimate_bad_input_exit_2(write):
    rows = [dict(ESTIMATES[0], paid=-5)]
    path = write(rows)
    result = run(estimate, "--adjudication", path)
    assert result.exit_code == 2
    assert path in result.stderr and '[0] (id "C1").paid' in result.stderr


REMIT_835 = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *260301*1200*^*00501*000000001*0*P*:~"
    "GS*HP*PAYER*CLINIC*20260301*1200*1*X*005010X221A1~ST*835*0001~BPR*I*116*C*CHK************20260301~"
    "TRN*1*T1*1999999999~N1*PR*PRIMARY PLAN~N3*1 MAIN ST~N4*CITY*IL*60601~REF*2U*11111~"
    "PER*BL*EDI*TE*5555550100~N1*PE*NORTHWIND CLINIC*XX*1234567893~LX*1~"
    "CLP*PCN123*1*250*116*34*12*ICN987~NM1*QC*1*TESTER*ALEX****MI*PRIM123~"
    "SVC*HC:99214*200*100**1~CAS*CO*45*80~CAS*PR*3*20~REF*6R*L1~"
    "SVC*HC:87880:QW*50*16**2~CAS*CO*45*20~CAS*PR*1*10**2*4~REF*6R*L2~SE*21*0001~GE*1*1~IEA*1*000000001~")


def test_estimate_from_remit_and_roster(write):
    roster = {"coverages": [{"member_id": "PRIM123", "sequence": "S", "payer_name": "SECOND PAYER INC",
                             "payer_id": "SECPAY", "subscriber_last_name": "TESTER", "subscriber_id": "SEC1",
                             "relationship": "18", "filing_indicator": "CI",
                             "benefit_terms": {"method": "medigap", "medigap_plan": "G"}}]}
    result = run(estimate, "--remit", write(REMIT_835, "remit.835"), "--coverage", write(roster, "roster.json"),
                 "--format", "json")
    assert result.exit_code == 0, result.output
    (est,) = json.loads(result.stdout)["estimates"]
    # PR 34 = deductible (PR1) 10 + coinsurance (PR2) 4 + copay (PR3) 20; Medigap plan G leaves the Part B
    # deductible to the patient and pays coinsurance and copay: 4 + 20 = 24; the patient keeps 10
    assert est["claim_id"] == "PCN123"
    assert est["secondary_pays"] in ("24", "24.00")
    assert est["patient_balance"] in ("10", "10.00")


def test_estimate_bad_remit_is_a_located_usage_error(write):
    result = run(estimate, "--remit", write("ISA*...", "remit.835"))
    assert result.exit_code == 2
    assert "remit.835" in result.stderr and "ISA" in result.stderr


def test_estimate_needs_an_input():
    result = run(estimate)
    assert result.exit_code == 2
    assert "--adjudication" in result.stderr


# --- conventions: stdin, --quiet, --verbose, library calls ----------------------------------------


def test_order_reads_stdin():
    result = CliRunner().invoke(order, ["-", "--format", "json"], input=json.dumps(PARENTS))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["order"] == ["dad", "mom"]
    text = CliRunner().invoke(order, ["-"], input=json.dumps(PARENTS))
    assert text.stdout.splitlines()[1:3] == ["  1. dad (employer_group)", "  2. mom (employer_group)"]


def test_order_stdin_bad_input_names_stdin():
    result = CliRunner().invoke(order, ["-"], input='{"claim": ')
    assert result.exit_code == 2
    assert result.stderr == "cob order: <stdin>: not valid JSON: line 1 column 11: Expecting value\n"
    data = json.loads(json.dumps(PARENTS))
    data["coverages"][1]["kind"] = "employer"
    bad = CliRunner().invoke(order, ["-"], input=json.dumps(data))
    assert bad.exit_code == 2 and bad.stderr.startswith('cob order: <stdin>: field coverages[1] (id "mom").kind: ')


def test_order_quiet_prints_only_an_undetermined_order(write):
    decided = run(order, write(PARENTS), "-q")
    assert (decided.exit_code, decided.output) == (0, "")
    data = json.loads(json.dumps(PARENTS))
    data["patient"]["parents"] = None
    undetermined = run(order, write(data), "--quiet")
    assert undetermined.exit_code == 1 and "  - patient.parents" in undetermined.stdout
    as_json = run(order, write(PARENTS), "-q", "--format", "json")
    assert json.loads(as_json.stdout)["order"] == ["dad", "mom"]


def test_order_verbose_names_the_coverages(write):
    path = write(PARENTS)
    result = run(order, path, "-v")
    assert result.exit_code == 0
    assert result.stderr == f"{path}: 2 coverages (dad: employer_group, mom: employer_group), NAIC rules, 1 decisions\n"
    assert result.stdout == run(order, path).stdout  # the report itself is the same


def test_estimate_reads_stdin_and_quiet_keeps_only_problems():
    rows = [ESTIMATES[0], dict(ESTIMATES[1], claim_id="C3", medicare_fee_schedule=None)]
    result = CliRunner().invoke(estimate, ["--adjudication", "-", "--format", "json"], input=json.dumps(rows))
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [e["claim_id"] for e in payload["estimates"]] == ["C1"]
    assert payload["estimates"][0]["secondary_pays"] == "20.00"
    assert [(e["claim_id"], e["field"]) for e in payload["errors"]] == [("C3", "secondary_allowed")]
    quiet = CliRunner().invoke(estimate, ["--adjudication", "-", "-q"], input=json.dumps(rows))
    assert quiet.exit_code == 1
    assert quiet.stdout.splitlines() == [f"C3: not estimated: {payload['errors'][0]['message']}"]
    verbose = CliRunner().invoke(estimate, ["--adjudication", "-", "-v"], input=json.dumps(rows))
    assert verbose.stderr == "2 claims: 1 estimated, 1 not estimated\n"


def test_library_calls_behind_the_commands(tmp_path):
    from cob.rules.inputs import InputError, estimate_file, order_of_benefits
    from cob.schemas.order import RuleSet

    path = tmp_path / "facts.json"
    path.write_text(json.dumps(PARENTS))
    request, result = order_of_benefits(path, RuleSet.CLHIA)
    assert [c.id for c in request.coverages] == ["dad", "mom"] and result.order == ["mom", "dad"]
    found = estimate_file("rows.json", text=json.dumps(ESTIMATES))
    assert [(e.claim_id, str(e.secondary_pays)) for e in found.estimates] == [("C1", "20.00"), ("C2", "30.00")]
    with pytest.raises(InputError) as info:
        order_of_benefits(tmp_path / "missing.json")
    assert info.value.source == str(tmp_path / "missing.json") and "cannot read file" in info.value.message
