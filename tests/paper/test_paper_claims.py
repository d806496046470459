"""Paper secondary claims (issue 18): `cob secondary --paper` prints the CMS-1500 (02/12) and the prior payers'
EOBs instead of an 837P. Each PDF is read back with pypdf (`pdfread`): every string, at its (line, column)
cell of the form grid, is compared with values written out here by hand from the inputs.

Inputs, all hand-written:
- tests/data/original-claim.837 + primary-remit.835: PCN123, two lines (99214 200, 87880-QW 50), primary
  11111 paid 116 (CO-45 80, PR-3 20 / CO-45 20, PR-1 10, PR-2 4), secondary SECPAY;
- tests/paper/data/eight_lines.837/.835: EIGHT8, eight lines of 100, primary paid 60 a line (CO-45 20,
  PR-2 20, AMT*B6 80), claim-level CO-253 9.60, so CLP04 470.40; MOA MA01, LQ N130 on line 3; EFT trace
  EFT778899 of 03/05/2026;
- tests/scenarios/data/s13_tertiary*: S13 (150 + 50) with primary (paid 120, CLP07 PICN13) and secondary
  (paid 25, CLP07 SICN13) 835s, tertiary STATE MEDICAID 33333 (MC).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.edi.validate.findings import Finding
from conftest import DATA

from paper.pdfread import Page, read_pages

HERE = Path(__file__).parent / "data"
SCENARIOS = Path(__file__).parent.parent / "scenarios" / "data"
NOW = dt.datetime(2026, 4, 1, 8, 30)


def _run(tmp_path: Path, claims: list[Path], remits: list[Path], paper: set[str], proof: bool = False):
    out = tmp_path / "out"
    report = run_secondary(claims, remits, SecondaryOptions(out_dir=out, now=NOW, paper_payers=frozenset(paper),
                                                            paper_proof=proof))
    return report, out


#: the header boxes of PCN123 billed to SECPAY, as (line, column) -> text
PCN123_HEADER = {
    (2, 41): "SECOND PAYER INC",  # carrier block: the destination payer (no address in the claim)
    (8, 45): "X",  # 1: OTHER (SBR09 CI: commercial insurance)
    (8, 50): "SEC123456",  # 1a: the secondary policy's member id
    (10, 1): "TESTER, ALEX", (10, 31): "01", (10, 34): "01", (10, 37): "1980", (10, 47): "X",  # 2, 3 (F)
    (10, 50): "TESTER, ALEX",  # 4
    (12, 1): "1 ELM ST", (14, 1): "SPRINGFIELD", (14, 26): "IL", (16, 1): "62701",  # 5
    (12, 33): "X",  # 6: self
    (12, 50): "1 ELM ST", (14, 50): "SPRINGFIELD", (14, 74): "IL", (16, 50): "62701",  # 7
    (18, 1): "TESTER, ALEX",  # 9: the primary policy's insured
    (20, 1): "GRP1",  # 9a: its group number (SBR03)
    (26, 1): "PRIMARY PLAN",  # 9d: its plan (no SBR04: the payer's name)
    (20, 41): "X", (22, 41): "X", (24, 41): "X",  # 10a-c: NO
    (18, 50): "GRP200",  # 11
    (20, 53): "01", (20, 56): "01", (20, 59): "1980", (20, 75): "X",  # 11a
    (24, 50): "SECOND PAYER INC",  # 11c
    (26, 52): "X",  # 11d: YES
    (29, 7): "SIGNATURE ON FILE", (29, 55): "SIGNATURE ON FILE",  # 12 (CLM09 Y), 13 (CLM08 Y)
    (37, 42): "0", (38, 3): "J069", (38, 16): "R051",  # 21: ICD-10, A, B
    (56, 1): "123456789", (56, 19): "X",  # 25: EIN
    (56, 23): "PCN123",  # 26
    (56, 38): "X",  # 27: YES (CLM07 A)
    (60, 1): "SIGNATURE ON FILE",  # 31 (CLM06 Y)
    (58, 50): "NORTHWIND CLINIC", (59, 50): "100 MAIN ST", (60, 50): "SPRINGFIELD, IL 627010001",  # 33
    (61, 50): "1234567893",  # 33a
}


def _line(row: int, mm: str, dd: str, yy: str, pos: str, code: str, pointer: str, charge_col: int, charge: str,
          units: str, modifier: str | None = None) -> dict[tuple[int, int], str]:
    """One service line's 24A-G cells (written out per line by the tests; this only names the columns)."""
    cells = {(row, 1): mm, (row, 4): dd, (row, 7): yy, (row, 10): mm, (row, 13): dd, (row, 16): yy,
             (row, 19): pos, (row, 25): code, (row, 45): pointer, (row, charge_col): charge, (row, 59): units}
    if modifier:
        cells[(row, 33)] = modifier
    return cells


