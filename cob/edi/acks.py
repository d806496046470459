"""Reading acknowledgments of the files we send: 999 (005010X231A1) and 277CA (005010X214).

A 999 answers a functional group (AK1: GS01, GS06, GS08) set by set (AK2: ST01, ST02; IK3/IK4 segment and
element errors; IK5 the set's verdict) and the group as a whole (AK9). A 277CA answers claim by claim:
in each patient level (HL*..*PT) TRN02 is the claim's patient control number (our CLM01), STC01 a
composite of claim status category : status code : entity, STC03 the action (WQ accepted, U rejected),
REF*1K the payer's claim number.

This module only reads (X12 facts into plain dataclasses, code meanings in plain words, paraphrased from
the implementation guides and the code lists); which claims they answer is `cob.run.acks`'s business.
Each set is walked through its IG with the one `Walker` (pyx12's 999.5010X231.A1 and 277.5010.X214 maps), so
the loop a segment belongs to comes from the guide, not from guessing: a 277CA's STC is the claim's verdict
in 2200D and a line's in 2220D. Reading is tolerant by design: an acknowledgment is small and answers
something we sent, so a walk problem is recorded (`problems`, segment number and message) rather than
making the answer unreadable; a segment the walk cannot place is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import X12SyntaxError
from .ig.tables import load_table
from .tokens import SegmentReader
from .walk import PROBLEM_CODES, Walker, WalkPolicy

#: ST01 -> the implementation guide an acknowledgment is walked with
GUIDES = {"999": "005010X231A1", "277": "005010X214"}
#: every walk problem is recorded, none stops the reading
_TOLERANT = WalkPolicy(warnings=PROBLEM_CODES)

#: IK5-01 / AK9-01
SET_STATUS = {"A": "accepted", "E": "accepted with errors", "M": "rejected (message authentication failed)",
              "P": "partially accepted (at least one set rejected)", "R": "rejected",
              "W": "rejected (assurance failed)", "X": "rejected (cannot analyze after decryption)"}
ACCEPTED_999 = {"A", "E"}
#: IK5-02..06
SET_ERRORS = {"1": "transaction set not supported", "2": "transaction set trailer missing",
              "3": "ST02 and SE02 control numbers do not match", "4": "number of included segments (SE01) is wrong",
              "5": "one or more segments in error", "6": "missing or invalid transaction set identifier",
              "7": "missing or invalid transaction set control number", "18": "transaction set not in a functional group",
              "19": "invalid implementation convention reference", "23": "control number not unique in the group",
              "I5": "implementation: one or more segments in error", "I6": "implementation convention not supported"}
#: AK9-05..09
GROUP_ERRORS = {"1": "functional group not supported", "2": "functional group version not supported",
                "3": "functional group trailer missing", "4": "GS06 and GE02 control numbers do not match",
                "5": "number of included transaction sets (GE01) is wrong",
                "6": "group control number violates syntax"}
#: IK304
SEGMENT_ERRORS = {"1": "unrecognized segment id", "2": "unexpected segment", "3": "required segment missing",
                  "4": "loop occurs over maximum times", "5": "segment exceeds maximum use",
                  "6": "segment not in defined transaction set", "7": "segment not in proper sequence",
                  "8": "segment has data element errors", "I4": "'not used' segment present",
                  "I6": "implementation-dependent segment missing", "I7": "loop occurs under minimum times",
                  "I8": "segment below minimum use", "I9": "implementation-dependent 'not used' segment present"}
#: IK403
ELEMENT_ERRORS = {"1": "required element missing", "2": "conditional required element missing",
                  "3": "too many data elements", "4": "data element too short", "5": "data element too long",
                  "6": "invalid character", "7": "invalid code value", "8": "invalid date", "9": "invalid time",
                  "10": "exclusion condition violated", "12": "too many repetitions", "13": "too many components",
                  "I6": "code value not used in implementation", "I9": "implementation-dependent element missing",
                  "I10": "'not used' element present", "I11": "too few repetitions", "I12": "pattern match failure",
                  "I13": "implementation-dependent 'not used' element present"}
#: STC01-1 claim status category (code source 507)
CATEGORY = {"A0": "forwarded to another entity", "A1": "receipt acknowledged", "A2": "accepted into adjudication",
            "A3": "returned as unprocessable", "A4": "not found", "A5": "split claim",
            "A6": "rejected for missing information", "A7": "rejected for invalid information",
            "A8": "rejected for a relational field in error"}
ACCEPTED_CATEGORIES = {"A0", "A1", "A2", "A5"}
REJECTED_CATEGORIES = {"A3", "A4", "A6", "A7", "A8"}
#: STC01-2 claim status codes (code source 508) seen most in 277CA rejections, in plain words
STATUS = {"0": "no further status can be given electronically", "19": "receipt acknowledged",
          "20": "accepted for processing", "21": "missing or invalid information",
          "562": "National Provider Identifier (NPI)", "164": "contract / member number",
          "33": "subscriber and subscriber id not found", "35": "claim not found"}
#: STC01-3 entity identifier codes
ENTITY = {"85": "billing provider", "82": "rendering provider", "87": "pay-to provider", "IL": "subscriber",
          "QC": "patient", "PR": "payer", "41": "submitter", "40": "receiver", "77": "service location",
          "DN": "referring provider", "DK": "ordering provider", "1P": "provider"}


@dataclass
class SetAck:
    st01: str
    st02: str
    status: str  # IK501
    codes: list[str] = field(default_factory=list)  # IK502..
    errors: list[str] = field(default_factory=list)  # segment / element errors in plain words

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED_999

    def reason(self) -> str:
        parts = [f"999 {SET_STATUS.get(self.status, self.status)}"]
        parts += [SET_ERRORS.get(c, f"code {c}") for c in self.codes]
        return "; ".join(parts + self.errors[:3])


@dataclass
class GroupAck:
    functional_id: str  # AK101 (HC for 837)
    control_number: str  # AK102 = our GS06
    version: str
    status: str = ""  # AK901
    codes: list[str] = field(default_factory=list)
    sets: list[SetAck] = field(default_factory=list)


@dataclass
class ClaimStatusLine:
    category: str
    code: str
    entity: str

    def words(self) -> str:
        what = CATEGORY.get(self.category, f"category {self.category}")
        detail = STATUS.get(self.code, f"status code {self.code}") if self.code else ""
        who = ENTITY.get(self.entity, f"entity {self.entity}") if self.entity else ""
        return what + (f": {detail}" if detail else "") + (f" ({who})" if who else "")


@dataclass
class ClaimAck:
    claim_id: str  # TRN02 in the patient level: our CLM01
    statuses: list[ClaimStatusLine] = field(default_factory=list)
    action: str = ""  # STC03: WQ accepted, U rejected
    payer_claim_number: str = ""  # REF*1K
    charge: str = ""  # STC04

    @property
    def rejected(self) -> bool:
        return self.action == "U" or any(s.category in REJECTED_CATEGORIES for s in self.statuses)

    @property
    def accepted(self) -> bool:
        return not self.rejected and (self.action == "WQ" or any(s.category in ACCEPTED_CATEGORIES
                                                                 for s in self.statuses))

    def reason(self) -> str:
        return "277CA " + "; ".join(s.words() for s in self.statuses)


@dataclass
class Acknowledgment:
    """One acknowledgment interchange: who sent it, and the groups (999) or claims (277CA) it answers."""

    kind: str  # "999" or "277"
    sender: str  # ISA05:ISA06 of the acknowledgment (the payer / clearinghouse)
    receiver: str  # ISA07:ISA08: us, the sender of the acknowledged file
    isa13: str
    groups: list[GroupAck] = field(default_factory=list)
    claims: list[ClaimAck] = field(default_factory=list)
    source: str = ""  # 277CA information source (2100A NM109 payer id)
    problems: list[str] = field(default_factory=list)


def ack_kind(path: str | Path) -> str | None:
    """'999' or '277' when the file's first transaction set is one (content decides), else None."""
    try:
        for elements, _no in SegmentReader(path):
            if elements[0] == "ST":
                return elements[1] if len(elements) > 1 and elements[1] in ("999", "277") else None
            if elements[0] not in ("ISA", "GS"):
                return None
    except (OSError, UnicodeError, X12SyntaxError):
        return None
    return None


