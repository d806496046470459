"""Coverage roster: JSON and CSV loading, lookup by claim id and member id, and errors without PHI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from cob.schemas.codes import ClaimFilingIndicator, IndividualRelationship, MedicareSecondaryType, PayerSequence
from cob.schemas.coverage import CoverageRoster, RosterCoverage, RosterError, load_roster

SECONDARY = {
    "member_id": "PRIM123", "sequence": "S", "payer_name": "SECOND PAYER INC", "payer_id": "SECPAY",
    "subscriber_last_name": "TESTER", "subscriber_first_name": "ALEX", "subscriber_id": "SEC123456",
    "relationship": "18", "group_number": "GRP200", "filing_indicator": "CI",
}
TERTIARY = {
    "claim_id": "PCN123", "sequence": "T", "payer_name": "STATE MEDICAID", "payer_id": "MCD01",
    "subscriber_last_name": "TESTER", "subscriber_id": "M0001", "relationship": "18", "filing_indicator": "MC",
}
PHI = ("TESTER", "ALEX", "PRIM123", "SEC123456", "M0001", "1980")


def write_json(tmp_path: Path, *coverages: dict, name: str = "roster.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"coverages": list(coverages)}))
    return path


def write_csv(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def roster_error(path: Path) -> RosterError:
    with pytest.raises(RosterError) as info:
        load_roster(path)
    for phi in PHI:
        assert phi not in str(info.value)
    return info.value


# ------------------------------------------------------------------------------------------- JSON


def test_json_roster_loads_typed_fields(tmp_path: Path):
    terms = {"method": "standard", "plan_share": 0.80}
    path = write_json(tmp_path, {**SECONDARY, "benefit_terms": terms, "subscriber_birth_date": "1980-01-01"},
                      TERTIARY)
    roster = load_roster(path)
    assert isinstance(roster, CoverageRoster) and len(roster) == 2 and roster.source == str(path)
    sec, ter = roster.coverages
    assert sec.sequence is PayerSequence.SECONDARY
    assert sec.relationship is IndividualRelationship.SELF
    assert sec.filing_indicator is ClaimFilingIndicator.COMMERCIAL
    assert sec.payer_id_qualifier == "PI" and sec.subscriber_id_qualifier == "MI"
    assert sec.subscriber_birth_date == dt.date(1980, 1, 1)
    assert sec.benefit_terms == {"method": "standard", "plan_share": Decimal("0.80")}  # money stays exact
    assert isinstance(sec.benefit_terms["plan_share"], Decimal)
    assert ter.member_id is None and ter.group_number is None and ter.medicare_secondary_type is None


def test_lookup_by_member_id(tmp_path: Path):
    roster = load_roster(write_json(tmp_path, SECONDARY))
    assert [c.payer_id for c in roster.lookup("ANYCLAIM", "PRIM123")] == ["SECPAY"]
    assert roster.lookup("ANYCLAIM", "OTHER") == []
    assert roster.lookup("ANYCLAIM", None) == []


def test_lookup_by_claim_id_overrides_member_entries(tmp_path: Path):
    roster = load_roster(write_json(tmp_path, SECONDARY, TERTIARY))
    # PCN123 has a claim-specific entry, so the member's standing entries do not apply to it.
    assert [c.payer_id for c in roster.lookup("PCN123", "PRIM123")] == ["MCD01"]
    assert [c.payer_id for c in roster.lookup("PCN123", None)] == ["MCD01"]
    # Any other claim of that member uses the member's entries.
    assert [c.payer_id for c in roster.lookup("PCN999", "PRIM123")] == ["SECPAY"]


def test_lookup_sorted_by_sequence(tmp_path: Path):
    tertiary = {**TERTIARY, "claim_id": "PCN123"}
    secondary = {**SECONDARY, "member_id": None, "claim_id": "PCN123"}
    roster = load_roster(write_json(tmp_path, tertiary, secondary))
    assert [c.sequence.value for c in roster.lookup("PCN123", "PRIM123")] == ["S", "T"]


def test_entry_with_both_keys_needs_both_to_match(tmp_path: Path):
    both = {**TERTIARY, "member_id": "PRIM123"}
    other_member = {**SECONDARY, "member_id": "B2", "payer_id": "B2PAY"}
    roster = load_roster(write_json(tmp_path, both, SECONDARY, other_member))
    assert [c.payer_id for c in roster.lookup("PCN123", "PRIM123")] == ["MCD01"]
    # The same claim id for another member (a reused patient control number) does not pick it up,
    # and that member's own entries apply instead.
    assert [c.payer_id for c in roster.lookup("PCN123", "B2")] == ["B2PAY"]
    assert roster.lookup("PCN123", "NOBODY") == []


def test_medicare_secondary_type(tmp_path: Path):
    medicare = {**TERTIARY, "sequence": "S", "filing_indicator": "MB", "medicare_secondary_type": "12",
                "payer_name": "MEDICARE", "payer_id": "MCR01"}
    (cov,) = load_roster(write_json(tmp_path, medicare)).coverages
    assert cov.medicare_secondary_type is MedicareSecondaryType.WORKING_AGED


def test_model_validates_directly():
    cov = RosterCoverage.model_validate({**SECONDARY, "subscriber_birth_date": "19800101"})
    assert cov.subscriber_birth_date == dt.date(1980, 1, 1)
    assert cov.applies_to("X", "PRIM123") and not cov.applies_to("X", "OTHER")


# ------------------------------------------------------------------------------------------- CSV

CSV_TEXT = (
    "claim_id,member_id,sequence,payer_name,payer_id,subscriber_last_name,subscriber_first_name,"
    "subscriber_id,relationship,group_number,filing_indicator,subscriber_birth_date,benefit_terms\n"
    ',PRIM123,S,SECOND PAYER INC,SECPAY,TESTER,ALEX,SEC123456,18,GRP200,CI,19800101,"{""method"": ""standard"", '
    '""plan_share"": 0.80}"\n'
    "\n"
    "PCN123,,T,STATE MEDICAID,MCD01,TESTER,,M0001,19,,MC,,\n"
)


def test_csv_roster_loads_same_fields(tmp_path: Path):
    roster = load_roster(write_csv(tmp_path, CSV_TEXT))
    sec, ter = roster.coverages
    assert sec.claim_id is None and sec.member_id == "PRIM123"
    assert sec.subscriber_birth_date == dt.date(1980, 1, 1)
    assert sec.benefit_terms == {"method": "standard", "plan_share": Decimal("0.80")}
    assert ter.claim_id == "PCN123" and ter.member_id is None
    assert ter.subscriber_first_name is None and ter.group_number is None and ter.benefit_terms is None
    assert ter.relationship is IndividualRelationship.CHILD
    assert [c.payer_id for c in roster.lookup("PCN123", "PRIM123")] == ["MCD01"]
    assert [c.payer_id for c in roster.lookup("PCN777", "PRIM123")] == ["SECPAY"]


def test_csv_with_excel_bom_and_spaces(tmp_path: Path):
    text = ("\ufeffmember_id, sequence ,payer_name,payer_id,subscriber_last_name,subscriber_id,relationship,"
            "filing_indicator\nPRIM123, S ,SECOND PAYER INC,SECPAY,TESTER,SEC123456,18,CI\n")
    (cov,) = load_roster(write_csv(tmp_path, text)).coverages
    assert cov.sequence is PayerSequence.SECONDARY


def test_format_sniffed_without_suffix(tmp_path: Path):
    path = tmp_path / "roster.txt"
    path.write_text(json.dumps({"coverages": [SECONDARY]}))
    assert len(load_roster(path)) == 1
    path.write_text(CSV_TEXT)
    assert len(load_roster(path)) == 2


# ------------------------------------------------------------------------------------------- errors


def test_csv_error_names_line_and_field(tmp_path: Path):
    text = CSV_TEXT.replace("PCN123,,T,", "PCN123,,X,")
    err = roster_error(write_csv(tmp_path, text))
    assert err.where == 4 and err.path.endswith("roster.csv")
    assert str(err).startswith(f"{err.path}: line 4: sequence: Input should be 'P', 'S', 'T'")


def test_csv_missing_required_field(tmp_path: Path):
    text = CSV_TEXT.replace("SECOND PAYER INC,SECPAY,TESTER,ALEX,SEC123456", "SECOND PAYER INC,SECPAY,TESTER,ALEX,")
    err = roster_error(write_csv(tmp_path, text))
    assert (err.where, err.message) == (2, "subscriber_id: Field required")


def test_csv_unknown_column(tmp_path: Path):
    err = roster_error(write_csv(tmp_path, CSV_TEXT.replace("group_number", "group_nmuber")))
    assert (err.where, err.message) == (1, "unknown column(s): group_nmuber")


def test_csv_bad_benefit_terms_and_extra_cells(tmp_path: Path):
    err = roster_error(write_csv(tmp_path, CSV_TEXT.replace('""plan_share"": 0.80}', '""plan_share"": }')))
    assert err.where == 2 and err.message.startswith("benefit_terms: not valid JSON")
    err = roster_error(write_csv(tmp_path, CSV_TEXT.replace("MC,,\n", "MC,,,EXTRA\n")))
    assert (err.where, err.message) == (4, "more cells than header columns")


def test_json_entry_without_key(tmp_path: Path):
    keyless = {k: v for k, v in SECONDARY.items() if k != "member_id"}
    err = roster_error(write_json(tmp_path, TERTIARY, keyless))
    assert err.where == 1
    assert str(err) == f"{err.path}: coverages[1]: each coverage needs claim_id or member_id (or both)"


def test_json_bad_values_are_not_echoed(tmp_path: Path):
    bad = {**SECONDARY, "subscriber_birth_date": "1980-13-45", "relationship": "ALEX", "subscriber_gender": "X"}
    err = roster_error(write_json(tmp_path, bad))
    assert "subscriber_birth_date:" in err.message and "relationship:" in err.message
    assert "subscriber_gender:" in err.message


def test_json_unknown_field(tmp_path: Path):
    err = roster_error(write_json(tmp_path, {**SECONDARY, "payer_idd": "X"}))
    assert err.message == "payer_idd: Extra inputs are not permitted"


def test_json_numbers_are_not_ids(tmp_path: Path):
    # 01234 would lose its leading zero as a number; ids must be strings.
    err = roster_error(write_json(tmp_path, {**SECONDARY, "payer_id": 1234}))
    assert err.message == "payer_id: Input should be a valid string"


def test_sequence_u_and_misplaced_msp_type(tmp_path: Path):
    err = roster_error(write_json(tmp_path, {**SECONDARY, "sequence": "U"}))
    assert "sequence U" in err.message
    err = roster_error(write_json(tmp_path, {**SECONDARY, "medicare_secondary_type": "12"}))
    assert err.message == "medicare_secondary_type is only for a Medicare payer (filing_indicator MA or MB)"
    err = roster_error(write_json(tmp_path, {**SECONDARY, "sequence": "P", "filing_indicator": "MB",
                                             "medicare_secondary_type": "12"}))
    assert err.message == "medicare_secondary_type is only for Medicare when it is not primary"


def test_conflicting_entries(tmp_path: Path):
    err = roster_error(write_json(tmp_path, SECONDARY, {**SECONDARY, "payer_id": "OTHER"}))
    assert (err.where, err.message) == (1, "another coverage for the same claim or member has sequence S")
    err = roster_error(write_json(tmp_path, TERTIARY, {**TERTIARY, "member_id": "PRIM123"}))
    assert err.where == 1
    # A claim id reused for two different members is not a conflict.
    ok = load_roster(write_json(tmp_path, {**TERTIARY, "member_id": "A1"}, {**TERTIARY, "member_id": "B2"}))
    assert [c.member_id for c in ok.lookup("PCN123", "B2")] == ["B2"]


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("{not json", "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ('{"coverage": []}', 'expected a JSON object {"coverages": [...]}'),
    ('{"coverages": [], "version": 2}', "unknown top-level key(s): version"),
    ('{"coverages": ["PRIM123"]}', "expected an object with coverage fields"),
])
def test_bad_json_files(tmp_path: Path, content: str, message: str):
    path = tmp_path / "roster.json"
    path.write_text(content)
    assert roster_error(path).message == message


def test_unreadable_file(tmp_path: Path):
    err = roster_error(tmp_path / "missing.json")
    assert err.where is None and err.message.startswith("cannot read the file")
    path = tmp_path / "latin1.csv"
    path.write_bytes("member_id\nM\xfcller\n".encode("latin-1"))
    assert roster_error(path).message == "not UTF-8 text"
