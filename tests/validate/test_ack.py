"""999 and TA1 acknowledgments written from hand-built `FileResult`s.

Every 999 written here is also checked three ways: exact segments for the cases that matter, pyx12's
005010X231A1 map (the oracle validates the 999 body: codes, lengths, loops), and our own envelope
reader (SE01/GE01/IEA01 counts and control-number agreement). cob.edi.reader only reads 837/835, so the
999s are not read back into models. pyx12 has no map for an interchange holding only a TA1 (its
control map requires a GS loop), so TA1 files are checked segment by segment and through our tokenizer.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest

from cob.edi.envelope import CounterControlNumbers, EnvelopeReader, Party
from cob.edi.tokens import DEFAULT_DELIMITERS, SegmentReader
from cob.edi.validate.ack import (
    AckError,
    ack_delimiters,
    group_response,
    ik303_loop_id,
    needs_ta1,
    set_response,
    ta1_response,
    write_999,
    write_acks,
    write_ta1,
)
from cob.edi.validate.findings import ERROR, WARNING, FileResult, Finding, Group, Interchange, TransactionSet

try:
    from pyx12_oracle import pyx12_available, pyx12_report, pyx12_validate
except ImportError:  # run from the repository root without tests/ on sys.path
    from tests.pyx12_oracle import pyx12_available, pyx12_report, pyx12_validate

NOW = dt.datetime(2026, 11, 22, 13, 45)
X222 = "005010X222A1"


# --------------------------------------------------------------------------------------------------
# builders


def finding(severity: str = ERROR, snip: int = 2, **kw) -> Finding:
    return Finding(snip=snip, severity=severity, code=kw.pop("code", "test"), message="test", file="claims.837",
                   **kw)


def tset(st02: str, *findings: Finding, st01: str = "837", st03: str | None = X222,
         trailer_missing: bool = False) -> TransactionSet:
    return TransactionSet(st01, st02, st03, 3, list(findings), trailer_missing)


def group(gs06: str, *sets: TransactionSet, findings: list[Finding] | None = None, gs01: str = "HC",
          gs02: str = "SUBMITTERAPP", gs03: str = "RECEIVERAPP", trailer_missing: bool = False) -> Group:
    return Group(gs01, gs02, gs03, gs06, X222, 2, list(sets), list(findings or []), trailer_missing)


def interchange(*groups: Group, isa13: str = "000000017", isa14: str = "0", findings: list[Finding] | None = None,
                **delims) -> Interchange:
    return Interchange("ZZ", "SUBMITTER      ", "30", "RECEIVER       ", "261121", "0930", isa13, isa14, "T", 1,
                       groups=list(groups), findings=list(findings or []), **delims)


def missing_nm1() -> Finding:
    """2010BB payer name missing: IK304 3 at the position where it was expected."""
    return finding(code="segment_missing", segment_id="NM1", st_segment_no=12, loop="2010BB", ik3="3",
                   segment_no=14)


def bad_code(claim_id: str | None = "PCN-1") -> Finding:
    """CLM05-01 place of service not a valid code (IK403 7), bad value safe to echo."""
    return finding(code="invalid_code", segment_id="CLM", st_segment_no=20, loop="2300", ik3="8", ik4="7",
                   element_pos=5, component_pos=1, data_ele="1331", bad_value="99", claim_id=claim_id,
                   segment_no=22)


def too_long() -> Finding:
    """SV101-02 procedure code too long (IK403 5), value not copied."""
    return finding(snip=1, code="too_long", segment_id="SV1", st_segment_no=31, loop="2400", ik3="8", ik4="5",
                   element_pos=1, component_pos=2, data_ele="234", claim_id="PCN-1", segment_no=33)


def wrong_se01() -> Finding:
    return finding(snip=1, code="se_count", segment_id="SE", st_segment_no=40, ik5="4", segment_no=42)


def wrong_ge01() -> Finding:
    return finding(snip=1, code="ge_count", segment_id="GE", ak9="5", segment_no=90)


def segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


def body(text: str) -> list[str]:
    """The segments from ST to SE of a one-set 999 (ISA/GS dates and control numbers tested apart)."""
    segs = segments(text)
    return segs[2:-2]


def check_999(path: Path) -> None:
    """pyx12 accepts the 999 and our envelope reader finds the counts and control numbers right."""
    if pyx12_available():
        report = pyx12_report(path)
        assert report.ok, report.errors
    for _ in EnvelopeReader(path, strict=True):
        pass


def write(tmp_path: Path, ic: Interchange, name: str = "ack.999", **kw) -> tuple[Path, str]:
    path = tmp_path / name
    write_999(ic, path, now=NOW, control_numbers=CounterControlNumbers(start=501), **kw)
    check_999(path)
    return path, path.read_text()


# --------------------------------------------------------------------------------------------------
# 999: exact segments


def test_accepted_set_exact(tmp_path):
    _, text = write(tmp_path, interchange(group("17", tset("0001"))))
    assert segments(text) == [
        "ISA*00*          *00*          *30*RECEIVER       *ZZ*SUBMITTER      *261122*1345*^*00501*000000501*0*T*:",
        "GS*FA*RECEIVERAPP*SUBMITTERAPP*20261122*1345*501*X*005010X231A1",
        "ST*999*0001*005010X231A1",
        "AK1*HC*17*005010X222A1",
        "AK2*837*0001*005010X222A1",
        "IK5*A",
        "AK9*A*1*1*1",
        "SE*6*0001",
        "GE*1*501",
        "IEA*1*000000501",
    ]


def test_segment_and_element_errors_exact(tmp_path):
    """Missing segment (IK304 3), invalid code (IK403 7 + IK404 copy), too long (IK403 5, no copy),
    the 837 claim named in CTX, and the set rejected with I5 (implementation) and 5 (syntax)."""
    ts = tset("0002", too_long(), bad_code(), missing_nm1())
    _, text = write(tmp_path, interchange(group("17", ts)))
    assert body(text) == [
        "ST*999*0001*005010X231A1",
        "AK1*HC*17*005010X222A1",
        "AK2*837*0002*005010X222A1",
        "IK3*NM1*12*2010*3",
        "IK3*CLM*20*2300*8",
        "CTX*CLM01:PCN-1",
        "IK4*5:1*1331*7*99",
        "IK3*SV1*31*2400*8",
        "CTX*CLM01:PCN-1",
        "IK4*1:2*234*5",
        "IK5*R*5*I5",
        "AK9*R*1*1*0",
        "SE*13*0001",
    ]


def test_wrong_se01_exact(tmp_path):
    """A set-level error has no IK3: IK5 R with IK502 4."""
    _, text = write(tmp_path, interchange(group("17", tset("0003", wrong_se01()))))
    assert body(text)[2:] == ["AK2*837*0003*005010X222A1", "IK5*R*4", "AK9*R*1*1*0", "SE*6*0001"]


def test_wrong_ge01_rejects_group_exact(tmp_path):
    """GE01 wrong: AK905 5, the group rejected and none of its sets counted as accepted."""
    ic = interchange(group("18", tset("0001"), tset("0002"), findings=[wrong_ge01()]))
    _, text = write(tmp_path, ic)
    assert body(text) == [
        "ST*999*0001*005010X231A1",
        "AK1*HC*18*005010X222A1",
        "AK2*837*0001*005010X222A1",
        "IK5*A",
        "AK2*837*0002*005010X222A1",
        "IK5*A",
        "AK9*R*2*2*0*5",
        "SE*8*0001",
    ]


def test_partially_accepted_group(tmp_path):
    ic = interchange(group("19", tset("0001"), tset("0002", bad_code()), tset("0003"), tset("0004", wrong_se01())))
    _, text = write(tmp_path, ic)
    segs = body(text)
    assert [s for s in segs if s.startswith("IK5")] == ["IK5*A", "IK5*R*I5", "IK5*A", "IK5*R*4"]
    assert segs[-2] == "AK9*P*4*4*2"


def test_several_groups_and_interchange_layout(tmp_path):
    """One ST*999 per inbound group, numbered apart; groups from another application sender get their
    own ISA/GS*FA in the same file (so GS06 stays unique); counts checked by the envelope reader."""
    g1 = group("21", tset("0001"), tset("0002", missing_nm1()))
    g2 = group("22", tset("0001"))
    g3 = group("23", tset("0001", bad_code()), gs02="OTHERAPP")
    _, text = write(tmp_path, interchange(g1, g2, g3))
    segs = segments(text)
    envelope = [s if s[:3] != "ISA" else s.split("*")[13] for s in segs
                if s[:2] in ("IS", "GS", "ST", "SE", "GE", "IE") or s[:3] in ("AK1", "AK9")]
    assert envelope == [
        "000000501",
        "GS*FA*RECEIVERAPP*SUBMITTERAPP*20261122*1345*501*X*005010X231A1",
        "ST*999*0001*005010X231A1", "AK1*HC*21*005010X222A1", "AK9*P*2*2*1", "SE*9*0001",
        "ST*999*0002*005010X231A1", "AK1*HC*22*005010X222A1", "AK9*A*1*1*1", "SE*6*0002",
        "GE*2*501",
        "IEA*1*000000501",
        "000000502",
        "GS*FA*RECEIVERAPP*OTHERAPP*20261122*1345*502*X*005010X231A1",
        "ST*999*0003*005010X231A1", "AK1*HC*23*005010X222A1", "AK9*R*1*1*0", "SE*9*0003",
        "GE*1*502",
        "IEA*1*000000502",
    ]


# --------------------------------------------------------------------------------------------------
# 999: rules


def test_warnings_are_not_reported():
    ts = tset("0001", finding(WARNING, code="carc_retired", segment_id="CAS", st_segment_no=50, loop="2430",
                              ik3="8", ik4="7", element_pos=2, data_ele="1034", bad_value="A1"))
    segs, accepted = set_response(ts)
    assert accepted and segs == [["AK2", "837", "0001", X222], ["IK5", "A"]]


def test_uncoded_errors_locate_or_reject(tmp_path):
    """A SNIP 3 balancing error has no 999 code: an IK3 without IK304 names the segment; an error
    without position only rejects the set. Either way the set carries I5."""
    located = finding(snip=3, code="clm_balance", segment_id="CLM", st_segment_no=20, loop="2300",
                      claim_id="PCN-9")
    segs, accepted = set_response(tset("0001", located))
    assert not accepted
    assert segs[1:] == [["IK3", "CLM", "20", "2300", ""], ["CTX", ["CLM01", "PCN-9"]], ["IK5", "R", "I5"]]
    write(tmp_path, interchange(group("17", tset("0001", located))))  # valid for pyx12 without IK304
    segs, accepted = set_response(tset("0001", finding(snip=3, code="x")))
    assert not accepted and segs[1:] == [["IK5", "R", "I5"]]


def test_same_segment_element_errors_share_one_ik3_and_codes_capped():
    f1 = bad_code()
    f2 = finding(code="bad_date", segment_id="CLM", st_segment_no=20, loop="2300", ik4="8", element_pos=7,
                 data_ele="1359", claim_id="PCN-1")
    set_codes = [finding(snip=1, ik5=c) for c in ("1", "2", "3", "4", "6", "7")]
    segs, _ = set_response(tset("0001", f1, f2, *set_codes))
    assert [s[0] for s in segs] == ["AK2", "IK3", "CTX", "IK4", "IK4", "IK5"]
    assert segs[4] == ["IK4", ["7", "", ""], "1359", "8", ""]
    assert segs[-1] == ["IK5", "R", "1", "2", "3", "4", "6"]  # five codes at most


def test_ik404_only_when_safe():
    long_value = finding(segment_id="CLM", st_segment_no=20, ik4="5", element_pos=5, bad_value="9" * 100)
    delimiter = finding(segment_id="CLM", st_segment_no=20, ik4="7", element_pos=6, bad_value="A*B")
    no_value = finding(segment_id="NM1", st_segment_no=9, ik4="5", element_pos=3)  # a name: never carried
    segs, _ = set_response(tset("0001", long_value, delimiter, no_value))
    assert [s[4] for s in segs if s[0] == "IK4"] == ["", "", ""]


def test_repetition_position_and_835_has_no_claim_context(tmp_path):
    f = finding(code="invalid_code", segment_id="LQ", st_segment_no=25, loop="2110", ik4="7", element_pos=2,
                repeat_pos=3, data_ele="1271", bad_value="N999", claim_id="CLP-1")
    ts = tset("1001", f, st01="835", st03="005010X221A1")
    g = Group("HP", "PAYER", "PROVIDER", "5", "005010X221A1", 2, [ts])
    _, text = write(tmp_path, interchange(g))
    assert body(text)[2:6] == ["AK2*835*1001*005010X221A1", "IK3*LQ*25*2110*8", "IK4*2::3*1271*7*N999",
                               "IK5*R*I5"]


def test_set_without_st03_and_missing_trailers(tmp_path):
    ts = tset("0001", st03=None, trailer_missing=True)
    g = group("30", ts, trailer_missing=True)
    _, text = write(tmp_path, interchange(g))
    assert body(text)[2:] == ["AK2*837*0001", "IK5*R*2", "AK9*R*1*1*0*3", "SE*6*0001"]


def test_max_segment_errors_and_claim_context_off():
    ts = tset("0001", missing_nm1(), bad_code(), too_long())
    segs, _ = set_response(ts, max_segment_errors=1, claim_context=False)
    assert [s[0] for s in segs] == ["AK2", "IK3", "IK5"]


def test_group_response_counts_its_own_segments():
    segs = group_response(group("17", tset("0001"), tset("0002", bad_code())), "0042")
    assert segs[0] == ["ST", "999", "0042", "005010X231A1"] and segs[-1] == ["SE", str(len(segs)), "0042"]


def test_ik303_loop_id():
    assert [ik303_loop_id(x) for x in ("2300", "2010BB", "2330B", "1000A", "HEADER", "ST_LOOP", None)] == [
        "2300", "2010", "2330", "1000", None, None, None]


def test_inbound_delimiters_reused(tmp_path):
    ic = interchange(group("17", tset("0001", bad_code())), element_sep="|", component_sep=">",
                     repetition_sep="{", segment_term="'")
    path = tmp_path / "pipe.999"
    write_999(ic, path, now=NOW)
    check_999(path)
    lines = path.read_text().splitlines()
    assert lines[0][3] == "|" and lines[0][82] == "{" and lines[0][104] == ">" and lines[0][105] == "'"
    assert "IK4|5>1|1331|7|99'" in lines
    # a whitespace terminator or clashing separators fall back to * : ^ ~
    assert ack_delimiters(interchange(segment_term="\n")) == DEFAULT_DELIMITERS
    assert ack_delimiters(interchange(component_sep="*")) == DEFAULT_DELIMITERS
    assert ack_delimiters(interchange(repetition_sep=None)) == DEFAULT_DELIMITERS


def test_stream_output_and_no_group():
    out = io.StringIO()
    assert write_999(interchange(), out, now=NOW) is None and out.getvalue() == ""
    inbound_ack = Group("FA", "A", "B", "9", "005010X231A1", 2, [tset("0001", st01="999")])
    assert write_999(interchange(inbound_ack), out, now=NOW) is None
    isa13 = write_999(interchange(group("17", tset("0001"))), out, now=NOW,
                      sender=Party("ZZ", "CLEARINGHOUSE"), receiver=Party("ZZ", "PROVIDER"))
    assert isa13 == 1 and "*ZZ*CLEARINGHOUSE  *ZZ*PROVIDER       *" in out.getvalue()


# --------------------------------------------------------------------------------------------------
# TA1


def ta1_text(ic: Interchange) -> list[str]:
    out = io.StringIO()
    write_ta1(ic, out, now=NOW, control_numbers=CounterControlNumbers(start=7))
    return segments(out.getvalue())


def test_ta1_rejected_exact(tmp_path):
    bad = finding(snip=1, code="isa_control_duplicate", segment_id="ISA", segment_no=1, ta1="025")
    later = finding(snip=1, code="iea_count", segment_id="IEA", segment_no=99, ta1="021")
    ic = interchange(group("17", tset("0001")), findings=[bad, later])
    assert needs_ta1(ic) and ta1_response(ic) == ("R", "025")
    assert ta1_text(ic) == [
        "ISA*00*          *00*          *30*RECEIVER       *ZZ*SUBMITTER      *261122*1345*^*00501*000000007*0*T*:",
        "TA1*000000017*261121*0930*R*025",
        "IEA*0*000000007",
    ]


def test_ta1_on_request_and_warnings():
    ic = interchange(group("17", tset("0001")), isa14="1")
    assert needs_ta1(ic) and not needs_ta1(ic, on_request=False)
    assert ta1_text(ic)[1] == "TA1*000000017*261121*0930*A*000"
    warned = interchange(findings=[finding(WARNING, snip=1, segment_id="ISA", ta1="020")])
    assert needs_ta1(warned, on_request=False) and ta1_response(warned) == ("E", "020")
    uncoded = interchange(findings=[finding(snip=1, segment_id="IEA")])
    assert ta1_response(uncoded) == ("R", "022")
    assert not needs_ta1(interchange(group("17", tset("0001"))))


def test_ta1_malformed_control_number_echo():
    assert ta1_text(interchange(isa13="17", findings=[finding(snip=1, ta1="018")]))[1].startswith("TA1*000000017*")
    assert ta1_text(interchange(isa13="ABC", findings=[finding(snip=1, ta1="018")]))[1].startswith("TA1*000000000*")


def test_ta1_envelope_and_pyx12(tmp_path):
    """Our tokenizer reads the TA1 interchange: ISA13 = IEA02, no group (IEA01 0). pyx12's control map
    requires a GS loop, so its only objection to a bare TA1 interchange must be that loop."""
    path = tmp_path / "x.ta1"
    write_ta1(interchange(isa14="1"), path, now=NOW)
    segs = [elements for elements, _ in SegmentReader(path)]
    assert [s[0] for s in segs] == ["ISA", "TA1", "IEA"]
    assert segs[2][1] == "0" and segs[2][2] == segs[0][13]
    assert len(segs[1]) == 6
    if pyx12_available():
        ok, errors = pyx12_validate(path)
        assert not ok and errors and all("GS_LOOP" in e for e in errors), errors


# --------------------------------------------------------------------------------------------------
# write_acks


def file_result(*interchanges: Interchange, truncated: bool = False) -> FileResult:
    return FileResult("/in/claims.837", list(interchanges), truncated=truncated)


def test_write_acks_names_numbers_and_atomicity(tmp_path):
    ok = interchange(group("17", tset("0001")), isa13="000000017", isa14="1")
    bad = interchange(group("18", tset("0001", missing_nm1())), isa13="000000018")
    rejected = interchange(group("19", tset("0001")), isa13="000000019",
                           findings=[finding(snip=1, segment_id="ISA", ta1="006")])
    again = interchange(group("20", tset("0001")), isa13="000000018")
    paths = write_acks(file_result(ok, bad, rejected, again), tmp_path / "acks", now=NOW,
                       control_numbers=CounterControlNumbers(start=100))
    assert [p.name for p in paths] == [
        "claims.837.000000017.ta1", "claims.837.000000017.999", "claims.837.000000018.999",
        "claims.837.000000019.ta1", "claims.837.000000018-4.999"]
    # control numbers drawn in order from one source; no temp files left behind
    isa13s = [segments(p.read_text())[0].split("*")[13] for p in paths]
    assert isa13s == ["000000100", "000000101", "000000102", "000000103", "000000104"]
    assert sorted(os.listdir(tmp_path / "acks")) == sorted(p.name for p in paths)
    assert segments(paths[3].read_text())[1] == "TA1*000000019*261121*0930*R*006"
    for p in paths:
        if p.suffix == ".999":
            check_999(p)


def test_write_acks_refuses_truncated_results(tmp_path):
    with pytest.raises(AckError):
        write_acks(file_result(interchange(group("17", tset("0001"))), truncated=True), tmp_path)
    assert not list(tmp_path.iterdir())


def test_failed_write_leaves_nothing(tmp_path):
    """A value that cannot be written with the ack's delimiters aborts the file; nothing appears."""
    ic = interchange(group("17", tset("00*1")))
    with pytest.raises(ValueError):
        write_999(ic, tmp_path / "x.999", now=NOW)
    assert not list(tmp_path.iterdir())


def test_codes_outside_the_map_are_dropped(tmp_path):
    """An unknown segment id (IK304 1 on 'ZZZZ') cannot be an IK301, and codes the 999 map does not
    list would make our own 999 invalid: both are left out, the set and group are still rejected."""
    unknown = finding(snip=1, code="unknown_segment", segment_id="ZZZZ", st_segment_no=15, ik3="1")
    odd = finding(snip=1, code="x", ik5="99")
    ic = interchange(group("17", tset("0001", unknown, odd), findings=[finding(snip=1, ak9="99")]))
    _, text = write(tmp_path, ic)
    assert body(text)[2:] == ["AK2*837*0001*005010X222A1", "IK5*R*I5", "AK9*R*1*1*0", "SE*6*0001"]
    assert ta1_response(interchange(findings=[finding(snip=1, ta1="999")])) == ("R", "022")
