"""The morning report pages (issue 20): a run page and the index over several nights, `cob status --format
html`, rendered from real runs and from hand-written reports, read back by parsing the HTML."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cob.cli import main
from cob.run.page import night_rows, render_index, render_run_page

from .pagetools import assert_self_contained, has_table, headers, parse, section_order, section_text, table

NIGHTS = [dt.datetime(2026, 3, 1, 1, 30), dt.datetime(2026, 3, 2, 1, 30), dt.datetime(2026, 3, 3, 1, 30)]


def three_nights(site, sample_set: Path):
    """Night 1: the claim files and a stray text file (claims wait for their 835s, the text file is
    quarantined). Night 2: the 835s (21 billed, 2 skipped, 1 held for a person). Night 3: nothing new."""
    for f in sorted(sample_set.glob("claims-*.837")):
        shutil.copy(f, site.inbox / f.name)
    (site.inbox / "notes.txt").write_text("hello")
    first = site.run(now=NIGHTS[0])
    site.drop(sample_set, "*.835")
    second = site.run(now=NIGHTS[1])
    third = site.run(now=NIGHTS[2])
    return first, second, third


@pytest.mark.parametrize("backend", ["sqlite"])
def test_three_nights_write_a_page_each_and_an_index(make_site, sample_set):
    site = make_site()
    first, second, third = three_nights(site, sample_set)
    reports = site.root / "reports"
    assert [r.page_path for r in (first, second, third)] == [
        reports / "run-20260301T013000-1.html", reports / "run-20260302T013000-2.html",
        reports / "run-20260303T013000-3.html"]

    # night 1: nothing needs a person but the quarantined file; 24 claims wait for their 835s
    doc = parse(first.page_path.read_text())
    assert section_order(doc) == ["needs-a-person", "what-went-out", "what-waits", "inputs-and-timings"]
    assert not has_table(doc, "person-claims")
    [(name, reason, moved_to)] = table(doc, "quarantined")
    assert (name, moved_to) == ("notes.txt", str(site.root / "rejected" / "notes.txt"))
    assert reason.startswith("notes.txt: not an X12 file")
    assert table(doc, "held-by-reason") == [["awaiting_remittance", "24", "yes"]]
    assert table(doc, "waiting-ages") == [["awaiting_remittance", "24", "0", "0", "0", "24"]]
    assert "Nothing was sent this run." in section_text(doc, "what-went-out")

    # night 2: the one claim held for a person comes first, with its facts; then what went out per payer
    text = second.page_path.read_text()
    assert_self_contained(text)
    doc = parse(text)
    assert table(doc, "held-reasons")[0][:3] == ["held", "patient_not_identified", "1"]
    claims = table(doc, "person-claims")
    assert headers(doc, "person-claims")[:6] == ["Claim id", "Status", "Reason", "Service dates", "Payer ids",
                                                 "Charge"]
    assert [row[:6] for row in claims] == [["PCN00100000013", "held", "patient_not_identified", "2026-01-08",
                                            "63303", "570.00"]]
    [claim] = claims
    assert claim[7].endswith("claims-0003.837 segment 47")  # where the original is: file and CLM segment
    assert claim[8] == "Check the patient's eligibility and member id with the payer; correct and rebill."
    payers = table(doc, "payers")
    assert [(p[0], p[1], p[2]) for p in payers] == [
        ("04412", "04412-000000007.837", "1"), ("61101", "61101-000000003.837", "2"),
        ("62202", "62202-000000006.837", "3"), ("63303", "63303-000000004.837", "1"),
        ("64404", "64404-000000001.837", "3"), ("65505", "65505-000000005.837", "2"),
        ("77027", "77027-000000002.837", "9")]
    # 63303 got PCN00100000005: CLP*PCN00100000005*1*210.75*73.55 in remit-0001.835: charge 210.75, the
    # primary paid 73.55, so 137.20 is billed; no roster, so no expected payment
    assert payers[3][3:] == ["210.75", "73.55", "137.20", "not known"]
    total = [" ".join(c.text_content().split()) for c in doc.xpath('//table[@id="payers"]/tfoot/tr/*')]
    assert total == ["All payers", "7 files", "21", "7,195.43", "2,479.80", "4,715.63", "not known"]
    assert sum(Decimal(p[5].replace(",", "")) for p in payers) == Decimal("4715.63")
    assert table(doc, "held-by-reason") == [["patient_not_identified", "1", "no: listed above"]]
    assert table(doc, "waiting-ages") == [["patient_not_identified", "1", "0", "0", "0", "1"]]  # one day old
    assert [row[:3] for row in table(doc, "inputs")][:2] == [["remit-0001.835", "835", "archived"],
                                                             ["remit-0002.835", "835", "archived"]]

    # the index: newest night first, each linking to its page; the charts link each bar to its night
    index = (reports / "index.html").read_text()
    assert_self_contained(index)
    doc = parse(index)
    nights = table(doc, "nights-table")
    assert [(n[0], n[1], n[3], n[4]) for n in nights] == [
        ("2026-03-03T01:30:00", "0", "0", "0"), ("2026-03-02T01:30:00", "21", "1", "0"),
        ("2026-03-01T01:30:00", "0", "24", "0")]
    assert doc.xpath('//table[@id="nights-table"]//a/@href') == [
        "run-20260303T013000-3.html", "run-20260302T013000-2.html", "run-20260301T013000-1.html"]
    billed = doc.xpath('//figure[figcaption="Claims billed"]//a')
    assert [(a.get("href"), a.xpath("string(.//title)")) for a in billed] == [
        ("run-20260301T013000-1.html", "03-01: 0"), ("run-20260302T013000-2.html", "03-02: 21"),
        ("run-20260303T013000-3.html", "03-03: 0")]
    # the index's numbers are kept per night in nights.json (no claim ids): a night's big JSON report is
    # read once, not every night
    import json

    cached = json.loads((reports / "nights.json").read_text())["nights"]
    assert sorted(cached) == ["run-20260301T013000-1", "run-20260302T013000-2", "run-20260303T013000-3"]
    assert "PCN" not in (reports / "nights.json").read_text()
    (reports / "run-20260302T013000-2.json").write_text("{}")  # night 2's report is not read again
    from cob.run.page import write_index

    again = parse(write_index(reports).read_text())
    assert [n[1] for n in table(again, "nights-table")] == ["0", "21", "0"]
    held = doc.xpath('//figure[figcaption="Held claims by reason"]//a')
    assert [a.xpath("string(.//title)") for a in held] == [
        "03-01: awaiting_remittance 24", "03-01: patient_not_identified 0",
        "03-02: awaiting_remittance 0", "03-02: patient_not_identified 1",
        "03-03: awaiting_remittance 0", "03-03: patient_not_identified 0"]


def _claim(claim_id: str, status: str, reason: str, **kw) -> dict:
    return {"claim_id": claim_id, "status": status, "reason": reason, "detail": kw.pop("detail", f"{reason} detail"),
            "destination_payer": None, "output": None, "source_payer": None, "payer_sequence": None,
            "expected_payment": None, "patient_balance": None, **kw}


#: a run report as cob writes it (its JSON), hand-written: three claims billed to two payers, two held for
#: the same reason, one only waiting, one rejected, one with markup in its id and detail; a quarantined
#: input; the after-payment section (a COB denial, an acknowledgment rejection, two filing deadlines)
REPORT = {
    "inputs": [],
    "claims": [
        _claim("C1", "billed", "secondary_billed", destination_payer="SEC1", output="/o/SEC1-1.837",
               charge="100", prior_paid="60", balance_billed="40", expected_payment="30"),
        _claim("H2", "held", "claim_mismatch", original="claims-1.837: CLM segment 40"),
        _claim("C2", "billed", "secondary_billed", destination_payer="SEC1", output="/o/SEC1-1.837",
               charge="250.5", prior_paid="200", balance_billed="50.5"),
        _claim("W1", "held", "awaiting_remittance"),
        _claim("R1", "rejected", "ig_invalid", destination_payer="SEC2", original="claims-1.837: CLM segment 12"),
        _claim("H1", "held", "claim_mismatch", original="claims-2.837: CLM segment 7"),
        _claim("C3", "billed", "secondary_billed", destination_payer="SEC2", output="/o/SEC2-2.837",
               charge="80", prior_paid="0", balance_billed="80", expected_payment="80"),
        _claim("<b>X</b>", "held", "coverage_conflict", detail="<script>alert(1)</script>"),
    ],
    "summary": {"claims": 8, "billed": 3, "skipped": 0, "held": 4, "rejected": 1,
                "held_by_reason": {"awaiting_remittance": 1, "claim_mismatch": 2, "coverage_conflict": 1},
                "money": {"SEC1": {"claims": 2, "charges": "350.5", "prior_paid": "260", "balance_billed": "90.5"},
                          "SEC2": {"claims": 1, "charges": "80", "prior_paid": "0", "balance_billed": "80"}}},
    "run": {
        "run_id": 7, "config": "/srv/cob/cob.toml", "state": "cob-state.db", "started_at": "2026-03-02T01:30:00",
        "finished_at": "2026-03-02T01:31:00", "dry_run": False, "workers": 2, "exit_code": 1,
        "inputs": [{"file": "bad.837", "kind": "837", "disposition": "rejected", "moved_to": "/r/bad.837",
                    "reason": "bad.837: segment 3: CLM has 1 element", "claims": 0, "payments": 0},
                   {"file": "c.837", "kind": "837", "disposition": "archived", "moved_to": "/a/c.837",
                    "reason": None, "claims": 8, "payments": 0}],
        "outputs": [{"payer_id": "SEC1", "file": "SEC1-1.837", "isa13": "1", "claims": 2},
                    {"payer_id": "SEC2", "file": "SEC2-2.837", "isa13": "2", "claims": 1}],
        "stale": [], "problems": [], "timings": {"ingest_s": 1.5, "bill_s": 2.25},
        "after_payment": {
            "worklist": [{"claim_id": "D1", "kind": "carc_22", "payer": "SEC9", "evidence": {},
                          "says": "SEC9 denied it: another payer is primary (CARC 22)",
                          "action": "send the primary's 835 with the claim"}],
            "acknowledgments": {"rejected": [{"claim_id": "A1", "payer": "SEC1", "kind": "277CA", "status": "rejected",
                                              "reason": "A7:164 entity's contract/member number", "source": "ack.277"}],
                                "accepted": [{"claim_id": "C1", "payer": "SEC1", "kind": "999", "status": "accepted",
                                              "reason": "999 accepted", "source": "ack.999"}],
                                "unacknowledged": [{"claim_id": "U1", "payer": "SEC2", "generation": 0,
                                                    "output": "SEC2-2.837", "sent_at": "2026-02-20T01:30:00",
                                                    "days": 10, "ack_999": "accepted"}],
                                "ack_wait_days": 7},
            "deadlines": [{"claim_id": "H1", "payer": "SEC1", "rule": "90 days from prior_payment",
                           "due": "2026-03-10", "days_left": 8, "past": False},
                          {"claim_id": "H2", "payer": "SEC2", "rule": "12 months from service",
                           "due": "2026-02-28", "days_left": -2, "past": True}],
            "estimate_checks": [{"claim_id": "P1", "payer": "SEC1", "method": "standard", "expected": "50",
                                 "paid": "45", "difference": "5", "flagged": True}]},
    },
}


def test_run_page_from_a_hand_written_report():
    from cob.run.claim_facts import ClaimFacts

    facts = {"R1": ClaimFacts("R1", "2026-01-05", "2026-01-05", Decimal("310"), ("PRI", "SEC2")),
             "D1": ClaimFacts("D1", "2026-01-05", "2026-01-09", Decimal("120.5"), ("PRI", "SEC9")),
             "H1": ClaimFacts("H1", "2026-01-07", None, Decimal("99"), ("PRI",))}
    text = render_run_page(REPORT, facts, waiting=[], now=dt.datetime(2026, 3, 2, 1, 30))
    assert_self_contained(text)
    assert "<b>X</b>" not in text and "<script>alert" not in text  # claim data is escaped, never markup
    doc = parse(text)
    assert section_order(doc) == ["needs-a-person", "what-went-out", "what-waits", "inputs-and-timings"]
    # what needs a person: rejected first, then held by reason; claims only waiting for an 835 are not listed
    assert [r[:3] for r in table(doc, "held-reasons")] == [
        ["rejected", "ig_invalid", "1"], ["held", "claim_mismatch", "2"], ["held", "coverage_conflict", "1"]]
    person = table(doc, "person-claims")
    assert [(r[0], r[1], r[2]) for r in person] == [
        ("R1", "rejected", "ig_invalid"), ("H1", "held", "claim_mismatch"), ("H2", "held", "claim_mismatch"),
        ("<b>X</b>", "held", "coverage_conflict")]
    assert person[0][3:8] == ["2026-01-05", "PRI, SEC2", "310.00", "ig_invalid detail", "claims-1.837: CLM segment 12"]
    assert person[1][3:6] == ["2026-01-07", "PRI", "99.00"]
    assert person[3][3:7] == ["", "", "", "<script>alert(1)</script>"]
    assert table(doc, "quarantined") == [["bad.837", "bad.837: segment 3: CLM has 1 element", "/r/bad.837"]]
    assert table(doc, "denials") == [["D1", "2026-01-05 to 2026-01-09", "120.50", "carc_22", "SEC9", "SEC9 denied it: another payer is primary (CARC 22)",
                                      "send the primary's 835 with the claim"]]
    assert table(doc, "ack-rejections") == [["A1", "", "", "SEC1", "277CA (ack.277)", "A7:164 entity's contract/member number"]]
    assert table(doc, "unacknowledged") == [["U1", "", "", "SEC2", "SEC2-2.837", "2026-02-20T01:30:00", "10", "accepted"]]
    assert "(no 277CA after 7 days)" in section_text(doc, "needs-a-person")
    assert table(doc, "deadlines") == [["H1", "2026-01-07", "99.00", "SEC1", "2026-03-10", "8", "90 days from prior_payment"],
                                       ["H2", "", "", "SEC2", "2026-02-28", "PAST (-2)", "12 months from service"]]
    # what went out, per destination payer, with the total
    assert table(doc, "payers") == [
        ["SEC1", "SEC1-1.837", "2", "350.50", "260.00", "90.50", "30.00 (1 of 2 claims)"],
        ["SEC2", "SEC2-2.837", "1", "80.00", "0.00", "80.00", "80.00"]]
    total = [" ".join(c.text_content().split()) for c in doc.xpath('//table[@id="payers"]/tfoot/tr/*')]
    assert total == ["All payers", "2 files", "3", "430.50", "260.00", "170.50", "110.00 (2 of 3 claims)"]
    # what waits: every held claim counted by reason
    assert table(doc, "held-by-reason") == [["awaiting_remittance", "1", "yes"], ["claim_mismatch", "2", "no: listed above"],
                                            ["coverage_conflict", "1", "no: listed above"]]
    assert table(doc, "inputs") == [["c.837", "837", "archived", "8", "0"]]
    assert table(doc, "timings") == [["ingest_s", "1.500"], ["bill_s", "2.250"]]


def test_index_charts_acceptance_and_secondary_payments():
    """The index's acceptance rate (999/277CA) and secondary payments against expected, from the reports'
    after-payment sections; a night whose report has none says so instead of showing zero."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        old = {k: v for k, v in REPORT.items()}
        old["run"] = {k: v for k, v in REPORT["run"].items() if k != "after_payment"}
        old["run"]["started_at"] = "2026-03-01T01:30:00"
        old["summary"] = {k: v for k, v in REPORT["summary"].items() if k != "money"}
        Path(folder, "run-20260301T013000-6.json").write_text(json.dumps(old))
        Path(folder, "run-20260302T013000-7.json").write_text(json.dumps(REPORT))
        Path(folder, "run-20260302T020000-8-dry-run.json").write_text(json.dumps(REPORT))  # not a night
        doc = parse(render_index(night_rows(Path(folder))))
    nights = table(doc, "nights-table")
    assert [(n[0], n[2], n[5], n[6]) for n in nights] == [
        ("2026-03-02T01:30:00", "170.50", "50% (1 of 2)", "45.00 / 50.00"),
        ("2026-03-01T01:30:00", "not recorded yet", "not recorded yet", "not recorded yet")]
    rate = doc.xpath('//figure[figcaption="Acceptance rate (999 / 277CA)"]//rect/title/text()')
    assert rate == ["03-02: 50%"]
    paid = doc.xpath('//figure[figcaption="Secondary payments received against expected"]//rect/title/text()')
    assert paid == ["03-02: expected 50.00", "03-02: received 45.00"]