def test_two_line_secondary_every_box(tmp_path):
    report, out = _run(tmp_path, [DATA / "original-claim.837"], [DATA / "primary-remit.835"], {"SECPAY"})
    (outcome,) = report.claims
    assert (outcome.status, outcome.reason) == ("billed", "secondary_billed")
    pdf = out / "paper" / "SECPAY-000000001.pdf"
    assert outcome.output == str(pdf)
    assert report.summary.outputs == {str(pdf): 1}
    assert sorted(p.name for p in out.rglob("*")) == ["SECPAY-000000001.pdf", "paper"]  # no 837P, no temp file
    form, eob = read_pages(pdf)
    assert (form.kind, eob.kind) == ("form", "text")
    expected = dict(PCN123_HEADER)
    expected |= _line(44, "02", "15", "26", "11", "99214", "AB", 52, "200 00", "1")
    expected |= _line(46, "02", "15", "26", "11", "87880", "A", 53, "50 00", "2", modifier="QW")
    expected |= {(56, 54): "250 00", (56, 64): "116 00"}  # 28; 29: the primary paid 116
    assert form.cells == expected
    assert "PAYER CLAIM NUMBER (CLP07) ICN987" in eob.text


def test_eight_lines_take_two_forms_with_the_totals_on_the_last(tmp_path):
    report, out = _run(tmp_path, [HERE / "eight_lines.837"], [HERE / "eight_lines.835"], {"SECPAY"})
    (outcome,) = report.claims
    assert outcome.status == "billed", outcome.detail
    first, second, eob = read_pages(Path(outcome.output))
    assert [p.kind for p in (first, second, eob)] == ["form", "form", "text"]
    header = {
        (2, 41): "SECOND PAYER INC", (3, 41): "5 PAYER PLAZA", (5, 41): "DENVER, CO 80202",
        (8, 45): "X", (8, 50): "SEC123456", (10, 1): "TESTER, ALEX", (10, 31): "01", (10, 34): "01",
        (10, 37): "1980", (10, 47): "X", (10, 50): "TESTER, ALEX", (12, 1): "1 ELM ST", (14, 1): "SPRINGFIELD",
        (14, 26): "IL", (16, 1): "62701", (12, 33): "X", (12, 50): "1 ELM ST", (14, 50): "SPRINGFIELD",
        (14, 74): "IL", (16, 50): "62701", (18, 1): "TESTER, ALEX", (20, 1): "GRP1", (26, 1): "PRIMARY PLAN",
        (20, 41): "X", (22, 41): "X", (24, 41): "X", (18, 50): "GRP200", (20, 53): "01", (20, 56): "01",
        (20, 59): "1980", (20, 75): "X", (24, 50): "SECOND PAYER INC", (26, 52): "X",
        (29, 7): "SIGNATURE ON FILE", (29, 55): "SIGNATURE ON FILE",
        (37, 42): "0", (38, 3): "E119", (38, 16): "I10", (38, 29): "Z0000",  # 21: ICD-10, A-C
        (56, 1): "123456789", (56, 19): "X", (56, 23): "EIGHT8", (56, 38): "X", (60, 1): "SIGNATURE ON FILE",
        (58, 50): "NORTHWIND CLINIC", (59, 50): "100 MAIN ST", (60, 50): "SPRINGFIELD, IL 627010001",
        (61, 50): "1234567893",
    }
    page1 = dict(header)
    page1 |= _line(44, "02", "11", "26", "11", "99213", "A", 52, "100 00", "1")
    page1 |= _line(46, "02", "12", "26", "11", "36415", "AB", 52, "100 00", "1")
    page1 |= _line(48, "02", "13", "26", "11", "85025", "B", 52, "100 00", "1")
    page1 |= _line(50, "02", "14", "26", "11", "80053", "ABC", 52, "100 00", "1")
    page1 |= _line(52, "02", "15", "26", "11", "81002", "C", 52, "100 00", "1")
    page1 |= _line(54, "02", "16", "26", "11", "87880", "A", 52, "100 00", "1")
    assert first.cells == page1  # no 28 / 29 on the first form
    page2 = dict(header)
    page2 |= _line(44, "02", "17", "26", "11", "93000", "BC", 52, "100 00", "1")
    page2 |= _line(46, "02", "18", "26", "11", "90471", "C", 52, "100 00", "1")
    page2 |= {(56, 54): "800 00", (56, 64): "470 40"}  # 28: all eight lines; 29: CLP04 470.40
    assert second.cells == page2


