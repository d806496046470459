"""Issue 15 clause 3: false alarms found on real files, each on a hand-written file.

- A second PLB in one 835 is not a second footer loop (`loop_repeat`): the 835 guide lets PLB repeat
  (six adjustments each). pyx12 counts it as a loop repeat; the disagreement is in
  differential_disagreements.json.
- SNIP 3 never reports a sum that leaves out a segment present in the file: a claim (or an 835 set) in
  which a segment could not be placed gets one `balance_not_checked` warning instead of `clp_balance` /
  `svc_balance` / `bpr_balance` / the 837 COB equations.
"""

from __future__ import annotations

import io
from pathlib import Path

from cob.edi.parse import parse_files
from cob.edi.validate import validate_file

DATA = Path(__file__).parent.parent / "data"
REMIT = (DATA / "primary-remit.835").read_text()  # CLP 250 / 116, lines 200-100=100 and 50-34=16
CLAIM = (DATA / "cob-claim.837").read_text()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _codes(result) -> list[str]:
    return [f.code for f in result.findings]


def _remit(body_edit=lambda s: s, plb: str = "", bpr: str = "116", se: int = 23) -> str:
    text = body_edit(REMIT).replace("BPR*I*116*", f"BPR*I*{bpr}*")
    return text.replace("SE*23*0001~", f"{plb}SE*{se}*0001~")


# ------------------------------------------------------------------------------------------ PLB


def test_two_plb_segments_are_one_footer(tmp_path):
    # 12 provider adjustments L6 of 1.00 each in two PLBs: BPR02 = 116 - 12 = 104
    plbs = "".join(f"PLB*1234567893*20261231*L6:A{i}*1*L6:B{i}*1*L6:C{i}*1*L6:D{i}*1*L6:E{i}*1*L6:F{i}*1~\n"
                   for i in range(2))
    path = _write(tmp_path, "plb.835", _remit(plb=plbs, bpr="104", se=25))
    result = validate_file(path)
    assert _codes(result) == []
    assert result.valid


def test_two_plb_segments_still_balance_bpr(tmp_path):
    # BPR02 110 != 116 - 12 = 104: the second PLB is counted in the sum (it is not dropped as a bad loop)
    plbs = "".join(f"PLB*1234567893*20261231*L6:A{i}*1*L6:B{i}*1*L6:C{i}*1*L6:D{i}*1*L6:E{i}*1*L6:F{i}*1~\n"
                   for i in range(2))
    result = validate_file(_write(tmp_path, "plb.835", _remit(plb=plbs, bpr="110", se=25)))
    [f] = result.findings
    assert f.code == "bpr_balance"
    assert f.message == ("BPR02 110 != claim payments (sum of CLP04) 116 - provider adjustments (PLB) 12 = 104")


def test_reader_reads_every_plb(tmp_path):
    plbs = "PLB*1234567893*20261231*L6:A*1~\nPLB*1234567893*20261231*WO:B*2~\n"
    path = _write(tmp_path, "plb.835", _remit(plb=plbs, bpr="113", se=25))
    out = io.StringIO()
    [parsed] = list(parse_files([path], out))
    assert parsed.ok, parsed.errors
    assert parsed.items == 3  # one claim payment, two provider adjustments
    assert out.getvalue().count('"plb"') == 2


# ------------------------------------------------------------------------------------------ balancing


def test_835_unplaced_cas_is_not_a_false_clp_sum(tmp_path):
    # line 1's CAS*PR*3*20 moved after its REF*6R: not placeable there (CAS comes before REF in 2110).
    # Over the placed segments only, line 1 would be 200 - 80 = 120 != 100 and CLP 250 - 114 = 136 != 116:
    # both false. Expected: the structural error, and one warning that the claim is not balanced.
    moved = _remit(lambda s: s.replace("CAS*PR*3*20~\nREF*6R*L1~", "REF*6R*L1~\nCAS*PR*3*20~"))
    result = validate_file(_write(tmp_path, "moved.835", moved))
    got = [(f.code, f.severity, f.segment_no) for f in result.findings]
    # segment 19 is the moved CAS; the claim's CLP is segment 13; the set's BPR segment 4
    assert got == [("segment_unexpected", "error", 19),
                   ("balance_not_checked", "warning", 13),
                   ("balance_not_checked", "warning", 4)]
    claim_warning = result.findings[1]
    assert claim_warning.message == ("claim not balanced: segment 19 (CAS) could not be placed, so a sum "
                                     "over the segments that were would leave it out")
    assert claim_warning.claim_id == "PCN123"
    assert result.findings[2].message.startswith("BPR02 not balanced against the claims: segment 19 (CAS)")


def test_835_balance_still_checked_without_structural_error(tmp_path):
    # the same file with CLP04 120: 250 - 0 - 134 = 116 != 120 is a true sum and is reported
    result = validate_file(_write(tmp_path, "ok.835", _remit(lambda s: s.replace("*250*116*", "*250*120*"),
                                                            bpr="120")))
    assert _codes(result) == ["clp_balance"]


def test_837_unplaced_svd_is_not_a_false_cob_sum(tmp_path):
    # line 2's SVD (paid 16) moved after its DTP*573: the segment cannot be placed there, and without it
    # the payer's line sums (AMT*D 116 = 100 + 16) would come out false.
    text = CLAIM.replace("SVD*11111*16*HC:87880:QW**2~\nCAS*CO*45*20~\nCAS*PR*1*10**2*4~\nDTP*573*D8*20260301~\n",
                         "DTP*573*D8*20260301~\nSVD*11111*16*HC:87880:QW**2~\nCAS*CO*45*20~\nCAS*PR*1*10**2*4~\n")
    assert text != CLAIM
    result = validate_file(_write(tmp_path, "moved.837", text))
    snip3 = [f for f in result.findings if f.snip == 3]
    assert [(f.code, f.severity) for f in snip3] == [("balance_not_checked", "warning")]
    assert "could not be placed" in snip3[0].message
    assert any(f.code.startswith("segment_") and f.snip == 2 for f in result.findings)
