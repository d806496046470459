"""Issue 15 clause 1: CARC and RARC lists from a maintained source, refreshable, dated; and the policy
that follows from the list's date.

The pinned values are stated by hand from the sources: candidhealth 1.37.0 (released 2026-10) lists
CARCs up to 305 and P32, RARCs up to N911 (and MA12 ... MA127 added since the 2016 snapshot); CARC B5
stopped 2016-05-01 and RARC M72 on 2003-10-16 (the dates kept from the committed 2016 list).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cob.edi import codesets as cs
from cob.edi.codesets import update as gen
from cob.edi.validate.context import ClaimContext
from cob.edi.validate.snip5 import check_claim


def test_lists_carry_source_version_and_dates():
    for name in ("carc.csv", "rarc.csv"):
        meta = cs.list_meta(name)
        assert meta["source"].startswith("candidhealth 1.37.0 (PyPI, Apache-2.0)")
        assert meta["list_date"] == "2026-10-01"
        assert date.fromisoformat(meta["built"]) >= date(2026, 12, 1)
    assert cs.list_date("carc") == date(2026, 10, 1) == cs.list_date("rarc")


def test_newest_codes_are_known():
    for code in ("278", "305", "P27", "P32"):
        assert cs.carc_status(code, date(2026, 11, 1)) == cs.OK, code
    assert cs.carc_status("306", date(2026, 11, 1)) == cs.UNKNOWN
    assert cs.carc_status("P33", date(2026, 11, 1)) == cs.UNKNOWN
    for code in ("N735", "N911", "MA12", "MA127"):
        assert cs.rarc_status(code, date(2026, 11, 1)) == cs.OK, code
    assert cs.rarc_status("N912", date(2026, 11, 1)) == cs.UNKNOWN
    assert len(cs.carc_table()) == 404 and len(cs.rarc_table()) == 1187


def test_retired_codes_keep_their_stop_dates():
    assert cs.carc_table()["B5"] == (date(1995, 1, 1), date(2016, 5, 1))
    assert cs.carc_status("B5", date(2016, 5, 1)) == cs.OK
    assert cs.carc_status("B5", date(2016, 5, 2)) == cs.RETIRED
    assert cs.rarc_status("M72", date(2003, 10, 17)) == cs.RETIRED


# ------------------------------------------------------------------------------------------ policy


def _remit(cas: str, moa: str = "", payment_date: str | None = "20261115") -> ClaimContext:
    segs = [("2100", ["CLP", "C1", "1", "100", "80", "", "12", "ICN1"], 10, 3)]
    if moa:
        segs.append(("2100", ["MOA", "", "", moa], 11, 4))
    segs.append(("2110", ["SVC", "HC:99213", "100", "80"], 12, 5))
    segs.append(("2110", cas.split("*"), 13, 6))
    ctx = ClaimContext(file="t.835", transaction="835", claim_id="C1", segments=segs, payment_date=payment_date)
    check_claim(ctx)
    return ctx


def _found(ctx) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.message) for f in ctx.findings]


def test_new_carc_on_a_new_remittance_is_fine():
    assert _remit("CAS*CO*305*20").findings == []
    assert _remit("CAS*CO*P32*20").findings == []
    assert _remit("CAS*CO*45*20", moa="N911").findings == []


def test_unknown_code_before_the_list_date_is_an_error():
    # paid 2026-09-30, the list is of 2026-10-01: it knows every code of that day, so 306 is a typo
    assert _found(_remit("CAS*CO*306*20", payment_date="20260930")) == [
        ("carc_unknown", "error", "CARC 306 is not in the CARC list of 2026-10-01, which is newer than the "
                                  "remittance (2026-09-30)")]
    assert _found(_remit("CAS*CO*45*20", moa="N999", payment_date="20261001")) == [
        ("rarc_unknown", "error", "RARC N999 is not in the RARC list of 2026-10-01, which is newer than the "
                                  "remittance (2026-10-01)")]


def test_unknown_code_after_the_list_date_is_a_warning():
    assert _found(_remit("CAS*CO*306*20", payment_date="20261002")) == [
        ("carc_unknown", "warning", "CARC 306 is not in the CARC list of 2026-10-01; the remittance "
                                    "(2026-10-02) is newer than the list, so it may be a new code")]


def test_unknown_code_without_a_remittance_date_is_a_warning():
    # no BPR16 and no service date: nothing proves the remittance older than the list
    [(code, severity, message)] = _found(_remit("CAS*CO*306*20", payment_date=None))
    assert (code, severity) == ("carc_unknown", "warning")
    assert message.endswith("the remittance date is not known, so it may be a new code")


def test_code_retired_before_the_remittance_is_an_error():
    assert _found(_remit("CAS*CO*B5*20", payment_date="20170101")) == [
        ("carc_retired", "error", "CARC B5 was deactivated on 2016-05-01, before the remittance date")]
    assert _remit("CAS*CO*B5*20", payment_date="20160401").findings == []


# ------------------------------------------------------------------------------------------ generator


def test_generator_merges_source_codes_with_committed_dates(tmp_path: Path):
    # a committed list with dates, and a source that adds 278 and P27 and still lists the retired B5
    old = tmp_path / "carc.csv"
    old.write_text("# old\ncode,start,stop\n1,1995-01-01,\nB5,1995-01-01,2016-05-01\n45,1995-01-01,\n")
    written = gen._write_dated(old, "CARC.", "test source 9.9", "2026-10-01", "2026-12-07",
                               ["1", "45", "278", "B5", "P27"], gen._read_dated(old))
    assert written.added == ["278", "P27"]
    assert written.codes == 5
    assert old.read_text() == (
        "# CARC. code,start,stop; ISO dates; empty = not known. See SOURCES.md\n"
        "# source: test source 9.9\n# list_date: 2026-10-01\n# built: 2026-12-07\n"
        "code,start,stop\n1,1995-01-01,\n45,1995-01-01,\n278,,\nB5,1995-01-01,2016-05-01\nP27,,\n")


def test_generator_keeps_codes_the_source_lacks(tmp_path: Path):
    old = tmp_path / "rarc.csv"
    old.write_text("code,start,stop\nM72,1997-01-01,2003-10-16\n")
    gen._write_dated(old, "RARC.", "s", "2026-10-01", "2026-12-07", ["N911"], gen._read_dated(old))
    assert gen._read_dated(old) == {"M72": ("1997-01-01", "2003-10-16"), "N911": ("", "")}


def test_generator_refuses_an_undated_source_release():
    assert ("candidhealth", "1.37.0") in gen.RELEASE_DATES
    try:
        gen._version("no-such-package-for-cob")
    except gen.SourceMissing as exc:
        assert "pip install '.[codesets]'" in str(exc)
    else:
        raise AssertionError("a missing source package must be reported")


def test_generator_is_reproducible_from_day_to_day(tmp_path: Path):
    # the same source regenerated on a later day gives the same bytes (the built date of the list stays);
    # a list that changed carries the day it was rebuilt
    path = tmp_path / "carc.csv"
    path.write_text("code,start,stop\n1,1995-01-01,\n")
    gen._write_dated(path, "CARC.", "s 1.0", "2026-10-01", "2026-12-07", ["1", "278"], gen._read_dated(path))
    first = path.read_bytes()
    gen._write_dated(path, "CARC.", "s 1.0", "2026-10-01", "2026-12-09", ["1", "278"], gen._read_dated(path))
    assert path.read_bytes() == first
    gen._write_dated(path, "CARC.", "s 1.1", "2027-02-01", "2027-02-09", ["1", "278", "306"], gen._read_dated(path))
    assert "# list_date: 2027-02-01\n# built: 2027-02-09\n" in path.read_text()
    assert path.read_text().endswith("278,,\n306,,\n")
