"""`cob secondary` over several worker processes decides and writes exactly what a serial run does.

The workers each build only their share of the claims and payments, so the cases that matter are the ones
where one worker sees a problem the others cannot: a bad element inside a claim or a payment of one share.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader
from cob.edi.validate import validate_file
from cob.fixtures.generate import generate
from cob.billing.parallel import share_out
from cob.edi.scan import scan_claim_ids
from cob.billing.secondary import SecondaryOptions, run_secondary

NOW = dt.datetime(2026, 11, 22, 21, 0)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("gen")
    generate(out, seed=11, claims=240, claims_per_file=240, delimiters="*:~^", line_ending="lf")
    return next(out.glob("claims-*.837")), sorted(out.glob("remit*.835"))


def _run(claims: list[Path], remits: list[Path], out: Path, workers: int):
    return run_secondary(claims, remits, SecondaryOptions(out_dir=out, workers=workers, now=NOW))


def _outcomes(report) -> list[dict]:
    rows = []
    for claim in report.claims:
        row = claim.model_dump()
        row["output"] = Path(row["output"]).name if row["output"] else None
        rows.append(row)
    return rows


def _written(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.glob("*.837"))}


def _same_as_serial(claims: list[Path], remits: list[Path], tmp_path: Path, workers: int = 2):
    serial = _run(claims, remits, tmp_path / "serial", 1)
    parallel = _run(claims, remits, tmp_path / f"parallel{workers}", workers)
    assert _outcomes(parallel) == _outcomes(serial)
    assert [i.model_dump() for i in parallel.inputs] == [i.model_dump() for i in serial.inputs]
    assert _written(tmp_path / f"parallel{workers}") == _written(tmp_path / "serial")
    assert not list((tmp_path / f"parallel{workers}").glob(".*")), "worker files left in the outbox"
    return serial, parallel


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_bill_what_a_serial_run_bills(inputs, tmp_path, workers):
    claims, remits = inputs
    serial, parallel = _same_as_serial([claims], remits, tmp_path, workers)
    assert serial.summary.billed > 150  # the fixture bills most of its claims: the comparison means something
    for path in (tmp_path / f"parallel{workers}").glob("*.837"):
        assert validate_file(path).errors == []


def test_a_bad_claim_in_the_second_share_stops_the_file_where_a_serial_run_stops(inputs, tmp_path):
    claims, remits = inputs
    text = claims.read_text()
    at = [m.start() for m in re.finditer(r"^CLM\*", text, re.M)][180]  # a claim in the last share
    end = text.index("\n", at)
    fields = text[at:end].split("*")
    fields[2] = "12X4"  # CLM02, the charge: not a number
    bad = tmp_path / "bad.837"
    bad.write_text(text[:at] + "*".join(fields) + text[end:])
    serial, _ = _same_as_serial([bad], remits, tmp_path)
    assert serial.inputs[-1].status == "error"
    assert sum(1 for c in serial.claims if c.reason == "original_claim_missing") > 10


def test_a_bad_payment_in_one_share_makes_the_835_unusable_for_every_worker(inputs, tmp_path):
    claims, remits = inputs
    big = max(remits, key=lambda p: p.stat().st_size)
    text = big.read_text()
    clps = [m.start() for m in re.finditer(r"^CLP\*", text, re.M)]
    at = clps[len(clps) * 3 // 4]
    end = text.index("\n", at)
    fields = text[at:end].split("*")
    fields[3] = "12X4"  # CLP03, the charge: not a number
    bad = tmp_path / big.name
    bad.write_text(text[:at] + "*".join(fields) + text[end:])
    serial, _ = _same_as_serial([claims], [bad if r == big else r for r in remits], tmp_path)
    assert [i.status for i in serial.inputs if i.file == str(bad)] == ["error"]


def test_claim_ids_are_found_with_any_delimiters_and_line_endings(tmp_path):
    generate(tmp_path, seed=5, claims=30, claims_per_file=30, delimiters="|^!~", line_ending="crlf")
    path = next(tmp_path.glob("claims-*.837"))
    assert scan_claim_ids(path) == [c.claim_id for c in X12Reader(path)]


def test_claims_are_shared_out_in_contiguous_runs(tmp_path):
    generate(tmp_path, seed=5, claims=30, claims_per_file=30, delimiters="*:~^", line_ending="none")
    path = next(tmp_path.glob("claims-*.837"))
    ids = [c.claim_id for c in X12Reader(path)]
    owner = share_out([path], 3)
    assert [owner[i] for i in ids] == [0] * 10 + [1] * 10 + [2] * 10


def test_an_impossible_service_date_makes_the_claim_file_bad_not_the_run(inputs, tmp_path):
    """A DTP*472 that is no date used to stop the whole run with a traceback when lines were matched."""
    claims, remits = inputs
    text = claims.read_text()
    at = text.index("DTP*472*D8*", [m.start() for m in re.finditer(r"^CLM\*", text, re.M)][200])
    bad = tmp_path / "bad-date.837"
    bad.write_text(text[:at] + "DTP*472*D8*20241341" + text[at + len("DTP*472*D8*20240131"):])
    serial, _ = _same_as_serial([bad], remits, tmp_path)
    problem = serial.inputs[-1]
    assert problem.status == "error"
    assert re.fullmatch(re.escape(str(bad)) + r": segment \d+ \(DTP\): segment: Value error, month must be in 1\.\.12",
                        problem.error)


@pytest.mark.parametrize("fmt, value, ok", [
    ("D8", "20240131", True), ("D8", "2024AB31", False), ("D8", "20240230", False), ("D8", "2024013", False),
    ("RD8", "20240101-20240131", True), ("RD8", "20240101", False), ("RD8", "20240101-2024013X", False),
    ("TM", "1230", True),  # formats the claim logic does not read as dates are left to the IG checks
])
def test_dtp_dates_are_checked_when_read(fmt, value, ok):
    from pydantic import ValidationError

    from cob.schemas.segments import DTP

    if ok:
        assert DTP(qualifier="472", format=fmt, value=value).value == value
    else:
        with pytest.raises(ValidationError, match="DTP03 is not a|day is out of range"):
            DTP(qualifier="472", format=fmt, value=value)


def _insert_after_line(text: str, at: int, segment: str) -> str:
    """`segment` as a new line after the line holding offset `at` (ended by the segment terminator that
    line ends with), the transaction's SE01 raised by one."""
    end = text.index("\n", at) + 1
    se = re.compile(r"^SE\*(\d+)\*", re.M).search(text, end)
    return (text[:end] + segment + text[end - 2] + "\n" + text[end:se.start()] + f"SE*{int(se.group(1)) + 1}*"
            + text[se.end():])


