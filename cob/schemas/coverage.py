"""Coverage roster: the other payers of claims whose original 837P lists none.

A provider often bills the primary with no 2320 loop at all, because the secondary is only learnt
later (at check-in, from an eligibility response, from the patient). The secondary claim still needs
the secondary's payer id, the subscriber and the policy, so the billing office supplies them in a
roster file: JSON or CSV, one entry per (claim or member, payer).

Keys. Each entry has ``claim_id`` (CLM01 of the original claim), ``member_id`` (the subscriber's id in
the original claim, 2010BA NM109, i.e. the member id at the primary), or both:

* an entry with only ``member_id`` applies to every claim of that member;
* an entry with ``claim_id`` applies to that claim only, and overrides the member's entries (a
  claim-specific correction wins over the standing roster);
* an entry with both applies only when both match: patient control numbers are reused across years
  and systems, and the member id keeps a reused claim id from picking up another person's policy.

Fields (one ``RosterCoverage``; the 837P element each one fills is in brackets):

============================  =====================================================================
``sequence``                  P, S, T, A..H: this payer's responsibility level [SBR01]; not U
``payer_name``                [2010BB/2330B NM103]
``payer_id``                  [2010BB/2330B NM109, and SVD01 once this payer has adjudicated]
``payer_id_qualifier``        PI (payer id, default) or XV (CMS plan id) [NM108]
``subscriber_last_name``      the policy holder at this payer [2010BA/2330A NM103]
``subscriber_first_name``     optional [NM104]
``subscriber_id``             member id at this payer [NM109]
``subscriber_id_qualifier``   MI (default) or II [NM108]
``relationship``              patient's relationship to this subscriber, X12 code 18 self, 01 spouse,
                              19 child, 20 employee, 21 unknown, 39, 40, 53 life partner, G8 other
                              [SBR02 / PAT01]
``group_number``              optional [SBR03]
``group_name``                optional [SBR04]
``filing_indicator``          claim filing indicator, e.g. CI, BL, MB, MC [SBR09]
``medicare_secondary_type``   optional MSP type 12, 13, 14, 15, 16, 41, 42, 43, 47 [SBR05]; only
                              for a Medicare payer (MA/MB) that is not primary
``subscriber_address1`` ..    optional address: ``subscriber_address1``, ``subscriber_address2``,
                              ``subscriber_city``, ``subscriber_state``, ``subscriber_postal_code``,
                              ``subscriber_country`` [N3/N4]
``subscriber_birth_date``     optional, ``YYYY-MM-DD`` or ``CCYYMMDD`` [DMG02]
``subscriber_gender``         optional F, M or U [DMG03]
``benefit_terms``             optional object: how this payer pays (see the payment estimate); kept
                              as given, with JSON numbers read as ``Decimal``
============================  =====================================================================

JSON example::

    {"coverages": [
      {"member_id": "PRIM123", "sequence": "S", "payer_name": "SECOND PAYER INC", "payer_id": "SECPAY",
       "subscriber_last_name": "TESTER", "subscriber_first_name": "ALEX", "subscriber_id": "SEC123456",
       "relationship": "18", "group_number": "GRP200", "filing_indicator": "CI",
       "benefit_terms": {"method": "standard"}},
      {"claim_id": "PCN123", "sequence": "T", "payer_name": "STATE MEDICAID", "payer_id": "MCD01",
       "subscriber_last_name": "TESTER", "subscriber_id": "M0001", "relationship": "18",
       "filing_indicator": "MC"}
    ]}

CSV example (same column names; an empty cell is "not given"; ``benefit_terms`` is a JSON object in
one cell; unknown columns are an error, so a misspelt header cannot silently drop a field)::

    claim_id,member_id,sequence,payer_name,payer_id,subscriber_last_name,subscriber_id,relationship,filing_indicator
    ,PRIM123,S,SECOND PAYER INC,SECPAY,TESTER,SEC123456,18,CI
    PCN123,,T,STATE MEDICAID,MCD01,TESTER,M0001,18,MC

Errors are ``RosterError(path, where, message)``: ``where`` is the CSV line number (the header is line
1) or the JSON entry index (0-based), or None for the whole file. Messages name fields and rules,
never the values found, because roster values are names, member ids and birth dates.
"""

from __future__ import annotations

import csv
import re
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from .codes import ClaimFilingIndicator, IndividualRelationship, MedicareSecondaryType, PayerSequence

MEDICARE_FILING = frozenset({ClaimFilingIndicator.MEDICARE_PART_A, ClaimFilingIndicator.MEDICARE_PART_B})