def test_eob_page_with_claim_and_line_level_adjustments(tmp_path):
    report, _out = _run(tmp_path, [HERE / "eight_lines.837"], [HERE / "eight_lines.835"], {"SECPAY"})
    eob = read_pages(Path(report.claims[0].output))[2]
    lines = eob.text.splitlines()
    for expected in [
        "ATTACHED TO CLAIM EIGHT8 BILLED TO PAYER SECPAY",
        "PAYER              PRIMARY PLAN  (ID 11111)",
        "PAYMENT DATE       03/05/2026",  # BPR16
        "PAYMENT METHOD     ACH EFT (ACH)",  # BPR04
        "CHECK/EFT NUMBER   EFT778899",  # TRN02
        "TOTAL OF PAYMENT   470.40",  # BPR02
        "CLAIM              PATIENT ACCOUNT (CLP01) EIGHT8",
        "                   PAYER CLAIM NUMBER (CLP07) ICN8888",
        "                   CLAIM STATUS (CLP02) 1",
        "                           CHARGE       ALLOWED          PAID    PATIENT RESP (CLP05)",
        "CLAIM TOTAL                800.00        640.00        470.40                  160.00",
        "CLAIM ADJUSTMENTS  CO-253 9.60",  # claim-level CAS
        "CLAIM REMARKS  MA01",  # MOA
        "LN  DATE(S)               PROCEDURE        UNITS      CHARGE     ALLOWED        PAID     PT RESP",
        "3   02/13/2026            85025                1      100.00       80.00       60.00       20.00",
        "      REMARKS  N130",  # LQ*HE on line 3
        "GROUP CODES: CO CONTRACTUAL OBLIGATION  PR PATIENT RESPONSIBILITY  OA OTHER ADJUSTMENT",
        "EOB PAGE 1 OF 1",
    ]:
        assert expected in lines, expected
    # each line's CAS: group-reason amount, as codes (no CARC text)
    assert lines.count("      ADJUSTMENTS  CO-45 20.00  PR-2 20.00") == 8
    assert "8   02/18/2026            90471                1      100.00       80.00       60.00       20.00" in lines


