"""Claims and 835s arriving in separate runs, stale claims, and reversals after billing (issue #5 part 4)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from cob.edi.reader import X12Reader
from cob.run.status import status_report

from .conftest import NOW


def test_claim_first_835_later(make_site, sample_set):
    """Night 1 brings only claim files: every claim waits (awaiting_remittance), nothing is sent.
    Night 2 brings the 835s: the waiting claims are billed from the stored originals."""
    site = make_site()
    site.drop(sample_set, "claims-*.837")
    first = site.run()
    assert first.exit_code == 0 and first.report.summary.held == 24 and site.outbox_files() == {}
    assert set(first.report.summary.by_reason) == {"awaiting_remittance"}
    waiting = status_report(site.config, NOW)
    assert len(waiting.waiting) == 24 and not waiting.stale
    site.drop(sample_set, "*.835")
    second = site.run(now=NOW + dt.timedelta(days=9))
    assert second.report.summary.billed == 21 and len(site.outbox_files()) == 7
    assert [w.reason for w in status_report(site.config, NOW).waiting] == ["patient_not_identified"]


def test_835_first_claim_later(make_site, sample_set):
    """Night 1 brings only 835s: each answered claim waits for its original (original_claim_missing).
    Night 2 brings the claim files: billed, same claims as when everything comes at once."""
    site = make_site("late")
    site.drop(sample_set, "*.835")
    first = site.run()
    assert first.report.summary.claims == 24 and set(first.report.summary.by_reason) == {"original_claim_missing"}
    assert {c.detail for c in first.report.claims} == {"received: an 835 payment with this CLP01; missing: the original "
                                                       "claim (837P or 837I) with this CLM01 (none has arrived yet)"}
    site.drop(sample_set, "claims-*.837")
    second = site.run(now=NOW + dt.timedelta(days=1))
    assert second.report.summary.billed == 21
    together = make_site("together")
    together.drop(sample_set)
    together.run(now=NOW + dt.timedelta(days=1))
    late, once = site.outbox_files(), together.outbox_files()
    assert sorted(late) == sorted(once)
    # the same claims; only the batch time in ISA09/GS04/BHT differs (batch opened on night 1)
    strip = lambda b: re.sub(rb"\*26030[23]\*|\*20260302|\*20260303", b"*D*", b)  # noqa: E731
    assert {k: strip(v) for k, v in late.items()} == {k: strip(v) for k, v in once.items()}


def test_stale_claims_in_status_and_report(make_site, sample_set):
    site = make_site()
    site.config_path.write_text(site.config_path.read_text().replace("max_wait_days = 30", "max_wait_days = 10"))
    site.drop(sample_set, "claims-0001.837")
    site.run()
    assert status_report(site.config, NOW + dt.timedelta(days=9)).stale == []
    later = status_report(site.config, NOW + dt.timedelta(days=11))
    assert len(later.stale) == 6 and {w.days for w in later.stale} == {11}
    assert "STALE PCN00100000000  11 days  awaiting_remittance" in later.text()
    site.drop(sample_set, "remit-0001.835")
    report = site.run(now=NOW + dt.timedelta(days=12)).report
    # claim file 1's claims are answered by remit-0001 now; none of them waits any more
    assert report.run.stale == [] and report.summary.billed == 6
    site.drop(sample_set, "claims-0002.837")
    site.run(now=NOW + dt.timedelta(days=13))
    report = site.run(now=NOW + dt.timedelta(days=30)).report
    assert len(report.run.stale) == 6 and report.run.stale[0].days == 17
    assert "Stale: 6 claim(s) waiting longer than 10 days" in report.morning_summary()


def _segments(path: Path) -> list[str]:
    text = path.read_text()
    return [s.strip("\r\n") for s in text.split("~") if s.strip("\r\n")]


def secondary_835(reprocessed: Path, claim_id: str, payer_id: str, icn: str) -> str:
    """The secondary payer's own 835 for `claim_id` (CLP02=2, CLP07=`icn`), made from the primary's
    corrected claim payment: only CLP07 and who sent it matter for a replacement claim."""
    segs = _segments(reprocessed)
    sep = segs[0][3]
    start = next(n for n, s in enumerate(segs) if s.startswith(f"CLP{sep}{claim_id}{sep}1{sep}"))
    end = next((n for n in range(start + 1, len(segs)) if segs[n].startswith(("CLP", "SE", "PLB", "LX"))), None)
    header = segs[2:segs.index(next(s for s in segs if s.startswith("LX")))]  # ST .. before LX
    header = [s if not s.startswith(f"REF{sep}2U") else f"REF{sep}2U{sep}{payer_id}" for s in header]
    header = [s if not s.startswith(f"N1{sep}PR") else f"N1{sep}PR{sep}PIONEER SECONDARY" for s in header]
    clp = segs[start].split(sep)
    clp[2], clp[7] = "2", icn
    body = [f"LX{sep}1", sep.join(clp), *segs[start + 1:end]]
    st = header + body
    isa = segs[0][:90] + "009999999" + segs[0][99:]
    gs = segs[1].split(sep)
    gs[6] = "9999999"
    out = [isa, sep.join(gs), *st, f"SE{sep}{len(st) + 1}{sep}{st[0].split(sep)[2]}", f"GE{sep}1{sep}9999999",
           f"IEA{sep}1{sep}009999999"]
    return "~".join(out) + "~"


def test_reversal_after_billing_is_replaced(make_site, sample_set):
    """Night 1: the claim and the primary's first 835 -> billed to the secondary (77027).
    Night 2: the primary reverses and corrects its payment -> held: a replacement needs the secondary's
    claim number. Night 3: the secondary's own 835 (CLP07 SEC-ICN-777) -> a replacement claim
    (CLM05-3=7, 2300 REF*F8 SEC-ICN-777) built from the corrected primary payment; never a second original."""
    claim_id = "PCN00100000016"
    site = make_site()
    site.drop(sample_set, "claims-0003.837")
    site.drop(sample_set, "remit-0003.835")
    first = site.run()
    billed = {c.claim_id: c for c in first.report.claims}
    assert billed[claim_id].status == "billed" and billed[claim_id].destination_payer == "77027"
    site.drop(sample_set, "remit-0003.reprocessed.835")
    second = site.run(now=NOW + dt.timedelta(days=5))
    outcome = {c.claim_id: c for c in second.report.claims}[claim_id]
    assert outcome.status == "held" and outcome.reason == "replacement_held"
    assert outcome.detail.endswith("; received: that 835; missing: payer 77027's own claim number (CLP07 of its 835), "
                                   "which a replacement claim (CLM05-3=7) needs")
    assert second.report.run.outputs == []
    (site.inbox / "secondary-77027.835").write_text(
        secondary_835(sample_set / "remit-0003.reprocessed.835", claim_id, "77027", "SEC-ICN-777"))
    third = site.run(now=NOW + dt.timedelta(days=20))
    outcome = {c.claim_id: c for c in third.report.claims}[claim_id]
    assert outcome.status == "billed" and outcome.detail.startswith("replacement (CLM05-3=7, REF*F8 SEC-ICN-777)")
    [output] = third.report.run.outputs
    [claim] = list(X12Reader(site.outbox / output.file))
    assert claim.claim_id == claim_id and claim.frequency == "7" and claim.ref("F8") == "SEC-ICN-777"
    # built from the corrected payment (CLP07 ...1615), not the reversed one (...1610)
    [primary] = [p for p in claim.other_payers if p.payer.name.id == "65505"]
    assert primary.payer.ref("F8") == "260070000001615"
    emitted = sorted(e[:4] for e in site.snapshot()["emitted"] if e[0] == claim_id)
    assert emitted == [(claim_id, "77027", 0, "1"), (claim_id, "77027", 1, "7")]
    fourth = site.run(now=NOW + dt.timedelta(days=21))  # nothing new: nothing sent again
    assert fourth.report.summary.claims == 0


def test_reversal_in_the_same_night_bills_the_correction_once(make_site, sample_set):
    site = make_site()
    site.drop(sample_set, "claims-0003.837")
    site.drop(sample_set, "remit-0003*.835")
    result = site.run()
    outcome = {c.claim_id: c for c in result.report.claims}["PCN00100000016"]
    assert outcome.status == "billed"
    assert [e[2:4] for e in site.snapshot()["emitted"] if e[0] == "PCN00100000016"] == [(0, "1")]