def _phi(sample_set: Path) -> set[str]:
    """Patient and subscriber names, member ids and birth dates of the sample, read from its files."""
    found: set[str] = set()
    for f in sample_set.glob("*.83?"):
        for seg in re.split(r"~\r?\n?", f.read_text()):
            el = re.split(r"[*|]", seg)
            if el[0] == "NM1" and len(el) > 3 and el[1] in ("IL", "QC"):
                found.update(v for v in (el[3], el[4] if len(el) > 4 else "", el[9] if len(el) > 9 else "") if v)
            if el[0] == "DMG" and len(el) > 2:
                found.add(el[2])
    return {p for p in found if len(p) >= 4}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_pages_hold_no_phi_unless_names_are_asked_for(make_site, sample_set, monkeypatch):
    phi = _phi(sample_set)
    assert {"JACKSON", "ROBERT"} <= phi and len(phi) > 40
    site = make_site()
    three_nights(site, sample_set)
    monkeypatch.setenv("COB_NOW", "2026-03-03T02:00:00")
    status = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format", "html"])
    assert status.exit_code == 0
    pages = {p.name: p.read_text() for p in (site.root / "reports").glob("*.html")}
    pages["status.html"] = status.stdout
    assert len(pages) == 5  # three run pages, the index, the status page
    for name, text in pages.items():
        leaked = sorted(p for p in phi if p in text)
        assert not leaked, f"{name} holds PHI: {leaked[:3]}"
        assert "Patient" not in parse(text).xpath("string(//thead)")


