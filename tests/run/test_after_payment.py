"""Issue 17 through `cob run`, night by night: after the secondary is billed, its 835 is posted.

The claim (tests/run/data/afterpay.837, CLM S01): charge 250, line 1 99214 200, line 2 87880-QW 50 x 2;
primary PRIMARY PLAN (11111), secondary SECOND PAYER INC (22222).
Primary 835 (ICN0001): paid 116 = 100 + 16; CO 45 80 + 20 = 100; PR 34 = copay 20 (line 1), deductible 10
and coinsurance 4 (line 2).
Secondary 835 (SEC0001), partly paid: line 1 pays 20 (OA 23 180), line 2 pays 4 (OA 23 36, PR 1 10): 24.
So the patient owes 10 (line 2's deductible the secondary left as PR), never a CO amount; the provider
writes off 250 - 116 - 24 - 10 = 100 (the primary's CO).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from cob.cli import main
from cob.run.posting import PostingState

DATA = Path(__file__).parent / "data"
NIGHT1 = dt.datetime(2026, 3, 6, 1, 30)
NIGHT3 = dt.datetime(2026, 3, 21, 1, 30)
NIGHT4 = dt.datetime(2026, 4, 11, 1, 30)

ROSTER = {"coverages": [{"claim_id": "S01", "sequence": "S", "payer_name": "SECOND PAYER INC", "payer_id": "22222",
                         "subscriber_last_name": "TESTER", "subscriber_id": "SEC456", "relationship": "18",
                         "filing_indicator": "CI",
                         "benefit_terms": {"method": "maintenance_of_benefits", "secondary_allowed": "140"}}]}


def drop(site, *names):
    for name in names:
        shutil.copy(DATA / name, site.inbox / name)


def night1(site):
    drop(site, "afterpay.837", "afterpay-primary.835")
    result = site.run(now=NIGHT1)
    assert result.exit_code == 0, result.errors
    (claim,) = result.report.claims
    assert (claim.status, claim.destination_payer) == ("billed", "22222")
    return result


def with_roster(make_site):
    site = make_site()
    (site.root / "roster.json").write_text(json.dumps(ROSTER))
    text = site.config_path.read_text().replace('# coverage = "coverage.csv"', 'coverage = "roster.json"')
    site.config_path.write_text(text)
    return site


def assert_balance_files(site, result):
    """The balance files of the night the secondary's 835 (SEC0001) was posted: amounts of the module doc."""
    stem = result.report_path.name.removeprefix("run-").removesuffix(".json")
    rows = list(csv.DictReader((site.root / "reports" / f"patient-balances-{stem}.csv").open()))
    claim_rows = [(r["payer"], r["paid"], r["contractual"], r["payer_patient_responsibility"], r["other_adjustments"],
                   r["patient_owes"], r["write_off"]) for r in rows if r["line"] == ""]
    assert claim_rows == [("PRIMPLAN", "116", "100", "34", "0", "", ""),
                          ("22222", "24", "0", "10", "216", "10", "100")]
    line_rows = [(r["line"], r["procedure"], r["charge"], r["payer"], r["paid"], r["contractual"],
                  r["payer_patient_responsibility"], r["patient_owes"], r["write_off"]) for r in rows if r["line"] != ""]
    assert line_rows == [("1", "99214", "200", "PRIMPLAN", "100", "80", "20", "", ""),
                         ("1", "99214", "200", "22222", "20", "0", "0", "0", "80"),
                         ("2", "87880", "50", "PRIMPLAN", "16", "20", "14", "", ""),
                         ("2", "87880", "50", "22222", "4", "0", "10", "10", "20")]
    assert {(r["claim_id"], r["status"], r["service_from"], r["service_to"]) for r in rows} == {
        ("S01", "final", "2026-02-15", "2026-02-15")}
    assert [r["payer_claim_number"] for r in rows if r["line"] == ""] == ["ICN0001", "SEC0001"]
    text = (site.root / "reports" / f"patient-balances-{stem}.json").read_text()
    assert "patient_name" not in rows[0] and "TESTER" not in text
    (balance,) = json.loads(text)["balances"]
    assert (balance["claim_id"], balance["charge"], balance["patient_owes"], balance["write_off"],
            balance["medicaid_write_off"]) == ("S01", "250", "10", "100", "0")


