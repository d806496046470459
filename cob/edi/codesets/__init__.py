"""External code sets (WEDI SNIP type 5) that can ship with the project, as data and small pure functions.

Why here and not in the IG tables: these lists change on their own calendars (CARC/RARC three times a
year, POS yearly), so they are kept as plain committed files (`carc.csv`, `rarc.csv`, `pos.csv`, provenance
in `SOURCES.md`) that can be refreshed without touching the compiled IG. Small X12-internal lists (group
codes, CLP02, filing indicators, states) live here as constants.

Lists are read once per process, on first use (`functools.cache`), so importing costs nothing. Every check
is a dict/set lookup or a short loop: the SNIP 5 rules call these on every claim of large files.

Dates in the CARC/RARC files are the published Start and Stop dates. Per the code list maintainers a code
may not be used in an *original* 835 dated after its Stop date; derivative uses (reversals, COB 837s
reporting a prior payer's adjudication) stay valid if the original use was before the Stop date. A code
whose dates are unknown is only checked for membership.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

_DIR = Path(__file__).parent

OK = "ok"
RETIRED = "retired"
NOT_YET_EFFECTIVE = "not_yet_effective"
UNKNOWN = "unknown"

#: CAS01 in 5010 (835 X221A1). CR is still listed by the 837 X222A1 but was removed from the 5010 835.
GROUP_CODES = frozenset({"CO", "PR", "OA", "PI"})
GROUP_CODES_837 = GROUP_CODES | {"CR"}

#: CLP02 claim status codes of the 835 X221A1.
CLAIM_STATUS_CODES = frozenset({"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"})

#: CLP06 claim filing indicator codes of the 835 X221A1 (it lacks 11, BL, CI, FI).
FILING_INDICATORS_835 = frozenset({
    "12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV",
    "VA", "WC", "ZZ",
})
#: SBR09 claim filing indicator codes of the 837P X222A1.
FILING_INDICATORS_837 = FILING_INDICATORS_835 | {"11", "BL", "CI", "FI"}

#: USPS codes: 50 states, DC, territories and freely associated states, military post offices (AA/AE/AP).
US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
    "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND",
    "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "DC", "AS", "GU", "MP", "PR", "VI", "FM", "MH", "PW", "AA", "AE", "AP",
})
#: Canadian province/territory codes as X12 code source 22 lists them (PQ and NF are the old forms of QC/NL).
CA_PROVINCES = frozenset({
    "AB", "BC", "MB", "NB", "NL", "NF", "NS", "NT", "NU", "ON", "PE", "QC", "PQ", "SK", "YT",
})

#: entries kept by the memoized format checks below: files repeat their NPIs, procedure and diagnosis
#: codes claim after claim, and a lookup is cheaper than the character loop (bounded, so memory is too)
_FORMAT_MEMO = 4096

_DIGITS = frozenset("0123456789")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALNUM = _DIGITS | _UPPER


def _iso(s: str) -> date | None:
    return date.fromisoformat(s) if s else None


def _read_csv(name: str) -> list[list[str]]:
    with open(_DIR / name, newline="", encoding="utf-8") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.startswith("#")]
    rows = list(csv.reader(lines))
    return rows[1:]  # header


def _meta(lines) -> dict[str, str]:
    """The `# key: value` lines at the head of a generated list (source, list_date, fiscal_year, ...)."""
    out = {}
    for ln in lines:
        if not ln.startswith("#"):
            break
        key, sep, value = ln[1:].partition(":")
        if sep and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


@cache
def list_meta(name: str) -> dict[str, str]:
    """Header facts of a committed list (`carc.csv`, `rarc.csv`): source, list_date, built."""
    with open(_DIR / name, encoding="utf-8") as fh:
        return _meta(fh)


@cache
def list_date(kind: str) -> date | None:
    """The date the CARC ("carc") or RARC ("rarc") list is current as of: a code missing from it is an
    error on a remittance dated on or before it, and only a warning after it (a newer code)."""
    value = list_meta(f"{kind}.csv").get("list_date")
    return date.fromisoformat(value) if value else None


@cache
def carc_table() -> dict[str, tuple[date | None, date | None]]:
    """CARC code -> (start, stop); either date None when not known."""
    return {r[0]: (_iso(r[1]), _iso(r[2])) for r in _read_csv("carc.csv")}


@cache
def rarc_table() -> dict[str, tuple[date | None, date | None]]:
    """RARC code -> (start, stop); either date None when not known."""
    return {r[0]: (_iso(r[1]), _iso(r[2])) for r in _read_csv("rarc.csv")}


@dataclass(frozen=True)
class ICD10CM:
    """The committed ICD-10-CM list (`icd10cm.txt.gz`, made by `cob codesets update`).

    Kept as one short string per 3-character category (" 0 1 9! " -- the rest of each code, `!` marking a
    header code, `.` the category itself): a lookup is a dict get and a substring test on a few dozen
    characters, and the whole list costs about a megabyte instead of the ten that 98,000 strings in sets
    would, in each process that validates."""

    categories: dict[str, str]
    fiscal_year: int
    valid_from: date  # the fiscal year's first day (October 1)
    valid_to: date  # its last (September 30)
    source: str
    billable: int  # how many codes are billable
    headers: int  # how many are header codes

    def status(self, code: str) -> str:
        """OK (a billable code), HEADER (a category with codes under it) or UNKNOWN."""
        rest = self.categories.get(code[:3])
        if rest is None or not code.isalnum():  # a space or mark inside would match across two entries
            return UNKNOWN
        suffix = code[3:] or "."
        if f" {suffix} " in rest:
            return OK
        return HEADER if f" {suffix}! " in rest else UNKNOWN


HEADER = "header"


@cache
def icd10cm() -> ICD10CM:
    """The ICD-10-CM list, read on first use only (a few milliseconds), so a file without an HI segment
    never pays for it."""
    with gzip.open(_DIR / "icd10cm.txt.gz", "rt", encoding="ascii") as fh:
        lines = fh.read().splitlines()
    meta = _meta(lines)
    categories = {}
    for ln in lines:
        if ln and ln[0] != "#":
            cat, _, rest = ln.partition(" ")
            categories[cat] = f" {rest} "
    headers = sum(v.count("!") for v in categories.values())
    billable = sum(len(v.split()) for v in categories.values()) - headers
    return ICD10CM(categories, int(meta["fiscal_year"]), date.fromisoformat(meta["valid_from"]),
                   date.fromisoformat(meta["valid_to"]), lines[0].partition("source: ")[2], billable, headers)


@cache
def place_of_service_names() -> dict[str, str]:
    return {r[0]: r[1] for r in _read_csv("pos.csv")}


def _status(table: dict[str, tuple[date | None, date | None]], code: str, on: date | None) -> str:
    dates = table.get(code)
    if dates is None:
        return UNKNOWN
    if on is not None:
        start, stop = dates
        if stop is not None and on > stop:
            return RETIRED
        if start is not None and on < start:
            return NOT_YET_EFFECTIVE
    return OK


def carc_status(code: str, on: date | None = None) -> str:
    """"ok", "retired" (used after its Stop date), "not_yet_effective" (before its Start) or "unknown".

    A code used *on* its Stop date is still accepted: the list says it cannot be used *after* that date.
    """
    return _status(carc_table(), code, on)


def rarc_status(code: str, on: date | None = None) -> str:
    """Same as `carc_status`, for remittance advice remark codes."""
    return _status(rarc_table(), code, on)


def is_group_code(code: str, transaction: str = "835") -> bool:
    return code in (GROUP_CODES_837 if transaction == "837" else GROUP_CODES)


def claim_status_code_ok(code: str) -> bool:
    return code in CLAIM_STATUS_CODES


def filing_indicator_ok(code: str, transaction: str = "837") -> bool:
    """SBR09 (837) or CLP06 (835): the 835 list is the shorter one."""
    return code in (FILING_INDICATORS_837 if transaction == "837" else FILING_INDICATORS_835)


def is_place_of_service(code: str) -> bool:
    return code in place_of_service_names()


def is_state(code: str) -> bool:
    """US state, DC, territory or military state code."""
    return code in US_STATES


def is_province(code: str) -> bool:
    return code in CA_PROVINCES


@lru_cache(maxsize=_FORMAT_MEMO)
def npi_check_digit_ok(npi: str) -> bool:
    """NPI Luhn check (ISO/IEC 7812 card prefix 80840; the prefix contributes a constant 24).

    Takes the 10-digit NPI as sent in NM109; anything not 10 digits is false.
    """
    if len(npi) != 10 or not npi.isdigit() or not npi.isascii():
        return False
    total = 24
    # digits 1..9 from the left; double positions 1,3,5,7,9 (the ones right-adjacent to the check digit
    # counting from the right)
    for i in range(9):
        d = ord(npi[i]) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == ord(npi[9]) - 48


@lru_cache(maxsize=_FORMAT_MEMO)
def icd10cm_format_ok(code: str) -> bool:
    """ICD-10-CM code shape as sent in X12 (no dot): letter, digit, alnum, then up to 4 more alnum.

    Every letter A-Z can open a code: U is reserved by WHO for special purposes and CMS uses it
    (U07.1 COVID-19, U09.9 post COVID-19 condition). Letters must be upper case. This checks the shape
    only, not that the code exists in the current year's tabular list.
    """
    n = len(code)
    if n < 3 or n > 7:
        return False
    if code[0] not in _UPPER or code[1] not in _DIGITS:
        return False
    for ch in code[2:]:
        if ch not in _ALNUM:
            return False
    return True


@lru_cache(maxsize=_FORMAT_MEMO)
def procedure_code_format_ok(code: str) -> bool:
    """CPT/HCPCS shape (SV101-2 with qualifier HC): five characters.

    HCPCS Level II is a letter and four digits (e.g. J1100); CPT is five digits, or four digits and
    F (Category II), T (Category III), U (PLA) or M (MAAA).
    """
    if len(code) != 5:
        return False
    c0 = code[0]
    if c0 in _UPPER:
        return code[1:].isdigit() and code.isascii()
    if c0 not in _DIGITS:
        return False
    tail = code[4]
    return code[1:4].isdigit() and code.isascii() and (tail in _DIGITS or tail in "FTUM")


_DATES: dict[str, date | None] = {}


def parse_date(value: str) -> date | None:
    """CCYYMMDD (or the first date of a CCYYMMDD-CCYYMMDD range) -> date; None when it is not one.

    Files repeat a few dates many times, so results are memoized (bounded)."""
    s = value[:8]
    try:
        return _DATES[s]
    except KeyError:
        pass
    d: date | None = None
    if len(s) == 8 and s.isdigit():
        try:
            d = date(int(s[:4]), int(s[4:6]), int(s[6:8]))
        except ValueError:
            d = None
    if len(_DATES) > 100_000:
        _DATES.clear()
    _DATES[s] = d
    return d