def test_tertiary_boxes_9_carry_the_secondary_policy(tmp_path):
    report, out = _run(tmp_path, [SCENARIOS / "s13_tertiary.837"],
                       [SCENARIOS / "s13_tertiary_primary.835", SCENARIOS / "s13_tertiary_secondary.835"], {"33333"})
    outcome = next(c for c in report.claims if c.claim_id == "S13")
    assert (outcome.status, outcome.reason) == ("billed", "tertiary_billed")
    assert outcome.output == str(out / "paper" / "33333-000000001.pdf")
    form, eob1, eob2 = read_pages(Path(outcome.output))
    expected = {
        (2, 41): "STATE MEDICAID",  # carrier: the tertiary payer
        (8, 8): "X",  # 1: MEDICAID (SBR09 MC)
        (8, 50): "MCD000111",  # 1a: the tertiary policy's member id
        (10, 1): "TESTER, ALEX", (10, 31): "01", (10, 34): "01", (10, 37): "1980", (10, 47): "X",
        (10, 50): "TESTER, ALEX",
        (12, 1): "1 ELM ST", (14, 1): "SPRINGFIELD", (14, 26): "IL", (16, 1): "62701", (12, 33): "X",
        (12, 50): "1 ELM ST", (14, 50): "SPRINGFIELD", (14, 74): "IL", (16, 50): "62701",
        (18, 1): "TESTER, ALEX",  # 9: the secondary policy's insured
        (20, 1): "GRP200",  # 9a: the secondary policy's group (SBR03)
        (26, 1): "SECOND PAYER INC",  # 9d: the secondary plan
        (20, 41): "X", (22, 41): "X", (24, 41): "X",
        (20, 53): "01", (20, 56): "01", (20, 59): "1980", (20, 75): "X",  # 11a (11: the MC policy has no group)
        (24, 50): "STATE MEDICAID",  # 11c
        (26, 52): "X",  # 11d YES
        (29, 7): "SIGNATURE ON FILE", (29, 55): "SIGNATURE ON FILE",
        (37, 42): "0", (38, 3): "J069",
        (56, 1): "123456789", (56, 19): "X", (56, 23): "S13", (56, 38): "X",
        (56, 54): "200 00",  # 28
        (56, 64): "145 00",  # 29: primary 120 + secondary 25
        (60, 1): "SIGNATURE ON FILE",
        (58, 50): "NORTHWIND CLINIC", (59, 50): "100 MAIN ST", (60, 50): "SPRINGFIELD, IL 627010001",
        (61, 50): "1234567893",
    }
    expected |= _line(44, "02", "26", "26", "11", "99214", "A", 52, "150 00", "1")
    expected |= _line(46, "02", "26", "26", "11", "36415", "A", 53, "50 00", "1")
    assert form.cells == expected
    # an EOB per prior payer, in payer order
    assert "PAYER CLAIM NUMBER (CLP07) PICN13" in eob1.text and "PAYER              PRIMARY PLAN" in eob1.text
    assert "PAYER CLAIM NUMBER (CLP07) SICN13" in eob2.text
    assert "      ADJUSTMENTS  OA-23 120.00  PR-2 10.00" in eob2.text.splitlines()


def test_other_payers_still_get_their_837(tmp_path):
    report, out = _run(tmp_path, [DATA / "original-claim.837"], [DATA / "primary-remit.835"], {"OTHERPAYER"})
    (outcome,) = report.claims
    assert Path(outcome.output) == out / "SECPAY-000000001.837"
    assert not (out / "paper").exists()


def test_claim_failing_balancing_is_not_printed(tmp_path):
    remit = tmp_path / "unbalanced.835"
    # line 1: charge 200, paid 100, CO-45 70 + PR-3 20 = 190: the line does not balance
    remit.write_text((DATA / "primary-remit.835").read_text().replace("CAS*CO*45*80", "CAS*CO*45*70"))
    report, out = _run(tmp_path, [DATA / "original-claim.837"], [remit], {"SECPAY"})
    (outcome,) = report.claims
    assert outcome.status == "rejected" and outcome.output is None
    assert list(out.rglob("*.pdf")) == [] and list(out.rglob("*.837")) == []