def test_secondary_pays_partly_and_the_patient_balance_is_final(make_site):
    site = with_roster(make_site)
    night1(site)
    drop(site, "afterpay-secondary-paid.835")
    result = site.run(now=NIGHT3)
    assert result.exit_code == 0, result.errors
    section = result.report.run.after_payment
    assert section["balances_final"] == [{"claim_id": "S01", "patient_owes": "10", "last_payer": "22222"}]
    assert section["worklist"] == []
    # MOB estimate: 0.8 x (A2 140 - P1 116) = 19.20; the secondary paid 24: not an underpayment
    (check,) = section["estimate_checks"]
    assert (check["expected"], check["paid"], check["flagged"]) == ("19.20", "24", False)

    assert_balance_files(site, result)
    assert "Patient balances final: 1 claim(s)" in result.summary_path.read_text()

    status = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format", "json"])
    payload = json.loads(status.stdout)
    assert payload["balances_final"] == [{"claim_id": "S01", "last_payer": "22222", "patient_owes": "10",
                                          "final_at": NIGHT3.isoformat()}]


def test_patient_names_only_when_asked(make_site):
    site = with_roster(make_site)
    text = site.config_path.read_text().replace("include_patient_names = false", "include_patient_names = true")
    site.config_path.write_text(text)
    night1(site)
    drop(site, "afterpay-secondary-paid.835")
    result = site.run(now=NIGHT3)
    stem = result.report_path.name.removeprefix("run-").removesuffix(".json")
    files = [site.root / "reports" / f"patient-balances-{stem}.{ext}" for ext in ("csv", "json")]
    rows = list(csv.DictReader(files[0].open()))
    assert {r["patient_name"] for r in rows} == {"TESTER, ALEX"}
    (balance,) = json.loads(files[1].read_text())["balances"]
    assert balance["patient_name"] == "TESTER, ALEX"
    # the state never holds the name, whatever the setting
    state = site.state()
    try:
        assert "patient_name" not in PostingState(state.db).balance("S01")
    finally:
        state.close()
    # the two files and the HTML pages hold names because the operator asked for them (the pages' names are
    # tested in test_page.py); the suite's PHI guard checks the rest
    for path in [*files, *(site.root / "reports").glob("*.html")]:
        path.unlink()


def test_secondary_denies_carc_22_goes_to_the_worklist(make_site):
    site = with_roster(make_site)
    night1(site)
    drop(site, "afterpay-secondary-denies-22.835")
    result = site.run(now=NIGHT3)
    section = result.report.run.after_payment
    assert section["balances_final"] == []
    (item,) = section["worklist"]
    assert (item["claim_id"], item["kind"], item["payer"]) == ("S01", "carc_22", "22222")
    assert item["action"].startswith("rebill with the corrected order")
    assert item["evidence"]["payer_claim_number"] == "SEC0002" and item["evidence"]["paid"] == "0"
    assert {(c["group"], c["reason"], c["amount"]) for c in item["evidence"]["cas"]} >= {("CO", "22", "20"),
                                                                                          ("CO", "22", "14")}
    assert "next: rebill with the corrected order" in result.summary_path.read_text()
    status = CliRunner().invoke(main, ["status", "--config", str(site.config_path)])
    assert "S01" in status.stdout and "carc_22" in status.stdout
    # the evidence is kept with the item: `cob status --format json` (and the morning page) show it
    payload = json.loads(CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format",
                                                   "json"]).stdout)
    (open_item,) = payload["worklist"]
    assert (open_item["kind"], open_item["evidence"]["payer_claim_number"], open_item["evidence"]["file"]) == (
        "carc_22", "SEC0002", "afterpay-secondary-denies-22.835")


