"""What the validator reports: one `Finding` per problem, grouped the way acknowledgments need them.

A finding names where the problem is (file, segment number from the start of the file, segment id,
IG loop, element position, the claim it belongs to) and what it is (SNIP type, severity, a stable
`code`, a plain message). Messages never quote element values of patient segments: they name codes,
amounts of money, dates of service only when the rule is about them, and claim control numbers.

The 999 / TA1 writer reads the codes a finding carries (`ik3`, `ik4`, `ta1`, `ik5`, `ak9`) and the
envelope facts kept in `Interchange` / `Group` / `TransactionSet`, so an acknowledgment can be written
from a `FileResult` alone, without reading the file again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    snip: int  # WEDI SNIP type 1-5
    severity: str  # "error" or "warning"
    code: str  # stable machine id, e.g. "segment_missing", "clp_balance", "carc_retired"
    message: str  # no PHI: codes, counts, claim ids only
    file: str
    segment_no: int | None = None  # 1-based from the start of the file (ISA = 1); None = end of file
    segment_id: str | None = None
    loop: str | None = None  # IG loop id, e.g. "2300"
    element: str | None = None  # IG element reference, e.g. "CLM05-03" or "CLM02"
    element_pos: int | None = None  # 1-based element position in the segment (IK402-1)
    component_pos: int | None = None  # 1-based component position (IK402-2)
    repeat_pos: int | None = None  # 1-based repetition (IK402-3)
    data_ele: str | None = None  # data element reference number (IK403 / IK404 context)
    claim_id: str | None = None  # CLM01 (837) or CLP01 (835)
    st_segment_no: int | None = None  # position within the transaction set (ST = 1): IK302
    isa_control: str | None = None  # ISA13 of the interchange holding it
    gs_control: str | None = None  # GS06
    st_control: str | None = None  # ST02
    ik3: str | None = None  # IK304 segment syntax error code ("8" = element errors inside)
    ik4: str | None = None  # IK403 element syntax error code
    ik5: str | None = None  # IK502.. transaction set syntax error code (e.g. "4" wrong SE01)
    ak9: str | None = None  # AK905.. functional group syntax error code (e.g. "5" wrong GE01)
    ta1: str | None = None  # TA105 interchange note code (envelope problems)
    bad_value: str | None = None  # IK404 copy of the bad element; only for non-PHI elements (codes, dates)
    segment_text: str | None = None  # the segment at segment_no, patient-data values masked (report.mask_segment)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


@dataclass(slots=True)
class TransactionSet:
    """One ST..SE as the 999's AK2 / IK5 echo it."""

    st01: str
    st02: str
    st03: str | None
    segment_no: int  # ST's segment number in the file
    findings: list[Finding] = field(default_factory=list)
    trailer_missing: bool = False
    #: a segment of the set started with spaces (reported once per set)
    indented: bool = False

    @property
    def accepted(self) -> bool:
        return not any(f.is_error for f in self.findings)


@dataclass(slots=True)
class Group:
    """One GS..GE: the 999's AK1 and AK9."""

    gs01: str
    gs02: str
    gs03: str
    gs06: str
    gs08: str
    segment_no: int
    transactions: list[TransactionSet] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # GS/GE-level (AK9 codes)
    trailer_missing: bool = False


@dataclass(slots=True)
class Interchange:
    """One ISA..IEA: what a TA1 echoes, and the parties an acknowledgment is addressed back to."""

    isa05: str
    isa06: str
    isa07: str
    isa08: str
    isa09: str
    isa10: str
    isa13: str
    isa14: str
    isa15: str
    segment_no: int
    element_sep: str = "*"
    component_sep: str = ":"
    repetition_sep: str | None = "^"
    segment_term: str = "~"
    groups: list[Group] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # ISA/IEA-level (TA1 note codes)


@dataclass(slots=True)
class FileResult:
    file: str
    interchanges: list[Interchange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # every finding, in file order
    segments: int = 0
    claims: int = 0
    truncated: bool = False  # stopped at --max-errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def valid(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "valid": self.valid,
            "segments": self.segments,
            "claims": self.claims,
            "truncated": self.truncated,
            "errors": [f.to_json() for f in self.errors],
            "warnings": [f.to_json() for f in self.warnings],
        }
