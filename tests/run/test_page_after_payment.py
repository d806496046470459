"""The morning pages over issue 17's nights (tests/run/data/afterpay*, see test_after_payment.py): a later
payer's COB denial, an acknowledgment rejection, the filing deadline it reopens, an underpayment, and the
index's acceptance rate and secondary payments against expected, read back from the HTML."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

import pytest

from cob.cli import main

from .pagetools import parse, table

# issue 17's posting (branch afterpay) records what these sections show; until it is merged they say
# "not recorded yet" (tested in test_page.py with a hand-written report) and this module is skipped
pytest.importorskip("cob.run.afterpay_report", reason="the after-payment posting (issue 17) is not merged yet")

from .test_after_payment import NIGHT2, NIGHT3, ack_277, drop, night1, with_roster  # noqa: E402


def _status_page(site, now: str, *args: str):
    out = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format", "html", *args],
                             env={"COB_NOW": now})
    assert out.exit_code == 0, out.output
    return parse(out.stdout)


def test_cob_denial_on_the_run_page_and_the_status_page(make_site):
    site = with_roster(make_site)
    night1(site)
    drop(site, "afterpay-secondary-denies-22.835")
    result = site.run(now=NIGHT3)
    doc = parse(result.page_path.read_text())
    [(claim_id, service, charge, kind, payer, says, action)] = table(doc, "denials")
    assert (claim_id, service, charge, kind, payer) == ("S01", "2026-02-15", "250.00", "carc_22", "22222")
    assert action.startswith("rebill with the corrected order")
    doc = _status_page(site, "2026-03-21T08:00:00")
    assert [row[:5] for row in table(doc, "denials")] == [["S01", "2026-02-15", "250.00", "carc_22", "22222"]]


def test_277ca_rejection_first_with_its_deadline(make_site):
    site = make_site()
    night1(site)
    (site.inbox / "reject.277").write_text(ack_277("S01", "A7:562:85"))
    result = site.run(now=NIGHT2)
    doc = parse(result.page_path.read_text())
    assert table(doc, "ack-rejections") == [[
        "S01", "2026-02-15", "250.00", "22222", "277CA (reject.277)",
        "277CA rejected for invalid information: National Provider Identifier (NPI) (billing provider)"]]
    doc = _status_page(site, "2026-03-10T08:00:00", "--deadline-within", "90")
    assert table(doc, "ack-rejections") == [[
        "S01", "2026-02-15", "250.00", "22222", "277CA", "277CA rejected for invalid information: National Provider Identifier (NPI) "
                                 "(billing provider)"]]
    # rejected means not filed: the 90-day deadline from the primary's payment (2026-03-05) is watched again
    assert table(doc, "deadlines") == [["S01", "2026-02-15", "250.00", "22222", "2026-06-03", "85", "90 days from prior_payment"]]
    index = parse((site.root / "reports" / "index.html").read_text())
    nights = table(index, "nights-table")
    assert [(n[0], n[5]) for n in nights] == [("2026-03-08T01:30:00", "0% (0 of 1)"),
                                              ("2026-03-06T01:30:00", "no acknowledgment")]


def test_underpayment_and_secondary_payments_against_expected(make_site):
    site = with_roster(make_site)
    roster = json.loads((site.root / "roster.json").read_text())
    roster["coverages"][0]["benefit_terms"] = {"method": "standard", "secondary_allowed": "140"}
    (site.root / "roster.json").write_text(json.dumps(roster))
    night1(site)
    drop(site, "afterpay-secondary-paid.835")
    result = site.run(now=NIGHT3)
    doc = parse(result.page_path.read_text())
    [(claim_id, _service, _charge, kind, payer, _says, action)] = table(doc, "denials")
    assert (claim_id, kind, payer) == ("S01", "underpaid", "22222") and action.startswith("appeal the underpayment")
    index = parse((site.root / "reports" / "index.html").read_text())
    # standard COB expected 34.00 (see test_after_payment), the secondary paid 24
    assert [(n[0], n[6]) for n in table(index, "nights-table")] == [("2026-03-21T01:30:00", "24.00 / 34.00"),
                                                                    ("2026-03-06T01:30:00", "none")]
    paid = index.xpath('//figure[figcaption="Secondary payments received against expected"]//rect/title/text()')
    assert paid[-2:] == ["03-21: expected 34.00", "03-21: received 24.00"]