def test_secondary_recoups_and_the_balance_reopens(make_site):
    site = with_roster(make_site)
    night1(site)
    drop(site, "afterpay-secondary-paid.835")
    site.run(now=NIGHT3)
    drop(site, "afterpay-secondary-reverses.835")
    result = site.run(now=NIGHT4)
    section = result.report.run.after_payment
    assert section["balances_reopened"] == ["S01"]
    (item,) = section["worklist"]
    assert (item["kind"], item["payer"]) == ("recoupment", "22222")
    assert item["evidence"]["clp02"] == "22" and item["evidence"]["paid"] == "-24"
    state = site.state()
    try:
        posted = PostingState(state.db)
        assert posted.final_balances() == []
        assert posted.reopened_balances() == [("S01", "22222", NIGHT4.isoformat())]
        reopened = posted.balance("S01")
        # nothing stands at the secondary's level any more: the patient owes nothing until it pays again
        assert (reopened["status"], reopened["patient_owes"]) == ("reopened", "0")
        assert [(p["payer"], p["paid"]) for p in reopened["payers"]] == [("PRIMPLAN", "116")]
    finally:
        state.close()


def test_underpayment_against_the_payers_own_method_is_flagged(make_site):
    site = with_roster(make_site)
    roster = json.loads((site.root / "roster.json").read_text())
    roster["coverages"][0]["benefit_terms"] = {"method": "standard", "secondary_allowed": "140"}
    (site.root / "roster.json").write_text(json.dumps(roster))
    night1(site)
    drop(site, "afterpay-secondary-paid.835")
    result = site.run(now=NIGHT3)
    section = result.report.run.after_payment
    # standard COB: N2 = 0.8 x 140 = 112; min(112, A1 150 - P1 116 = 34) = 34; paid 24: 10 short (> 1.00)
    (check,) = section["estimate_checks"]
    assert (check["expected"], check["paid"], check["difference"], check["flagged"]) == ("34.00", "24", "10.00", True)
    (item,) = section["worklist"]
    assert (item["kind"], item["payer"]) == ("underpaid", "22222")
    assert item["action"].startswith("appeal the underpayment of 10.00")
    # an underpayment does not stop the balance being final: the patient owes what the payer left as PR
    assert section["balances_final"] == [{"claim_id": "S01", "patient_owes": "10", "last_payer": "22222"}]
    assert "Underpaid against the payer's own method: 1 claim(s)" in result.summary_path.read_text()


def test_filing_deadline_of_a_held_claim(make_site):
    # The primary denies (CO 22): the claim is held and never filed with 22222, whose default rule is
    # 90 days from the prior payer's payment date 2026-03-05: due 2026-06-03.
    site = make_site()
    drop(site, "afterpay.837", "afterpay-primary-denies-22.835")
    result = site.run(now=NIGHT1)
    (claim,) = result.report.claims
    assert (claim.status, claim.reason) == ("held", "other_payer_primary")
    runner = CliRunner()

    def status(now, *args):
        return runner.invoke(main, ["status", "--config", str(site.config_path), *args], env={"COB_NOW": now})

    near = status("2026-05-25T08:00:00", "--deadline-within", "14", "--format", "json")
    assert near.exit_code == 1
    assert json.loads(near.stdout)["deadlines"] == [{"claim_id": "S01", "payer": "22222",
                                                     "rule": "90 days from prior_payment", "due": "2026-06-03",
                                                     "days_left": 9, "past": False}]
    assert "not filed within 14 days" in near.stderr
    assert status("2026-05-25T08:00:00", "--deadline-within", "5").exit_code == 0
    past = status("2026-06-10T08:00:00")
    assert past.exit_code == 0
    assert "PAST DEADLINE S01  22222  was due 2026-06-03 (90 days from prior_payment)" in past.stdout


