"""`cob run` with 837P and 837I files mixed in one drop: told apart by content (the files' names say
nothing), billed by the same code as `cob secondary`, one output file per destination payer and type."""

from __future__ import annotations

from pathlib import Path
from shutil import copy as shutil_copy

from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.edi.reader import X12Reader
from cob.edi.validate import validate_file

from pyx12_oracle import pyx12_validate

from .conftest import NOW

DATA = Path(__file__).parent.parent / "data"
INST = DATA / "institutional"


def _drop(folder: Path) -> Path:
    """Claims and remittances under neutral names: only their content says 837P, 837I or 835."""
    folder.mkdir()
    for i, src in enumerate([DATA / "original-claim.837", INST / "inpatient.837i", DATA / "primary-remit.835",
                             INST / "inpatient-primary.835"]):
        (folder / f"in-{i}.837").write_bytes(src.read_bytes())  # (the drop takes .835/.837 names)
    return folder


def _claims(folder: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for f in sorted(folder.iterdir()):
        for claim in X12Reader(f):
            out[claim.claim_id] = (f.suffix, type(claim).__name__)
    return out


def test_run_bills_837p_and_837i_from_one_drop(make_site, tmp_path):
    site = make_site()
    site.drop(_drop(tmp_path / "drop"))
    result = site.run(validate=True)
    assert result.exit_code == 0
    assert {(c.claim_id, c.status.value, c.reason) for c in result.report.claims} == {
        ("PCN123", "billed", "secondary_billed"), ("INP100", "billed", "secondary_billed")}
    names = sorted(p.name for p in site.outbox.iterdir())
    assert names == ["SECPAY-000000001.837i", "SECPAY-000000002.837"]  # (a run bills in CLM01 order)
    assert _claims(site.outbox) == {"PCN123": (".837", "Claim"), "INP100": (".837i", "InstitutionalClaim")}
    for path in site.outbox.iterdir():  # both pass cob validate and pyx12 (X222A1 / X223A2 maps)
        assert not validate_file(path).errors
        ok, errors = pyx12_validate(path)
        assert ok, (path.name, errors[:3])
    # the same claims as `cob secondary` builds from the same files
    drop = tmp_path / "drop"
    secondary = tmp_path / "secondary"
    run_secondary(sorted(drop.glob("in-[01].837")), sorted(drop.glob("in-[23].837")),
                  SecondaryOptions(out_dir=secondary, now=NOW))
    ours = {c.claim_id: c.model_dump(mode="json", exclude={"header", "source", "billing_provider", "subscriber",
                                                            "patient"})
            for f in sorted(site.outbox.iterdir()) for c in X12Reader(f)}
    theirs = {c.claim_id: c.model_dump(mode="json", exclude={"header", "source", "billing_provider",
                                                              "subscriber", "patient"})
              for f in sorted(secondary.glob("*.837*")) for c in X12Reader(f)}
    assert ours == theirs
    again = site.run()
    assert again.exit_code == 0 and again.report.summary.claims == 0


SECONDARY_835 = """ISA*00*          *00*          *ZZ*SECPAYER       *ZZ*HOSPITAL       *260405*1200*^*00501*000000411*0*P*:~
GS*HP*SECPAYER*HOSPITAL*20260405*1200*411*X*005010X221A1~
ST*835*0001~
BPR*I*48*C*CHK************20260405~
TRN*1*T411*1999999999~
N1*PR*SECOND PAYER INC~
N3*2 MAIN ST~
N4*CITY*IL*60601~
REF*2U*SECPAY~
PER*BL*EDI*TE*5555550100~
N1*PE*NORTHWIND HOSPITAL*XX*1234567893~
LX*1~
CLP*OUT200*2*800*48*12*12*SECICN2*13*1~
NM1*QC*1*TESTER*ALEX****MI*SEC123~
SVC*HC:85025*100*0*0305*1~
DTM*472*20260310~
CAS*OA*23*100~
REF*6R*O1~
SVC*NU:0450*500*48**1~
DTM*472*20260310~
CAS*OA*23*440~
CAS*PR*1*12~
REF*6R*O2~
SVC*HC:71046*200*0*0320*1~
DTM*472*20260310~
CAS*OA*23*200~
REF*6R*O3~
SE*26*0001~
GE*1*411~
IEA*1*000000411~
"""


def test_the_secondary_835_of_an_837i_gives_its_patient_balance_per_line(make_site, tmp_path):
    """Issue 17 over an 837I (issue 16), night by night. OUT200 (outpatient, charge 800: 0305 85025 100, 0450
    500, 0320 71046 200); the primary paid 340 (80 + 260 + 0) and left PR 2 60 on the 0450 line; the
    secondary (SECPAY) pays 48 of it and leaves PR 1 12. The patient owes 12 (the last payer's PR), the
    provider writes off 800 - 340 - 48 - 12 = 400; an 837I line without a HCPCS is named by its revenue code."""
    import csv
    import datetime as dt
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "scenarios"))  # the scenario's hand-written 837I
    from scenarios.test_institutional_scenarios import _837_HEAD, OUTPATIENT_837I, x12

    site = make_site()
    (site.inbox / "outpatient.837").write_text(x12(_837_HEAD, OUTPATIENT_837I, 220))
    shutil_copy(INST / "outpatient-primary.835", site.inbox / "outpatient-primary.835")
    first = site.run(now=dt.datetime(2026, 3, 26, 1, 30))
    assert first.exit_code == 0, first.errors
    assert [(c.claim_id, c.status.value, c.destination_payer) for c in first.report.claims] == [
        ("OUT200", "billed", "SECPAY")]
    (site.inbox / "secondary.835").write_text(SECONDARY_835)
    second = site.run(now=dt.datetime(2026, 4, 6, 1, 30))
    assert second.exit_code == 0, second.errors
    assert second.report.run.after_payment["balances_final"] == [
        {"claim_id": "OUT200", "patient_owes": "12", "last_payer": "SECPAY"}]
    stem = second.report_path.name.removeprefix("run-").removesuffix(".json")
    rows = list(csv.DictReader((site.root / "reports" / f"patient-balances-{stem}.csv").open()))
    secondary_lines = [(r["line"], r["procedure"], r["charge"], r["paid"], r["patient_owes"], r["write_off"])
                       for r in rows if r["line"] != "" and r["payer"] == "SECPAY"]
    assert secondary_lines == [("1", "85025", "100", "0", "0", "20"),
                               ("2", "0450", "500", "48", "12", "180"),
                               ("3", "71046", "200", "0", "0", "200")]
    (claim_row,) = [r for r in rows if r["line"] == "" and r["payer"] == "SECPAY"]
    assert (claim_row["paid"], claim_row["patient_owes"], claim_row["write_off"]) == ("48", "12", "400")
    assert {(r["service_from"], r["service_to"]) for r in rows} == {("2026-03-10", "2026-03-10")}