def test_patient_names_on_the_pages_when_asked_for(tmp_path_factory, sample_set):
    """With `[report] include_patient_names = true` the claims needing a person carry the patient's name.
    The site lives outside `tmp_path` on purpose: the suite's PHI guard (tests/conftest.py) would rightly
    find the names there, and here they are what is asked for."""
    from cob.run.config import init_folder

    from .conftest import Site

    root = tmp_path_factory.mktemp("names") / "site"
    config = init_folder(root)
    text = config.read_text().replace("include_patient_names = false", "include_patient_names = true")
    config.write_text(re.sub(r"(?m)^settle_seconds = .*$", "settle_seconds = 0", text))
    named = Site(root, config)
    _, night, _ = three_nights(named, sample_set)
    doc = parse(night.page_path.read_text())
    assert headers(doc, "person-claims")[:2] == ["Claim id", "Patient"]
    assert [row[:2] for row in table(doc, "person-claims")] == [["PCN00100000013", "JACKSON, ROBERT"]]
    status = CliRunner().invoke(main, ["status", "--config", str(named.config_path), "--format", "html"])
    assert [row[:2] for row in table(parse(status.stdout), "person-claims")] == [["PCN00100000013", "JACKSON, ROBERT"]]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_status_html_lists_what_needs_a_person_across_nights(make_site, sample_set, monkeypatch):
    """After night 1 (claims only): nothing for a person but the quarantined file; after night 2 the held
    claim; counts by reason and age of everything waiting at the time `cob status` is asked."""
    site = make_site()
    for f in sorted(sample_set.glob("claims-*.837")):
        shutil.copy(f, site.inbox / f.name)
    (site.inbox / "notes.txt").write_text("hello")
    site.run(now=NIGHTS[0])
    monkeypatch.setenv("COB_NOW", "2026-03-10T09:00:00")
    out = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format", "html"])
    assert out.exit_code == 0
    assert_self_contained(out.stdout)
    doc = parse(out.stdout)
    assert section_order(doc) == ["needs-a-person", "what-waits"]
    assert not has_table(doc, "person-claims")
    assert [row[0] for row in table(doc, "quarantined")] == ["notes.txt"]
    assert table(doc, "waiting-ages") == [["awaiting_remittance", "0", "24", "0", "0", "24"]]  # 9 days old
    site.drop(sample_set, "*.835")
    site.run(now=NIGHTS[1])
    doc = parse(CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format", "html"]).stdout)
    assert [row[:4] for row in table(doc, "person-claims")] == [
        ["PCN00100000013", "held", "patient_not_identified", "2026-01-08"]]
    assert table(doc, "held-by-reason") == [["patient_not_identified", "1", "no: listed above"]]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_page_that_cannot_be_written_does_not_fail_the_night(make_site, sample_set):
    """The page is a view: when it cannot be written (here index.html is a folder) the run bills and
    reports as before, says in one line that the HTML report is missing, and exits 1 (as when the report
    or log cannot be written) so that someone looks."""
    site = make_site()
    (site.root / "reports" / "index.html").mkdir(parents=True)
    site.drop(sample_set)
    result = site.run()
    assert result.exit_code == 1 and result.report.summary.billed == 21 and result.report.run.exit_code == 0
    assert result.report_path.exists() and result.summary_path.exists()
    assert result.errors == ["cob run: the HTML report was not written (Is a directory); the JSON and text "
                             "reports were"]