def test_a_billed_claim_has_met_its_deadline(make_site):
    site = make_site()
    night1(site)
    result = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--deadline-within", "400",
                                       "--format", "json"], env={"COB_NOW": "2026-05-25T08:00:00"})
    assert result.exit_code == 0 and json.loads(result.stdout)["deadlines"] == []


def test_payer_rules_from_the_configuration(make_site):
    # a payer rule counted from the date of service (2026-02-15) in months
    site = make_site()
    text = site.config_path.read_text().replace('# [deadlines.payers]\n# 22222 = "60 days from prior_payment"',
                                                '[deadlines.payers]\n22222 = "1 month from service"')
    site.config_path.write_text(text)
    drop(site, "afterpay.837", "afterpay-primary-denies-22.835")
    site.run(now=NIGHT1)
    result = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format", "json"],
                                env={"COB_NOW": "2026-03-10T08:00:00"})
    (due,) = json.loads(result.stdout)["deadlines"]
    assert (due["rule"], due["due"], due["days_left"]) == ("1 months from service", "2026-03-15", 5)


# --- acknowledgments (clause 3) and the whole cycle ------------------------------------------------------

NIGHT2 = dt.datetime(2026, 3, 8, 1, 30)


def sent_file(site) -> tuple[str, str, int]:
    """(name, sender, ISA13) of the one file night 1 sent."""
    (path,) = site.outbox.iterdir()
    isa = path.read_text().split("~", 1)[0].split("*")
    return path.name, f"{isa[5].strip()}:{isa[6].strip()}", int(isa[13])


def ack_999(sender: str, isa13: int, status: str = "A") -> str:
    q, ident = sender.split(":")
    ik = "IK5*A" if status == "A" else "IK3*NM1*25**8~IK4*9*67*7~IK5*R*5"
    segs = ["ST*999*0001*005010X231A1", f"AK1*HC*{isa13}*005010X222A1", "AK2*837*0001*005010X222A1", *ik.split("~"),
            f"AK9*{status}*1*1*{1 if status == 'A' else 0}"]
    return (f"ISA*00*          *00*          *ZZ*CLEARHOUSE01   *{q}*{ident:<15}*260307*0800*^*00501*000000777*0*T*:~"
            f"GS*FA*CLEARHOUSE01*{ident}*20260307*0800*777*X*005010X231A1~" + "~".join(segs)
            + f"~SE*{len(segs) + 1}*0001~GE*1*777~IEA*1*000000777~")


def ack_277(claim_id: str, status: str) -> str:
    """A 277CA from the secondary for one claim: status 'A1:20' accepted (WQ) or 'A7:562:85' rejected (U)."""
    action = "WQ" if status.startswith(("A1", "A2")) else "U"
    segs = ["ST*277*0001*005010X214", "BHT*0085*08*277CA0001*20260307*0900*TH",
            "HL*1**20*1", "NM1*PR*2*SECOND PAYER INC*****PI*22222", "TRN*1*TRACE1", "DTP*050*D8*20260307",
            "DTP*009*D8*20260307",
            "HL*2*1*21*1", "NM1*41*2*NORTHWIND BILLING*****46*SUBMIT01", "TRN*2*COB000000001",
            "STC*A1:19:PR*20260307*WQ*250", "QTY*90*1", "AMT*YU*250",
            "HL*3*2*19*1", "NM1*85*2*NORTHWIND CLINIC*****XX*1234567893", "TRN*1*0",
            "STC*A1:19:PR*20260307*WQ*250", "QTY*QA*1", "AMT*YU*250",
            "HL*4*3*PT", "NM1*QC*1*TESTER*ALEX****MI*SEC456", f"TRN*2*{claim_id}",
            f"STC*{status}*20260307*{action}*250", "REF*1K*SECICN77", "DTP*472*RD8*20260215-20260215"]
    return ("ISA*00*          *00*          *ZZ*SECONDPAYER    *ZZ*SUBMIT01       *260307*0900*^*00501*000000888*0*T*:~"
            "GS*HN*SECONDPAYER*SUBMIT01*20260307*0900*888*X*005010X214~" + "~".join(segs)
            + f"~SE*{len(segs) + 1}*0001~GE*1*888~IEA*1*000000888~")


