"""Issue 15 clause 7 (and issue 13 item 11): masking that protects patients and lets engineers fix files.

Person data -- patient and subscriber names, member ids, birth dates, addresses, the patient control
(account) number -- is masked in every quoted segment; envelope ids, versions, control numbers, provider
names and NPIs, amounts and codes are shown. The same segment is masked the same way wherever the walker
placed it (or did not place it); a segment whose separator was damaged is masked too; `--show-values`
turns masking off and says so in --help.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cob.cli import main
from cob.edi.validate import validate_file
from cob.edi.validate.masking import mask_segment

DATA = Path(__file__).parent.parent / "data"
CLAIM = (DATA / "cob-claim.837").read_text()


def _m(text: str) -> str:
    return mask_segment(text.split("*"))


def test_person_segments_are_masked():
    assert _m("NM1*IL*1*TESTER*ALEX****MI*SEC123456") == "NM1*IL*1*######*####****MI*#########"
    assert _m("NM1*QC*1*TESTER*SAM") == "NM1*QC*1*######*###"
    assert _m("N3*1 ELM ST") == "N3*########"
    assert _m("N4*SPRINGFIELD*IL*62701") == "N4*###########*IL*#####"
    assert _m("DMG*D8*19800101*F") == "DMG*D8*########*F"
    assert _m("REF*1W*MEMBER99") == "REF*1W*########"
    assert _m("REF*SY*123456789") == "REF*SY*#########"
    assert _m("CLM*PCN123*250***11:B:1*Y*A*Y*Y") == "CLM*######*250***11:B:1*Y*A*Y*Y"
    assert _m("CLP*PCN123*1*250*116*34*12*ICN987") == "CLP*######*1*250*116*34*12*ICN987"
    assert _m("DTP*472*D8*20260215") == "DTP*472*D8*########"
    assert _m("NTE*ADD*CALL PATIENT AT HOME") == "NTE*ADD*" + "#" * len("CALL PATIENT AT HOME")


def test_what_engineers_need_is_shown():
    isa = "ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *260301*1200*^*00501*000000101*0*P*:"
    assert _m(isa) == ("ISA*00*##########*00*##########*ZZ*SUBMITTERID    *ZZ*RECEIVERID     *260301*1200*^*00501*"
                       "000000101*0*P*:")
    for text in ("GS*HC*SUBMITTERID*RECEIVERID*20260301*1200*101*X*005010X222A1", "ST*837*0001*005010X222A1",
                 "BHT*0019*00*BATCH0001*20260301*1200*CH", "NM1*85*2*NORTHWIND CLINIC*****XX*1234567893",
                 "NM1*PR*2*PRIMARY PLAN*****PI*11111", "REF*F8*ICN987", "REF*6R*L1", "REF*EI*123456789",
                 "SV1*HC:99214*200*UN*1***1:2", "HI*ABK:J069*ABF:R051", "CAS*CO*45*80", "AMT*D*116",
                 "SBR*S*18*GRP200******CI", "SVC*HC:99214*200*100**1", "TRN*1*T1*1999999999"):
        assert _m(text) == text, text


def test_envelope_values_out_of_shape_are_masked():
    # a count or control number that is not one is data in the wrong place (a member id in SE01)
    assert _m("SE*25*0001") == "SE*25*0001"
    assert _m("SE*JAH450165023X*0001") == "SE*#############*0001"
    assert _m("ST*837*1046 CHUR*005010X222A1") == "ST*837*#########*005010X222A1"
    assert _m("ST*837*JAH4501650*005010X222A1") == "ST*837*##########*005010X222A1"
    assert _m("GE*1*42") == "GE*1*42" and _m("GE*1*SMITH") == "GE*1*#####"
    assert _m("IEA*1*000000905") == "IEA*1*000000905" and _m("IEA*X1*000000905") == "IEA*##*000000905"


def test_damaged_segment_is_masked():
    # issue 13 item 11: N3*9403 SPRING ST with the separator turned into # is one "element"
    assert _m("N3#9403 SPRING ST") == "N3###############"
    assert mask_segment(["X*Y", "SMITH"]) == "X##*#####"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_damaged_segment_in_a_report_is_masked(tmp_path):
    path = _write(tmp_path, "n3.837", CLAIM.replace("N3*1 ELM ST~", "N3#9403 SPRING ST~"))
    result = validate_file(path)
    texts = [f.segment_text for f in result.findings if f.segment_no == 17]
    assert texts and all(t == "N3###############" for t in texts), texts
    assert "SPRING" not in json.dumps([f.to_json() for f in result.findings])


def test_same_segment_masked_the_same_wherever_placed(tmp_path):
    # one subscriber NM1 with a bad NM108 (QQ) in 2010BA, the same in 2330A, and once more where it
    # cannot be placed (after CLM): three findings, one masked text
    bad = "NM1*IL*1*TESTER*ALEX****QQ*SEC123456~"
    text = (CLAIM.replace("NM1*IL*1*TESTER*ALEX****MI*SEC123456~", bad)
            .replace("NM1*IL*1*TESTER*ALEX****MI*PRIM123~", bad)
            .replace("HI*ABK:J069*ABF:R051~", "HI*ABK:J069*ABF:R051~\n" + bad)
            .replace("SE*45*", "SE*46*"))
    result = validate_file(_write(tmp_path, "places.837", text))
    quoted = {(f.loop, f.segment_text) for f in result.findings if f.segment_id == "NM1" or f.code == "segment_unexpected"}
    assert {t for _loop, t in quoted} == {"NM1*IL*1*######*####****QQ*#########"}
    assert {loop for loop, _t in quoted} >= {"2010BA", "2330A", None}


def test_json_report_has_no_person_data_but_what_engineers_need(tmp_path):
    # every segment with an error: a bad NM108 everywhere it matters, a bad state, a bad NPI digit
    text = (CLAIM.replace("****MI*", "****QQ*").replace("N4*SPRINGFIELD*IL*62701~", "N4*SPRINGFIELD*XX*62701~")
            .replace("DMG*D8*19800101*F~", "DMG*D8*19800101*Q~"))
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(_write(tmp_path, "phi.837", text))])
    assert result.exit_code == 1
    out = result.output
    for secret in ("TESTER", "ALEX", "SEC123456", "PRIM123", "19800101", "ELM ST", "62701", "SPRINGFIELD"):
        assert secret not in out, secret
    report = json.loads(out)
    texts = [f["segment_text"] for f in report["files"][0]["errors"]]
    assert "NM1*IL*1*######*####****QQ*#########" in texts
    assert "N4*###########*XX*#####" in texts
    assert "DMG*D8*########*Q" in texts


def test_show_values_turns_masking_off_and_says_so(tmp_path):
    path = _write(tmp_path, "n3.837", CLAIM.replace("N3*1 ELM ST~", "N3#9403 SPRING ST~"))
    shown = CliRunner().invoke(main, ["validate", "--show-values", str(path)])
    assert "N3#9403 SPRING ST" in shown.output
    masked = CliRunner().invoke(main, ["validate", str(path)])
    assert "SPRING" not in masked.output and "N3###############" in masked.output
    help_text = CliRunner().invoke(main, ["validate", "--help"]).output
    assert "--show-values" in help_text and "local debugging" in help_text
    assert "masked" in help_text


def test_show_values_reaches_the_claim_rules(tmp_path):
    # a SNIP 5 finding (bad NPI check digit in a claim) quotes its segment through the claim rules
    text = CLAIM.replace("NM1*IL*1*TESTER*ALEX****MI*PRIM123~", "NM1*IL*1*TESTER*ALEX****MI*PRIM123~")
    text = text.replace("XX*1234567893~", "XX*1234567890~")
    path = _write(tmp_path, "npi.837", text)
    assert validate_file(path, show_values=True).findings[0].segment_text == \
        "NM1*85*2*NORTHWIND CLINIC*****XX*1234567890"
    assert validate_file(path, show_values=True, parallel=True).findings[0].segment_text == \
        "NM1*85*2*NORTHWIND CLINIC*****XX*1234567890"