@pytest.mark.parametrize("stray", ["NM1*85*2*STRAY CLINIC*****XX*1234567893", "BHT*0019*00*X1*20240101*1200*CH",
                                   "NM1*IL*1*STRAY*PAT****MI*X1"])
def test_a_segment_out_of_order_after_a_claim_makes_the_claim_file_bad(inputs, tmp_path, stray):
    """A reader used to put such a segment in an earlier loop and silently lose the claims after it (they had
    no place there); now the walk places it nowhere and the reader says so as `cob validate` does. The
    workers, which skip other workers' claims unread, must agree with a serial run."""
    claims, remits = inputs
    text = claims.read_text()
    clm = [m.start() for m in re.finditer(r"^CLM\*", text, re.M)][150]
    line = text.index("\nLX*", clm) + 1  # the claim's first service line: the stray segment follows it
    bad = tmp_path / "stray.837"
    bad.write_text(_insert_after_line(text, line, stray))
    with pytest.raises(X12SyntaxError) as caught:
        list(X12Reader(bad))
    error = caught.value.error
    segment_no = text[:line].count("\n") + 2
    assert (error.code, error.segment_id, error.segment_no) == ("segment_unexpected", stray[:3].rstrip("*"), segment_no)
    assert error.claim_id == text[clm + 4:text.index("*", clm + 4)]
    assert error.message == f"segment_unexpected: segment {stray[:3].rstrip('*')} is not expected here (after 2400 LX)"
    found = [(f.code, f.segment_no, f.claim_id) for f in validate_file(bad, snip={1, 2}).errors]
    assert found == [(error.code, segment_no, error.claim_id)]
    serial, _ = _same_as_serial([bad], remits, tmp_path)
    assert serial.inputs[-1].status == "error" and serial.inputs[-1].error == str(error)


def test_a_ts3_after_a_payment_makes_the_835_bad(inputs, tmp_path):
    claims, remits = inputs
    big = max(remits, key=lambda p: p.stat().st_size)
    text = big.read_text()
    at = [m.start() for m in re.finditer(r"^CLP\*", text, re.M)][40]
    bad = tmp_path / big.name
    bad.write_text(_insert_after_line(text, at, "TS3*1234567893*11*20241231*1*100"))
    with pytest.raises(X12SyntaxError, match=r"segment \d+ \(TS3\): segment_unexpected: segment TS3 is not "
                                             r"expected here \(after 2100 CLP\)"):
        list(X12Reader(bad))
    serial, _ = _same_as_serial([claims], [bad if r == big else r for r in remits], tmp_path)
    assert [i.status for i in serial.inputs if i.file == str(bad)] == ["error"]


def test_a_declined_claim_is_skipped_unread_and_the_segments_still_counted(inputs, tmp_path):
    """`select` skips a declined claim's segments: what it keeps is what a full read gives, numbered the same,
    and the SE01 counts still check (a wrong count after skipped claims is still found)."""
    claims, _ = inputs
    every = list(X12Reader(claims))
    odd = {c.claim_id for c in every[1::2]}
    kept = list(X12Reader(claims, select=odd.__contains__))
    assert [(c.claim_id, c.source.segment_no) for c in kept] == \
        [(c.claim_id, c.source.segment_no) for c in every if c.claim_id in odd]
    assert [c.model_dump() for c in kept] == [c.model_dump() for c in every if c.claim_id in odd]
    wrong = re.sub(r"^SE\*(\d+)\*", lambda m: f"SE*{int(m.group(1)) - 1}*", claims.read_text(), count=1, flags=re.M)
    path = tmp_path / "wrong-se.837"
    path.write_text(wrong)
    for select in (None, odd.__contains__, lambda _id: False):
        with pytest.raises(X12SyntaxError, match=r"SE01 says \d+, the set has \d+ segments"):
            list(X12Reader(path, select=select))


def _fake_check(path: Path, parallel) -> list:
    if path.name.startswith("boom"):
        raise ValueError(f"cannot check {path.name}")
    return [path.name, path.stat().st_size, parallel]


def test_output_checks_run_in_processes_and_answer_in_the_order_asked(tmp_path):
    from cob.billing.output import OutputChecks

    paths = []
    for n, size in enumerate([10, 5000, 300, 7, 900]):
        path = tmp_path / f"f{n}.837"
        path.write_text("x" * size)
        paths.append(path)
    checks = OutputChecks(_fake_check, 2)
    checks.submit(paths[1])  # started early, as the join does
    assert checks.results(paths) == [[p.name, p.stat().st_size, False] for p in paths]
    bad = tmp_path / "boom.837"
    bad.write_text("x")
    with pytest.raises(ValueError, match="cannot check boom.837"):
        OutputChecks(_fake_check, 2).results([paths[0], bad])