def test_the_whole_cycle_over_several_nights(make_site):
    """claim + primary 835 -> secondary billed -> 999 and 277CA accepted -> secondary 835 partly paid ->
    patient balance final (amounts in the module docstring)."""
    site = with_roster(make_site)
    night1(site)
    name, sender, isa13 = sent_file(site)
    assert (name, sender, isa13) == ("22222-000000001.837", "ZZ:SUBMIT01", 1)

    (site.inbox / "ack.999").write_text(ack_999(sender, isa13))
    (site.inbox / "ack.277").write_text(ack_277("S01", "A1:20:PR"))
    night2 = site.run(now=NIGHT2)
    assert night2.exit_code == 0, night2.errors
    acks = night2.report.run.after_payment["acknowledgments"]
    # inputs are read in name order: ack.277 before ack.999
    assert [(a["claim_id"], a["payer"], a["kind"], a["status"]) for a in acks["accepted"]] == [
        ("S01", "22222", "277CA", "accepted"), ("S01", "22222", "999", "accepted")]
    assert acks["rejected"] == [] and acks["unacknowledged"] == [] and acks["malformed"] == []
    assert {"ack.277", "ack.999"} <= set(site.listing("archive"))
    late = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format", "json"],
                              env={"COB_NOW": "2026-03-20T08:00:00"})
    assert json.loads(late.stdout)["unacknowledged"] == []

    drop(site, "afterpay-secondary-paid.835")
    night3 = site.run(now=NIGHT3)
    section = night3.report.run.after_payment
    assert section["balances_final"] == [{"claim_id": "S01", "patient_owes": "10", "last_payer": "22222"}]
    assert_balance_files(site, night3)
    # MOB estimate 0.8 x (140 - 116) = 19.20 against 24 paid: not an underpayment, nothing on the worklist
    assert [(c["expected"], c["paid"], c["flagged"]) for c in section["estimate_checks"]] == [("19.20", "24", False)]
    assert section["worklist"] == []
    status = CliRunner().invoke(main, ["status", "--config", str(site.config_path)],
                                env={"COB_NOW": "2026-03-22T08:00:00"})
    assert "S01  patient owes 10  (last payer 22222" in status.stdout
    assert "never acknowledged" not in status.stdout and "Worklist" not in status.stdout


def test_277ca_rejection_is_listed_first_and_unfiles_the_claim(make_site):
    site = make_site()
    night1(site)
    (site.inbox / "reject.277").write_text(ack_277("S01", "A7:562:85"))
    result = site.run(now=NIGHT2)
    acks = result.report.run.after_payment["acknowledgments"]
    (rejected,) = acks["rejected"]
    assert (rejected["claim_id"], rejected["payer"], rejected["kind"]) == ("S01", "22222", "277CA")
    assert rejected["reason"] == ("277CA rejected for invalid information: National Provider Identifier (NPI) "
                                  "(billing provider)")
    summary = result.summary_path.read_text().splitlines()
    first = next(n for n, line in enumerate(summary) if line.startswith("REJECTED by an acknowledgment"))
    assert first == 3  # right after the title and the input counts: before anything else
    assert summary[first + 1].startswith("  S01  22222  reject.277: 277CA rejected for invalid information")
    status = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--deadline-within", "90",
                                       "--format", "json"], env={"COB_NOW": "2026-03-10T08:00:00"})
    payload = json.loads(status.stdout)
    assert [(w["claim_id"], w["kind"], w["evidence"]) for w in payload["worklist"]] == [
        ("S01", "ack_rejected_277CA", {"file": "reject.277", "generation": 0})]
    # rejected means not filed: the 90-day deadline from the primary's payment (2026-03-05) is watched again
    assert [(d["claim_id"], d["due"]) for d in payload["deadlines"]] == [("S01", "2026-06-03")]
    assert status.exit_code == 1