def test_claim_failing_the_ig_gate_is_not_printed(tmp_path, monkeypatch):
    """The paper payer's claims are validated as an 837P like any other: an IG error inside the claim
    rejects it, and nothing is printed (nor left behind)."""
    import cob.billing.secondary as secondary

    def one_error(path: Path, parallel=None):
        return [Finding(snip=2, severity="error", code="segment_missing", message="a test problem", file=str(path),
                        segment_no=25, segment_id="CLM")]

    monkeypatch.setattr(secondary, "ig_errors", one_error)
    report, out = _run(tmp_path, [DATA / "original-claim.837"], [DATA / "primary-remit.835"], {"SECPAY"})
    (outcome,) = report.claims
    assert (outcome.status, outcome.reason, outcome.output) == ("rejected", "ig_invalid", None)
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_cli_paper_option_and_report(tmp_path):
    from click.testing import CliRunner

    from cob.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["secondary", "--claims", str(DATA / "original-claim.837"),
                                       "--remit", str(DATA / "primary-remit.835"), "--out", str(out),
                                       "--paper", "OTHER1,SECPAY", "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["claims"][0]["output"] == str(out / "paper" / "SECPAY-000000001.pdf")
    assert doc["summary"]["outputs"] == {str(out / "paper" / "SECPAY-000000001.pdf"): 1}
    assert read_pages(out / "paper" / "SECPAY-000000001.pdf")[0].cells[(56, 23)] == "PCN123"


def test_the_data_copy_draws_no_form_and_the_proof_copy_draws_the_boxes(tmp_path):
    """The pre-printed form gets data only (its red ink is the payer's); the proof copy adds the captions."""
    from pypdf import PdfReader

    _r, out = _run(tmp_path / "data", [DATA / "original-claim.837"], [DATA / "primary-remit.835"], {"SECPAY"})
    _r, proof = _run(tmp_path / "proof", [DATA / "original-claim.837"], [DATA / "primary-remit.835"], {"SECPAY"},
                     proof=True)
    data_text = PdfReader(str(out / "paper" / "SECPAY-000000001.pdf")).pages[0].extract_text()
    proof_text = PdfReader(str(proof / "paper" / "SECPAY-000000001.pdf")).pages[0].extract_text()
    assert "OTHER INSURED'S NAME" not in data_text
    assert "9. OTHER INSURED'S NAME" in proof_text and "33. BILLING PROVIDER INFO & PH #" in proof_text
    # the same data at the same cells in both
    assert read_pages(out / "paper" / "SECPAY-000000001.pdf")[0].cells == \
        read_pages(proof / "paper" / "SECPAY-000000001.pdf")[0].cells


def test_amount_wider_than_its_box_rejects_the_claim(tmp_path):
    """24F holds 99,999.99: a line of 200,000 cannot be printed, so the claim is rejected, not cut."""
    claim = tmp_path / "big.837"
    claim.write_text((DATA / "original-claim.837").read_text().replace("SV1*HC:99214*200*", "SV1*HC:99214*200000*")
                     .replace("CLM*PCN123*250*", "CLM*PCN123*200050*"))
    remit = tmp_path / "big.835"
    remit.write_text((DATA / "primary-remit.835").read_text().replace("CLP*PCN123*1*250*", "CLP*PCN123*1*200050*")
                     .replace("SVC*HC:99214*200*", "SVC*HC:99214*200000*").replace("CAS*CO*45*80", "CAS*CO*45*199880"))
    report, out = _run(tmp_path, [claim], [remit], {"SECPAY"})
    (outcome,) = report.claims
    assert (outcome.status, outcome.reason, outcome.output) == ("rejected", "write_failed", None)
    assert "amount 200000 has more than 5 dollar digits" in outcome.detail
    assert [p for p in out.rglob("*") if p.is_file()] == []
    # the same claim to an EDI payer is billed
    report, _out = _run(tmp_path / "edi", [claim], [remit], set())
    assert report.claims[0].status == "billed"


def test_a_long_eob_continues_on_numbered_pages():
    from cob.edi.reader import X12Reader
    from cob.paper.eob import LINES_PER_PAGE, eob_pages
    from cob.schemas.remit import ClaimPayment

    (payment,) = [p for p in X12Reader(HERE / "eight_lines.835") if isinstance(p, ClaimPayment)]
    payment.services = payment.services * 3  # 24 lines of 3-4 text lines each
    pages = eob_pages(payment, "EIGHT8", "SECPAY")
    assert len(pages) == 2
    assert all(len(page) <= LINES_PER_PAGE for page in pages)
    assert (pages[0][-1], pages[1][-1]) == ("EOB PAGE 1 OF 2", "EOB PAGE 2 OF 2")
    assert sum(line.startswith("      ADJUSTMENTS  CO-45 20.00  PR-2 20.00") for page in pages for line in page) == 24


def test_dates_referring_authorization_facility_and_rendering_boxes(tmp_path):
    """tests/paper/data/more_boxes.837 is original-claim.837 plus DTP*431 2026-02-01, REF*G1 AUTH777, 2310A
    referring REFER RITA (NPI 1111111112), 2310C NORTHWIND ANNEX 200 SIDE ST SPRINGFIELD IL 62702 (NPI
    2222222228) and a 2420A rendering NPI 3333333334 on line 1."""
    report, _out = _run(tmp_path, [HERE / "more_boxes.837"], [DATA / "primary-remit.835"], {"SECPAY"})
    (outcome,) = report.claims
    assert outcome.status == "billed", outcome.detail
    form = read_pages(Path(outcome.output))[0]
    expected = dict(PCN123_HEADER)
    expected |= {
        (32, 2): "02", (32, 5): "01", (32, 8): "2026", (32, 16): "431",  # 14: onset, qualifier 431
        (34, 1): "DN", (34, 4): "REFER, RITA", (34, 33): "1111111112",  # 17, 17b
        (40, 50): "AUTH777",  # 23
        (58, 23): "NORTHWIND ANNEX", (59, 23): "200 SIDE ST", (60, 23): "SPRINGFIELD, IL 62702",  # 32
        (61, 23): "2222222228",  # 32a
        (44, 68): "3333333334",  # 24J of line 1
    }
    expected |= _line(44, "02", "15", "26", "11", "99214", "AB", 52, "200 00", "1")
    expected |= _line(46, "02", "15", "26", "11", "87880", "A", 53, "50 00", "2", modifier="QW")
    expected |= {(56, 54): "250 00", (56, 64): "116 00"}
    assert form.cells == expected


def test_box_22_of_a_replacement_claim(tmp_path):
    """A replacement (CLM05-3 = 7, as `cob run` sends after a primary's reversal) carries its resubmission
    code and the original reference (REF*F8) in item 22."""
    from cob.edi.reader import read_claims
    from cob.paper.cms1500 import claim_forms
    from cob.schemas.segments import REF

    report, _out = _run(tmp_path, [DATA / "original-claim.837"], [DATA / "primary-remit.835"], set())
    (built,) = read_claims(report.claims[0].output)
    built.clm.location.frequency = "7"
    built.refs.append(REF(qualifier="F8", value="SECICN55"))
    (form,) = claim_forms(built)
    placed = {(p.line, p.col): p.text for p in form.fields}
    assert (placed[(38, 50)], placed[(38, 62)]) == ("7", "SECICN55")


def test_several_processes_print_the_same_pdf(tmp_path):
    """Workers lay out their own paper claims; the joined PDF is byte for byte the serial one."""
    sample = Path(__file__).resolve().parents[2] / "cob" / "fixtures" / "sample"
    claims = sorted(sample.glob("claims-*.837"))
    remits = sorted(sample.glob("*.835"))
    pdfs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        report = run_secondary(claims, remits, SecondaryOptions(out_dir=out, now=NOW, workers=workers,
                                                                paper_payers=frozenset({"77027", "63303"})))
        pdfs[workers] = {p.name: p.read_bytes() for p in (out / "paper").iterdir()}
        assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
        assert report.summary.outputs[str(out / "paper" / "77027-000000002.pdf")] == 9
    assert sorted(pdfs[1]) == ["63303-000000004.pdf", "77027-000000002.pdf"]
    assert pdfs[1] == pdfs[2]
    forms = [p for p in read_pages(tmp_path / "w2" / "paper" / "77027-000000002.pdf") if p.kind == "form"]
    assert len({p.cells[(56, 23)] for p in forms}) == 9  # item 26: nine different claims