def read_acknowledgments(path: str | Path) -> list[Acknowledgment]:
    """Every interchange of a 999 or 277CA file."""
    reader = SegmentReader(path)
    out: list[Acknowledgment] = []
    ack: Acknowledgment | None = None
    group: GroupAck | None = None
    current_set: SetAck | None = None
    claim: ClaimAck | None = None
    walker: Walker | None = None
    for el, no in reader:
        sid = el[0]
        comp = reader.delimiters.component

        def at(i: int) -> str:
            return el[i].strip() if len(el) > i else ""
        if sid == "ISA":
            ack = Acknowledgment("", f"{at(5)}:{at(6)}", f"{at(7)}:{at(8)}", at(13))
            out.append(ack)
            continue
        if ack is None or sid in ("GS", "GE", "IEA"):
            continue
        if sid == "ST":
            ack.kind = at(1)
            claim = None
            guide = GUIDES.get(at(1))
            walker = Walker(load_table(guide), comp, _TOLERANT) if guide is not None else None
            if walker is not None:
                walker.start()
            else:
                ack.problems.append(f"segment {no}: transaction set {at(1)} is not a 999 or 277CA")
            continue
        if walker is None:
            continue
        step, problems = walker.step(el)
        ack.problems += [f"segment {no} ({sid}): {p.message}" for p in problems]
        loop = step.loop_id if step.seg is not None else None
        if sid == "SE" or loop is None:
            if sid == "SE":
                walker = None
            continue
        if sid == "AK1":
            group = GroupAck(at(1), at(2), at(3))
            ack.groups.append(group)
        elif sid == "AK2" and group is not None:
            current_set = SetAck(at(1), at(2), "")
            group.sets.append(current_set)
        elif sid == "IK3" and current_set is not None:
            code = at(4)
            current_set.errors.append(f"segment {at(1)} at position {at(2)}: "
                                      + SEGMENT_ERRORS.get(code, f"code {code}" if code else "in error"))
        elif sid == "IK4" and current_set is not None:
            position = at(1).split(comp)[0]
            current_set.errors.append(f"element {position}: " + ELEMENT_ERRORS.get(at(3), f"code {at(3)}"))
        elif sid == "IK5" and current_set is not None:
            current_set.status = at(1)
            current_set.codes = [c for c in el[2:7] if c]
        elif sid == "AK9" and group is not None:
            group.status = at(1)
            group.codes = [c for c in el[5:10] if c]
        elif sid == "NM1" and loop == "2100A" and at(1) == "PR":
            ack.source = at(9)
        elif sid == "TRN" and loop == "2200D":
            claim = ClaimAck(at(2))
            ack.claims.append(claim)
        elif sid == "STC" and claim is not None and loop == "2200D":
            for i in (1, 10, 11):  # STC01, STC10, STC11: up to three statuses
                parts = at(i).split(comp) if at(i) else []
                if parts:
                    claim.statuses.append(ClaimStatusLine(parts[0], parts[1] if len(parts) > 1 else "",
                                                          parts[2] if len(parts) > 2 else ""))
            claim.action = claim.action or at(3)
            claim.charge = claim.charge or at(4)
        elif sid == "REF" and claim is not None and loop == "2200D" and at(1) == "1K":
            claim.payer_claim_number = at(2)
        # a line's statuses (STC in 2220D) are not the claim's verdict: the claim's STC decides
    for a in out:
        if not a.kind:
            a.problems.append("no transaction set")
    return out