def test_a_malformed_277ca_is_read_and_its_problems_reported(make_site):
    # the 277CA without its 2100D patient name (NM1*QC): the claim's verdict is read all the same
    site = make_site()
    night1(site)
    (site.inbox / "short.277").write_text(ack_277("S01", "A1:20:PR").replace("NM1*QC*1*TESTER*ALEX****MI*SEC456~", "")
                                          .replace("SE*26*0001", "SE*25*0001"))
    result = site.run(now=NIGHT2)
    acks = result.report.run.after_payment["acknowledgments"]
    assert [(a["claim_id"], a["kind"], a["status"]) for a in acks["accepted"]] == [("S01", "277CA", "accepted")]
    assert acks["malformed"] == [{"claim_id": "", "payer": "22222", "kind": "277CA", "status": "malformed",
                                  "reason": "segment 23 (TRN): required loop 2100D (Patient Name) is missing",
                                  "source": "short.277"}]
    assert ("  short.277  segment 23 (TRN): required loop 2100D (Patient Name) is missing"
            in result.summary_path.read_text().splitlines())


def test_999_rejection_rejects_the_claims_of_the_file(make_site):
    site = make_site()
    night1(site)
    _name, sender, isa13 = sent_file(site)
    (site.inbox / "reject.999").write_text(ack_999(sender, isa13, status="R"))
    result = site.run(now=NIGHT2)
    (rejected,) = result.report.run.after_payment["acknowledgments"]["rejected"]
    assert (rejected["claim_id"], rejected["kind"]) == ("S01", "999")
    assert rejected["reason"] == ("999 rejected; one or more segments in error; segment NM1 at position 25: "
                                  "segment has data element errors; element 9: invalid code value")


def test_nothing_acknowledged_by_the_deadline(make_site):
    site = make_site()
    night1(site)  # sent 2026-03-06; ack_wait_days 7
    runner = CliRunner()

    def status(now):
        out = runner.invoke(main, ["status", "--config", str(site.config_path), "--format", "json"],
                            env={"COB_NOW": now})
        return json.loads(out.stdout)["unacknowledged"]

    assert status("2026-03-12T08:00:00") == []
    assert status("2026-03-14T08:00:00") == [{"claim_id": "S01", "payer": "22222", "generation": 0,
                                              "output": "22222-000000001.837", "sent_at": NIGHT1.isoformat(),
                                              "days": 8, "ack_999": "none"}]
    text = runner.invoke(main, ["status", "--config", str(site.config_path)], env={"COB_NOW": "2026-03-14T08:00:00"})
    assert "Sent and never acknowledged (no 277CA after 7 days): 1 claim(s)" in text.stdout
    # the morning report of a later run says so too
    result = site.run(now=dt.datetime(2026, 3, 15, 1, 30))
    (late,) = result.report.run.after_payment["acknowledgments"]["unacknowledged"]
    assert late["claim_id"] == "S01" and late["days"] == 9
    assert "Not acknowledged after 7 days: 1 claim(s)" in result.summary_path.read_text()


def test_primary_left_nothing_the_balance_is_final_and_nothing_is_to_file(make_site):
    # The primary paid 150 and wrote off 100 (CO 45), no PR: nothing for the secondary, the patient owes 0,
    # no filing deadline to watch.
    site = make_site()
    drop(site, "afterpay.837", "afterpay-primary-no-pr.835")
    result = site.run(now=NIGHT1)
    (claim,) = result.report.claims
    assert (claim.status, claim.reason) == ("skipped", "nothing_left_to_bill")
    assert result.report.run.after_payment["balances_final"] == [{"claim_id": "S01", "patient_owes": "0",
                                                                  "last_payer": "PRIMPLAN"}]
    assert result.report.run.after_payment["deadlines"] == []
    status = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--deadline-within", "1000",
                                       "--format", "json"], env={"COB_NOW": "2026-03-10T08:00:00"})
    assert status.exit_code == 0 and json.loads(status.stdout)["deadlines"] == []