INPATIENT_SECONDARY_835 = """ISA*00*          *00*          *ZZ*SECPAYER       *ZZ*HOSPITAL       *260405*1200*^*00501*000000412*0*P*:~
GS*HP*SECPAYER*HOSPITAL*20260405*1200*412*X*005010X221A1~
ST*835*0001~
BPR*I*1000*C*CHK************20260405~
TRN*1*T412*1999999999~
N1*PR*SECOND PAYER INC~
N3*2 MAIN ST~
N4*CITY*IL*60601~
REF*2U*SECPAY~
PER*BL*EDI*TE*5555550100~
N1*PE*NORTHWIND HOSPITAL*XX*1234567893~
LX*1~
CLP*INP100*2*12000*1000*600*12*SECICN1*11*1**280~
CAS*OA*23*10400~
CAS*PR*1*600~
NM1*QC*1*TESTER*ALEX****MI*SEC123~
DTM*232*20260301~
DTM*233*20260305~
SE*17*0001~
GE*1*412~
IEA*1*000000412~
"""


def test_an_inpatient_stays_balance_is_dated_by_its_statement_period(make_site):
    """INP100 (inpatient, 2026-03-01 to 03-05 in DTP*434, charge 12000; only one of its three lines carries a
    DTP*472, 03-02): the primary paid 8400 at claim level (DRG) and left PR 1 1600; the secondary pays 1000 and
    leaves PR 1 600 (OA 23 10400 = the primary's impact). The patient owes 600; the balance is dated by the stay,
    not by the one dated line; the 835s have no SVC, so the lines are not itemized and the JSON says why."""
    import csv
    import datetime as dt
    import json

    site = make_site()
    shutil_copy(INST / "inpatient.837i", site.inbox / "inpatient.837")
    shutil_copy(INST / "inpatient-primary.835", site.inbox / "inpatient-primary.835")
    first = site.run(now=dt.datetime(2026, 3, 21, 1, 30))
    assert first.exit_code == 0, first.errors
    assert [(c.claim_id, c.status.value) for c in first.report.claims] == [("INP100", "billed")]
    (site.inbox / "secondary.835").write_text(INPATIENT_SECONDARY_835)
    second = site.run(now=dt.datetime(2026, 4, 6, 1, 30))
    assert second.exit_code == 0, second.errors
    assert second.report.run.after_payment["balances_final"] == [
        {"claim_id": "INP100", "patient_owes": "600", "last_payer": "SECPAY"}]
    stem = second.report_path.name.removeprefix("run-").removesuffix(".json")
    rows = list(csv.DictReader((site.root / "reports" / f"patient-balances-{stem}.csv").open()))
    assert {(r["service_from"], r["service_to"]) for r in rows} == {("2026-03-01", "2026-03-05")}
    assert [r for r in rows if r["line"] != ""] == []  # no SVC from either payer: per-line figures would be false
    (claim_row,) = [r for r in rows if r["payer"] == "SECPAY"]
    assert (claim_row["paid"], claim_row["patient_owes"], claim_row["write_off"]) == ("1000", "600", "2000")
    (balance,) = json.loads((site.root / "reports" / f"patient-balances-{stem}.json").read_text())["balances"]
    assert balance["note"] == "lines not itemized: a payer adjudicated the claim as a whole (no SVC, e.g. a DRG stay)"
