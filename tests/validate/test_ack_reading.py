"""`cob.edi.acks`: 999 and 277CA read into plain facts with the codes in plain words."""

from cob.edi.acks import ack_kind, read_acknowledgments


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


ISA = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*SUBMIT01       *260307*0900*^*00501*000000005*0*T*:~"


def test_277ca_claim_statuses_and_line_statuses(tmp_path):
    text = (ISA + "GS*HN*PAYER*SUBMIT01*20260307*0900*5*X*005010X214~ST*277*0001*005010X214~"
            "BHT*0085*08*X*20260307*0900*TH~HL*1**20*1~NM1*PR*2*PAYER*****PI*P1~HL*2*1*21*1~"
            "HL*3*2*19*1~HL*4*3*PT~TRN*2*C1~STC*A3:21*20260307*U*100******A7:164:IL~REF*1K*ICN1~"
            "SVC*HC:99213*100*0~STC*A7:562:85*20260307*U~"
            "HL*5*3*PT~TRN*2*C2~STC*A2:20*20260307*WQ*50~SE*17*0001~GE*1*5~IEA*1*000000005~")
    path = write(tmp_path, "x.277", text)
    assert ack_kind(path) == "277"
    (ack,) = read_acknowledgments(path)
    assert (ack.kind, ack.source, ack.receiver) == ("277", "P1", "ZZ:SUBMIT01")
    c1, c2 = ack.claims
    assert (c1.claim_id, c1.rejected, c1.payer_claim_number) == ("C1", True, "ICN1")
    # the line's STC (after SVC) is not one of the claim's statuses
    assert c1.reason() == ("277CA returned as unprocessable: missing or invalid information; rejected for invalid "
                           "information: contract / member number (subscriber)")
    assert (c2.claim_id, c2.accepted, c2.rejected) == ("C2", True, False)
    # walked with pyx12's 005010X214 map: what this skeleton lacks is recorded, and reading goes on
    assert "segment 10 (TRN): required loop 2100D (Patient Name) is missing" in ack.problems
    assert "segment 13 (SVC): required segment DTP (Claim Level Service Date) in loop 2200D is missing" in ack.problems


def test_a_277ca_segment_the_guide_has_no_place_for_is_not_used(tmp_path):
    # an STC before the claim's TRN: 2200D begins with TRN, so the walk cannot place it and it is nobody's
    # verdict; a second TRN in the patient level opens a second 2200D (another claim of the patient), as the
    # guide has it
    text = (ISA + "GS*HN*PAYER*SUBMIT01*20260307*0900*5*X*005010X214~ST*277*0001*005010X214~"
            "BHT*0085*08*X*20260307*0900*TH~HL*1**20*1~NM1*PR*2*PAYER*****PI*P1~HL*2*1*21*1~"
            "HL*3*2*19*1~HL*4*3*PT~NM1*QC*1*DOE*J****MI*M1~STC*A7:562:85*20260307*U~TRN*2*C1~"
            "STC*A2:20*20260307*WQ*100~REF*1K*ICN1~DTP*472*D8*20260301~TRN*2*C2~STC*A1:19*20260307*WQ*50~"
            "DTP*472*D8*20260301~SE*17*0001~GE*1*5~IEA*1*000000005~")
    (ack,) = read_acknowledgments(write(tmp_path, "y.277", text))
    assert [(c.claim_id, c.accepted, [s.category for s in c.statuses]) for c in ack.claims] == [
        ("C1", True, ["A2"]), ("C2", True, ["A1"])]
    assert "segment 11 (STC): segment STC is not expected here (after 2100D NM1)" in ack.problems


def test_999_set_and_group_verdicts(tmp_path):
    text = (ISA + "GS*FA*PAYER*SUBMIT01*20260307*0900*5*X*005010X231A1~ST*999*0001*005010X231A1~"
            "AK1*HC*42*005010X222A1~AK2*837*0001*005010X222A1~IK3*CLM*7*2300*8~IK4*2*782*6~IK5*R*5~"
            "AK9*R*1*1*0~SE*8*0001~GE*1*5~IEA*1*000000005~")
    path = write(tmp_path, "x.999", text)
    assert ack_kind(path) == "999"
    (ack,) = read_acknowledgments(path)
    (group,) = ack.groups
    assert (group.functional_id, group.control_number, group.status) == ("HC", "42", "R")
    (st,) = group.sets
    assert not st.accepted
    assert st.reason() == ("999 rejected; one or more segments in error; segment CLM at position 7: segment has "
                           "data element errors; element 2: invalid character")


def test_other_files_are_not_acknowledgments(tmp_path):
    text = ISA + "GS*HP*PAYER*SUBMIT01*20260307*0900*5*X*005010X221A1~ST*835*0001~SE*2*0001~GE*1*5~IEA*1*000000005~"
    assert ack_kind(write(tmp_path, "x.835", text)) is None
    assert ack_kind(write(tmp_path, "x.txt", "hello")) is None