class RosterError(Exception):
    """A roster file that cannot be used.

    `where` is the CSV line number (header = 1) or the JSON entry index (0-based), or None when the
    problem is the whole file; `label` says which of the two it is in the text ("line 4", "coverages[2]").
    """

    def __init__(self, path: str | Path, where: int | None, message: str, *, label: str | None = None):
        self.path = str(path)
        self.where = where
        self.message = message
        self.label = label if label is not None else (None if where is None else f"entry {where}")
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.label is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}: {self.label}: {self.message}"


class RosterCoverage(BaseModel):
    """One payer of one claim (``claim_id``) or of one member (``member_id``): see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claim_id: Optional[str] = None
    member_id: Optional[str] = None

    sequence: PayerSequence
    payer_name: str = Field(min_length=1)
    payer_id: str = Field(min_length=1)
    payer_id_qualifier: Literal["PI", "XV"] = "PI"
    subscriber_last_name: str = Field(min_length=1)
    subscriber_first_name: Optional[str] = None
    subscriber_id: str = Field(min_length=1)
    subscriber_id_qualifier: Literal["MI", "II"] = "MI"
    relationship: IndividualRelationship
    group_number: Optional[str] = None
    group_name: Optional[str] = None
    filing_indicator: ClaimFilingIndicator
    medicare_secondary_type: Optional[MedicareSecondaryType] = None
    subscriber_address1: Optional[str] = None
    subscriber_address2: Optional[str] = None
    subscriber_city: Optional[str] = None
    subscriber_state: Optional[str] = None
    subscriber_postal_code: Optional[str] = None
    subscriber_country: Optional[str] = None
    subscriber_birth_date: Optional[dt.date] = None
    subscriber_gender: Optional[Literal["F", "M", "U"]] = None
    benefit_terms: Optional[dict[str, Any]] = None

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        """Spreadsheet cells carry stray spaces; an empty cell or "" in JSON means "not given",
        never an empty id."""
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("subscriber_birth_date", mode="before")
    @classmethod
    def _d8_date(cls, value: Any) -> Any:
        """Accept CCYYMMDD as well as ISO dates, since rosters are often exported from X12 tools."""
        if isinstance(value, str) and len(value) == 8 and value.isdigit():
            try:
                return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
            except ValueError:
                raise ValueError("not a valid CCYYMMDD date") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "RosterCoverage":
        if self.claim_id is None and self.member_id is None:
            raise ValueError("each coverage needs claim_id or member_id (or both)")
        if self.sequence is PayerSequence.UNKNOWN:
            raise ValueError("sequence U (unknown) cannot be billed; give the payer's level (P, S, T, A-H)")
        if self.medicare_secondary_type is not None:
            if self.filing_indicator not in MEDICARE_FILING:
                raise ValueError("medicare_secondary_type is only for a Medicare payer (filing_indicator MA or MB)")
            if self.sequence is PayerSequence.PRIMARY:
                raise ValueError("medicare_secondary_type is only for Medicare when it is not primary")
        return self

    def applies_to(self, claim_id: str, member_id: str | None) -> bool:
        """Whether this entry describes coverage for that claim (see the key rules in the module doc)."""
        if self.claim_id is not None and self.claim_id != claim_id:
            return False
        if self.member_id is not None and self.member_id != member_id:
            return False
        return True


class CoverageRoster(BaseModel):
    """All roster entries of one file, with lookup by claim id and by primary member id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coverages: list[RosterCoverage] = Field(default_factory=list)
    source: Optional[str] = None

    _by_claim: dict[str, list[RosterCoverage]] = PrivateAttr(default_factory=dict)
    _by_member: dict[str, list[RosterCoverage]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        for cov in self.coverages:
            if cov.claim_id is not None:
                self._by_claim.setdefault(cov.claim_id, []).append(cov)
            else:
                self._by_member.setdefault(cov.member_id, []).append(cov)

    def __len__(self) -> int:
        return len(self.coverages)

    def lookup(self, claim_id: str, member_id: str | None) -> list[RosterCoverage]:
        """Coverages for a claim, ordered by sequence (P, S, T, ...).

        Entries keyed by this claim id win; only when there are none are the member's entries used.
        An empty list means the roster knows nothing about this claim.
        """
        found = [c for c in self._by_claim.get(claim_id, []) if c.applies_to(claim_id, member_id)]
        if not found and member_id is not None:
            found = list(self._by_member.get(member_id, []))
        return sorted(found, key=lambda c: c.sequence.rank)


# --------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Entry:
    """One raw roster entry and where it was found, for error messages."""

    where: int
    label: str
    data: Any


def load_roster(path: str | Path) -> CoverageRoster:
    """Read a roster from JSON or CSV (chosen by suffix; otherwise by the first character)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(path, None, "not UTF-8 text") from None
    except OSError as e:
        raise RosterError(path, None, f"cannot read the file ({e.strerror or type(e).__name__})") from None
    if not text.strip():
        raise RosterError(path, None, "the file is empty")
    suffix = path.suffix.lower()
    is_json = suffix == ".json" or (suffix != ".csv" and text.lstrip().startswith("{"))
    entries = _json_entries(path, text) if is_json else _csv_entries(path, text)
    coverages = [_validate(path, entry) for entry in entries]
    _reject_conflicts(path, entries, coverages)
    return CoverageRoster(coverages=coverages, source=str(path))


def _json_entries(path: Path, text: str) -> list[_Entry]:
    """JSON entries with their index. Numbers are read as Decimal: benefit terms hold money."""
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as e:
        raise RosterError(path, None, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(document, dict) or not isinstance(document.get("coverages"), list):
        raise RosterError(path, None, 'expected a JSON object {"coverages": [...]}')
    unknown = sorted(set(document) - {"coverages"})
    if unknown:
        raise RosterError(path, None, f"unknown top-level key(s): {', '.join(unknown)}")
    return [_Entry(i, f"coverages[{i}]", data) for i, data in enumerate(document["coverages"])]


_COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


def _column_names(header: list[str], names: list[str]) -> str:
    """Column names as a message quotes them. A first line without a header is a data row (member ids,
    names): what does not look like a column name is shown by its position only."""
    return ", ".join(name if _COLUMN_NAME.fullmatch(name) else f"#{header.index(name) + 1}" for name in names)


def _csv_entries(path: Path, text: str) -> list[_Entry]:
    """CSV rows as dicts with their line number (header = line 1); empty cells left out."""
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    fields = set(RosterCoverage.model_fields)
    unknown = [name for name in header if name not in fields]
    if unknown:
        raise RosterError(path, 1, f"unknown column(s): {_column_names(header, unknown)}", label="line 1")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise RosterError(path, 1, f"repeated column(s): {_column_names(header, duplicated)}", label="line 1")
    entries: list[_Entry] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise RosterError(path, line, "more cells than header columns", label=f"line {line}")
        cells = {k: v for k, v in row.items() if v is not None and v.strip()}
        if not cells:
            continue  # blank line
        if "benefit_terms" in cells:
            cells["benefit_terms"] = _json_cell(path, line, cells["benefit_terms"])
        entries.append(_Entry(line, f"line {line}", cells))
    return entries


def _json_cell(path: Path, line: int, text: str) -> Any:
    try:
        value = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as e:
        raise RosterError(path, line, f"benefit_terms: not valid JSON ({e.msg})", label=f"line {line}") from None
    if not isinstance(value, dict):
        raise RosterError(path, line, "benefit_terms: expected a JSON object", label=f"line {line}")
    return value


def _validate(path: Path, entry: _Entry) -> RosterCoverage:
    if not isinstance(entry.data, dict):
        raise RosterError(path, entry.where, "expected an object with coverage fields", label=entry.label)
    try:
        return RosterCoverage.model_validate(entry.data)
    except ValidationError as e:
        raise RosterError(path, entry.where, _describe(e), label=entry.label) from None


def _describe(error: ValidationError) -> str:
    """Pydantic errors without the offending input values (which may be names or member ids)."""
    parts = []
    for err in error.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def _reject_conflicts(path: Path, entries: list[_Entry], coverages: list[RosterCoverage]) -> None:
    """Two entries that can apply to the same claim at the same level make that payer ambiguous.

    Same sequence and same claim id (or both member-only with the same member id) conflict unless
    both name member ids and those differ (a claim id reused for two members).
    """
    member_only: set[tuple[str | None, PayerSequence]] = set()
    by_claim: dict[tuple[str, PayerSequence], list[str | None]] = {}
    for entry, cov in zip(entries, coverages):
        if cov.claim_id is None:
            key = (cov.member_id, cov.sequence)
            conflict = key in member_only
            member_only.add(key)
        else:
            members = by_claim.setdefault((cov.claim_id, cov.sequence), [])
            conflict = bool(members) and (cov.member_id is None or None in members or cov.member_id in members)
            members.append(cov.member_id)
        if conflict:
            raise RosterError(path, entry.where,
                              f"another coverage for the same claim or member has sequence {cov.sequence.value}",
                              label=entry.label)
