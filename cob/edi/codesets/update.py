"""Regenerate the committed code lists (`make codesets`, `cob codesets update`): CARC, RARC, ICD-10-CM.

Why a generator and committed files: the lists change on their own calendars (CARC/RARC three times a
year, ICD-10-CM every October and April), cob must validate without a network and without a heavy
dependency at run time, and a reviewer must see in a diff which codes a refresh added. So the sources
(Python packages from PyPI, installed with the `[codesets]` extra: never imported at run time) are read
here, and small files are written next to this module:

- `carc.csv`, `rarc.csv`: `code,start,stop`. Membership is the source's enumeration (candidhealth,
  Apache-2.0: `candid.resources.x_12.resources.v_1.types.{carc,rarc}`, which lists every code, current and
  retired, without dates); the Start/Stop dates are the ones the committed files already have (the
  source has none), so a refresh never loses a date. Codes only: no descriptions (X12 holds their
  copyright). Each file's header says the source, its version, the date the list is current as of
  (`list_date`) and the day it was built.
- `icd10cm.txt.gz`: the ICD-10-CM codes as sent in X12 (no dot) from simple-icd-10-cm (MIT, the CMS
  tabular list), one line per 3-character category with the rest of each code, header codes (categories
  and subcategories that have children, not billable) marked `!`; with the fiscal year and its dates in
  the header. Grouped so that the runtime keeps about 1,900 short strings, not 98,000 (memory, load time).

The output is deterministic (sorted, gzip without a timestamp): running it twice gives the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).parent

#: the month each supported source release was published (PyPI): a list is current as of that date at
#: least, so the day it was released is its `list_date` (the first of the month: never later than the truth)
RELEASE_DATES = {("candidhealth", "1.37.0"): "2026-10-01"}

#: ICD-10-CM fiscal years of the simple-icd-10-cm releases (its data file names the CMS update)
ICD10CM_RELEASES = {"1.5.0": (2026, "CMS ICD-10-CM FY2026, April 1, 2026 update")}

#: the `# built:` line, the one part of a list that would change from one day to the next
_BUILT = re.compile(r"^# built: .*$", re.M)

_ENUM_VALUE = re.compile(r'^    [A-Z_0-9]+ = "([A-Z0-9]+)"$', re.M)


class SourceMissing(Exception):
    """A source package is not installed (`pip install '.[codesets]'`), or its release is not one this
    generator knows the date of (pass `as_of`)."""


@dataclass
class Written:
    path: Path
    codes: int
    added: list[str]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        raise SourceMissing(f"{package} is not installed: pip install '.[codesets]' (or make codesets)") from None


def _enum_codes(module: str) -> list[str]:
    """The values of the one enum in a candidhealth types module, read as text (importing it would load
    the whole API client)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise SourceMissing(f"{module} not found in the installed candidhealth")
    text = Path(spec.origin).read_text(encoding="utf-8")
    return [c for c in _ENUM_VALUE.findall(text) if c != "UNKNOWN"]


def _read_dated(path: Path) -> dict[str, tuple[str, str]]:
    rows = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    return {r[0]: (r[1], r[2]) for r in list(csv.reader(rows))[1:]}


def _sort_key(code: str) -> tuple:
    m = re.fullmatch(r"([A-Z]*)(\d*)", code)
    prefix, digits = (m.group(1), m.group(2)) if m else (code, "")
    return (prefix, int(digits) if digits else -1, code)


def _write_dated(path: Path, title: str, source: str, list_date: str, built: str, codes: list[str],
                 old: dict[str, tuple[str, str]]) -> Written:
    merged = {c: old.get(c, ("", "")) for c in codes}
    for c, dates in old.items():  # never drop a code the committed list had (old claims carry it)
        merged.setdefault(c, dates)
    out = io.StringIO()
    out.write(f"# {title} code,start,stop; ISO dates; empty = not known. See SOURCES.md\n")
    out.write(f"# source: {source}\n# list_date: {list_date}\n# built: {built}\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["code", "start", "stop"])
    for c in sorted(merged, key=_sort_key):
        w.writerow([c, *merged[c]])
    text = out.getvalue()
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    if _BUILT.sub("", previous) != _BUILT.sub("", text):
        path.write_text(text, encoding="utf-8")  # else the same list: keep its built date (make codesets is reproducible)
    return Written(path, len(merged), sorted((c for c in codes if c not in old), key=_sort_key))


def update_carc_rarc(dest: Path = HERE, as_of: str | None = None, today: date | None = None) -> list[Written]:
    """Rewrite carc.csv and rarc.csv from the installed candidhealth, keeping the committed dates."""
    version = _version("candidhealth")
    list_date = as_of or RELEASE_DATES.get(("candidhealth", version))
    if list_date is None:
        raise SourceMissing(f"candidhealth {version}: its release date is not known here; pass the date the "
                            "list is current as of (cob codesets update --as-of YYYY-MM-DD)")
    date.fromisoformat(list_date)
    built = (today or date.today()).isoformat()
    base = "candid.resources.x_12.resources.v_1.types"
    out = []
    for name, title, enum in (("carc.csv", "X12 external code source 139 (CARC).", "carc.Carc"),
                              ("rarc.csv", "CMS remittance advice remark codes (X12 external code source 411).",
                               "rarc.Rarc")):
        module = f"{base}.{enum.split('.')[0]}"
        codes = _enum_codes(module)
        source = f"candidhealth {version} (PyPI, Apache-2.0), enum {base}.{enum}; dates from the previous file"
        out.append(_write_dated(dest / name, title, source, list_date, built, codes, _read_dated(dest / name)))
    return out


def update_icd10cm(dest: Path = HERE) -> Written:
    """Write icd10cm.txt.gz: the codes grouped by category, header codes marked `!`, from simple-icd-10-cm."""
    version = _version("simple-icd-10-cm")
    release = ICD10CM_RELEASES.get(version)
    if release is None:
        raise SourceMissing(f"simple-icd-10-cm {version}: its fiscal year is not known here; add it to "
                            "ICD10CM_RELEASES in cob/edi/codesets/update.py")
    fiscal_year, what = release
    import simple_icd_10_cm as icd  # the optional extra, only here

    by_category: dict[str, list[str]] = {}
    count = 0
    for code in icd.get_all_codes(with_dots=False):
        if not icd.is_category_or_subcategory(code):
            continue  # chapters and blocks (A00-A09) are never sent
        suffix = code[3:] or "."
        by_category.setdefault(code[:3], []).append(suffix if icd.is_leaf(code) else suffix + "!")
        count += 1
    lines = [f"{cat} {' '.join(sorted(set(items)))}" for cat, items in sorted(by_category.items())]
    header = (f"# ICD-10-CM codes without the dot, one line per 3-character category: the category, then the "
              f"rest of each code ('.' = the category itself, '!' = a header code, not billable). source: "
              f"simple-icd-10-cm {version} (PyPI, MIT), {what}\n# fiscal_year: {fiscal_year}\n"
              f"# valid_from: {fiscal_year - 1}-10-01\n# valid_to: {fiscal_year}-09-30\n")
    data = (header + "\n".join(lines) + "\n").encode("ascii")
    path = dest / "icd10cm.txt.gz"
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return Written(path, count, [])


def update(dest: Path = HERE, as_of: str | None = None) -> list[Written]:
    """Every generated list; raises `SourceMissing` when a source package is missing."""
    return [*update_carc_rarc(dest, as_of), update_icd10cm(dest)]
