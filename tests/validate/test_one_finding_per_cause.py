"""Issue 15 clause 5: one finding per cause, on hand-written files.

- a file that is not 005010 (ISA12 00401) -- here also indented -- is one finding, `version_not_supported`
  at the ISA, worded "not supported" (not "not a valid code"), and nothing after it is checked;
- an indented 005010 file gets one `leading_space` per transaction set, not one per line;
- GS08 005010X222A2 is one finding, not "not a valid code" besides "not supported";
- an NPI field holding letters is "not a 10-digit NPI", not a check-digit error;
- `cob parse` refuses an 837D, or an 837I of another errata than X223A2 (issue 16 reads X223A2), with
  "transaction not supported" (not a model error), and ISA12 00501
  with GS08 004010X098A1 is refused by the reader as the validator refuses it.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cob.cli import main
from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader
from cob.edi.validate import validate_file

DATA = Path(__file__).parent.parent / "data"
REMIT = (DATA / "primary-remit.835").read_text()
CLAIM = (DATA / "cob-claim.837").read_text()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _found(result) -> list[tuple[str, int | None, str]]:
    return [(f.code, f.segment_no, f.message) for f in result.findings]


def test_4010_indented_file_is_one_finding(tmp_path):
    # an 835 of version 4010, indented by two spaces a level: 27 segments, every one "wrong" for 5010
    lines = REMIT.replace("*00501*", "*00401*").replace("005010X221A1", "004010X091A1").splitlines()
    text = "\n".join(lines[:1] + ["  " + ln for ln in lines[1:]]) + "\n"
    result = validate_file(_write(tmp_path, "old.835", text))
    assert _found(result) == [
        ("version_not_supported", 1, "ISA12 00401: X12 version 00401 is not supported; cob reads 005010 "
                                     "(ISA12 00501) only, so nothing in this interchange is read")]
    [f] = result.findings
    assert (f.element, f.ta1, f.segment_id) == ("ISA12", "017", "ISA")
    assert result.segments == 27


def test_unsupported_interchange_then_a_good_one_is_read(tmp_path):
    # the second interchange is 005010 and clean: only the first one's finding
    old = REMIT.replace("*00501*", "*00401*").replace("005010X221A1", "004010X091A1")
    good = REMIT.replace("000000001", "000000002")
    result = validate_file(_write(tmp_path, "two.835", old + good))
    assert [(f.code, f.segment_no) for f in result.findings] == [("version_not_supported", 1)]
    assert result.claims == 1  # the 005010 interchange's claim was read


def test_indented_5010_file_is_one_leading_space_per_set(tmp_path):
    lines = REMIT.splitlines()
    text = "\n".join(lines[:1] + ["    " + ln for ln in lines[1:]]) + "\n"
    result = validate_file(_write(tmp_path, "indented.835", text))
    # segment 2 (GS) is outside any set; segment 4 (BPR) is the set's first indented segment after ST
    assert [(f.code, f.segment_no, f.ik3) for f in result.findings] == [
        ("leading_space", 2, "1"), ("leading_space", 4, "1")]
    assert result.findings[0].message.startswith("segment starts with a space (indented;")


def test_gs08_x222a2_is_one_finding(tmp_path):
    text = CLAIM.replace("005010X222A1", "005010X222A2")
    result = validate_file(_write(tmp_path, "a2.837", text))
    assert _found(result) == [
        ("version_not_supported", 2, "GS08 005010X222A2 is not supported; supported: 005010X222A1 (837P), "
                                     "005010X223A2 (837I), 005010X221A1 (835), 005010X231A1 (999)")]


def test_npi_with_letters_is_not_a_10_digit_npi(tmp_path):
    text = CLAIM.replace("NM1*85*2*NORTHWIND CLINIC*****XX*1234567893~", "NM1*85*2*NORTHWIND CLINIC*****XX*12345ABCDE~")
    result = validate_file(_write(tmp_path, "npi.837", text))
    assert [(f.code, f.message, f.element) for f in result.findings if f.snip == 5] == [
        ("npi_format", "NM109 is not a 10-digit NPI", "NM109")]


def test_npi_with_a_wrong_check_digit_is_still_a_check_digit_error(tmp_path):
    # 1234567893 is valid (CMS example); 1234567890 fails the Luhn check
    text = CLAIM.replace("XX*1234567893~", "XX*1234567890~")
    result = validate_file(_write(tmp_path, "npi.837", text))
    assert [(f.code, f.message) for f in result.findings] == [("npi_check_digit", "NPI check digit is wrong in NM109")]


def _institutional(gs08: str) -> str:
    # an 837 header in a group of another guide: the reader must refuse at ST, before any model is built
    return CLAIM.replace("005010X222A1", gs08)


def test_cob_parse_refuses_837d_and_an_837i_of_another_errata(tmp_path):
    for gs08, what in (("005010X223A1", "837I of another errata than X223A2"), ("005010X224A2", "837D (dental)")):
        path = _write(tmp_path, f"{gs08}.837", _institutional(gs08))
        result = CliRunner().invoke(main, ["parse", str(path)])
        assert result.exit_code == 1
        assert f"segment 3 (ST): transaction not supported: 837 in a group whose GS08 {gs08} ({what}) is not " \
               "supported; supported: 005010X222A1 (837P), 005010X223A2 (837I), 005010X221A1 (835)" in result.output
        assert "validation error" not in result.output.lower()


def test_gs08_4010_in_a_5010_interchange_is_refused_by_reader_and_validator(tmp_path):
    path = _write(tmp_path, "mixed.837", CLAIM.replace("005010X222A1", "004010X098A1"))
    try:
        list(X12Reader(path))
    except X12SyntaxError as exc:
        err = exc.error
    else:
        raise AssertionError("the reader read a 004010 group")
    assert (err.code, err.segment_no) == ("transaction_not_supported", 3)
    assert "GS08 004010X098A1 (837P of version 4010) is not supported" in err.message
    result = validate_file(path)
    assert [(f.code, f.segment_no) for f in result.findings] == [("version_not_supported", 2)]
    assert result.findings[0].message.startswith("GS08 004010X098A1 (837P of version 4010) is not supported")


def test_indented_file_of_an_unsupported_guide_is_two_causes_two_findings(tmp_path):
    # indented (one cause, said at the first indented segment) and GS08 X222A2 (the other): nothing inside
    # the set of a guide that is not checked is reported
    lines = CLAIM.replace("005010X222A1", "005010X222A2").splitlines()
    text = "\n".join(lines[:1] + ["  " + ln for ln in lines[1:]]) + "\n"
    result = validate_file(_write(tmp_path, "a2.837", text))
    assert [(f.code, f.segment_no) for f in result.findings] == [("leading_space", 2), ("version_not_supported", 2)]
