"""Issue 15 clause 4: misses found on real files and on files with one planted defect, each planted here
by hand into the reference files (tests/data: cob-claim.837 passes; primary-remit.835 passes).

- HL04 (hierarchical child code) 1 on a level with no child (and 0 on a level with one);
- SV107 diagnosis pointers beyond the number of HI diagnosis codes;
- CLP05 different from the sum of the PR adjustments (warning);
- a date of service after the remittance date (835 BPR16; 837 prior payer DTP*573);
- the repetition separator (ISA11) inside element data.
"""

from __future__ import annotations

from pathlib import Path

from cob.edi.validate import validate_file

DATA = Path(__file__).parent.parent / "data"
CLAIM = (DATA / "cob-claim.837").read_text()
REMIT = (DATA / "primary-remit.835").read_text()


def _validate(tmp_path: Path, name: str, text: str, old: str, new: str):
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return validate_file(path)


def _found(result):
    return [(f.code, f.severity, f.segment_no, f.message) for f in result.findings]


def test_reference_files_are_clean():
    assert validate_file(DATA / "cob-claim.837").findings == []
    assert validate_file(DATA / "primary-remit.835").findings == []


def test_hl04_says_child_but_none_follows(tmp_path):
    # the subscriber HL 2 (segment 14) is the last level: HL04 1 promises a patient HL that never comes
    result = _validate(tmp_path, "hl.837", CLAIM, "HL*2*1*22*0~", "HL*2*1*22*1~")
    assert _found(result) == [("hl_child_code", "error", 14, "HL04 of HL 2 says 1 (a child level follows) but "
                                                             "the transaction set ends")]
    f = result.findings[0]
    assert (f.snip, f.element, f.ik4, f.st_segment_no) == (4, "HL04", "I12", 12)


def test_hl04_says_no_child_but_one_follows(tmp_path):
    # the subscriber is not the patient: a 2000C patient HL 3 follows HL 2, whose HL04 still says 0
    patient = ("HL*3*2*23*0~\nPAT*19~\nNM1*QC*1*TESTER*SAM~\nN3*1 ELM ST~\nN4*SPRINGFIELD*IL*62701~\n"
               "DMG*D8*20100101*M~\nCLM*PCN123*")
    text = CLAIM.replace("SBR*S*18*GRP200******CI~", "SBR*S**GRP200******CI~").replace("SE*45*", "SE*51*")
    result = _validate(tmp_path, "hl.837", text, "CLM*PCN123*", patient)
    assert _found(result) == [("hl_child_code", "error", 14, "HL04 of HL 2 says 0 (no child level) but HL 3 "
                                                             "that follows is its child")]


def test_hl04_not_allowed_at_its_level_is_one_finding(tmp_path):
    # 2000A must say 1: the IG's code list reports it, and nothing more is said about the same element
    result = _validate(tmp_path, "hl.837", CLAIM, "HL*1**20*1~", "HL*1**20*0~")
    assert [(f.code, f.element) for f in result.findings] == [("element_invalid_code", "HL04")]


def test_sv107_pointer_beyond_the_diagnoses(tmp_path):
    # HI holds two codes (ABK:J069, ABF:R051); line 1 points at 1 and 3
    result = _validate(tmp_path, "ptr.837", CLAIM, "SV1*HC:99214*200*UN*1***1:2~", "SV1*HC:99214*200*UN*1***1:3~")
    assert _found(result) == [("diagnosis_pointer", "error", 30, "SV107-2 points to diagnosis 3, but the claim's "
                                                                "HI segments hold 2 diagnosis codes")]
    assert (result.findings[0].element, result.findings[0].component_pos) == ("SV107-02", 2)


def test_sv107_pointers_within_the_diagnoses_pass(tmp_path):
    result = _validate(tmp_path, "ptr.837", CLAIM, "SV1*HC:99214*200*UN*1***1:2~", "SV1*HC:99214*200*UN*1***2:1~")
    assert result.findings == []


def test_clp05_differs_from_the_pr_adjustments(tmp_path):
    # PR adjustments: line 1 PR-3 20, line 2 PR-1 10 and PR-2 4 = 34; CLP05 says 40
    result = _validate(tmp_path, "pr.835", REMIT, "CLP*PCN123*1*250*116*34*", "CLP*PCN123*1*250*116*40*")
    assert _found(result) == [("clp05_pr_sum", "warning", 13, "CLP05 40 != patient responsibility adjustments "
                                                              "(PR CAS) 34")]


def test_835_service_date_after_the_remittance_date(tmp_path):
    # BPR16 2026-03-01; line 1 served 2026-03-05
    result = _validate(tmp_path, "late.835", REMIT, "SVC*HC:99214*200*100**1~\nDTM*472*20260215~\n",
                       "SVC*HC:99214*200*100**1~\nDTM*472*20260305~\n")
    assert _found(result) == [("service_after_remittance", "error", 16, "service line 1: service date 2026-03-05 "
                                                                        "is after the remittance date (BPR16) "
                                                                        "2026-03-01")]


def test_837_service_date_after_the_prior_payers_adjudication(tmp_path):
    # line 1 served 2026-03-10, adjudicated by the primary (2430 DTP*573) on 2026-03-01
    result = _validate(tmp_path, "late.837", CLAIM, "SV1*HC:99214*200*UN*1***1:2~\nDTP*472*D8*20260215~",
                       "SV1*HC:99214*200*UN*1***1:2~\nDTP*472*D8*20260310~")
    assert _found(result) == [("service_after_remittance", "error", 31, "service line 1: service date 2026-03-10 is "
                                                                        "after its prior payer adjudication (2430 "
                                                                        "DTP*573) 2026-03-01")]


def test_repetition_separator_inside_element_data(tmp_path):
    # ISA11 is ^; N301 is not a repeating element
    result = _validate(tmp_path, "rep.837", CLAIM, "N3*1 ELM ST~", "N3*1 ELM ST^APT 2~")
    assert [(f.code, f.segment_no, f.element, f.ik4) for f in result.findings] == [
        ("element_invalid_character", 17, "N301", "6")]
    assert result.findings[0].message == ("N301 (Subscriber Address Line) contains the repetition separator ^ "
                                          "(ISA11), which only separates repeats of a repeating element")


def test_repetition_character_is_data_when_isa11_is_another(tmp_path):
    # with ISA11 = { the ^ is an ordinary character
    text = CLAIM.replace("*^*00501*", "*{*00501*")
    result = _validate(tmp_path, "rep.837", text, "N3*1 ELM ST~", "N3*1 ELM ST^APT 2~")
    assert result.findings == []
