"""Issue 13, "Done when": a PHI check over the WHOLE suite. After every test that used `tmp_path`, every
report, log, reason file and state database text that test made under it is searched for every patient
name, member id, birth date and street of every 837/835 it holds (the inputs, the archive, the outbox) and
of the committed sample. `tests/conftest.py` runs it for every test (`COB_PHI_GUARD=0` turns it off).

What is searched is what an operator reads or what leaves the machine besides the claims: `reports/`
folders, `*.reason.txt`, `*.log.jsonl`, `report*.json`, and the text columns of SQLite state databases.
Inputs, archive/, rejected/ and outbox/ hold PHI by design and are the source of the values, not a target.
A value is found only as a whole word (so the name "LEE" is not found in "SLEEP"); values shorter than 3
characters are not looked for. stderr/stdout of the CLI are searched by `tests/run/test_phi_everywhere.py`.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "cob" / "fixtures" / "sample"
#: inputs bigger than this are not read for values (flood and roster tests: their values are the sample's)
MAX_SOURCE_BYTES = 4 * 1024 * 1024
_PEOPLE = {"IL", "QC", "74"}  # subscriber, patient, corrected patient (835)


def _people_values(path: Path) -> set[str]:
    """Last and first names, member ids, birth dates and streets of the people of one X12 file (nothing if
    it cannot be read: a hostile input's values are those of the file it was made from)."""
    from cob.edi.tokens import SegmentReader

    out: set[str] = set()
    in_person = False
    try:
        for el, _no in SegmentReader(path):
            head = el[0]
            if head == "NM1" and len(el) > 3:
                in_person = el[1] in _PEOPLE
                if in_person:
                    out.update(el[3:5])
                    if len(el) > 9:
                        out.add(el[9])
            elif in_person and head == "N3":
                out.update(el[1:3])
            elif in_person and head == "DMG" and len(el) > 2:
                out.add(el[2])
            elif head in ("CLM", "CLP", "HL", "LX", "SBR"):
                in_person = False
    except Exception:  # noqa: BLE001 - an unreadable input is a test's subject, not the guard's
        pass
    return {v for v in out if len(v) >= 3}


@functools.cache
def _sample_values() -> frozenset[str]:
    found: set[str] = set()
    for path in sorted(SAMPLE.glob("*.83?")):
        found |= _people_values(path)
    return frozenset(found)


def _cached_values(path: Path) -> frozenset[str]:
    st = path.stat()
    return _values_of(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _values_of(path: str, _size: int, _mtime: int) -> frozenset[str]:
    return frozenset(_people_values(Path(path)))


def _is_target(path: Path) -> bool:
    name = path.name
    return ("reports" in path.parts or name.endswith((".reason.txt", ".log.jsonl"))
            or (name.startswith("report") and name.endswith(".json")))


def _db_text(path: Path) -> str:
    """Every text value of every table of a SQLite database ("" when it cannot be opened)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return ""
    try:
        out = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in con.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the schema
                out.extend(v for v in row if isinstance(v, str))
        return "\n".join(out)
    except sqlite3.Error:  # truncated or garbage on purpose in some tests
        return ""
    finally:
        con.close()


def leaks_under(root: Path) -> dict[str, list[str]]:
    """{file: [patient values found in it]} for everything cob wrote under `root` that an operator reads."""
    values: set[str] = set(_sample_values())
    targets: list[Path] = []
    databases: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = Path(folder, name)
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                if name.endswith((".837", ".835")) and path.stat().st_size <= MAX_SOURCE_BYTES:
                    values |= _cached_values(path)
                elif name.endswith(".db"):
                    databases.append(path)
                elif _is_target(path):
                    targets.append(path)
            except OSError:  # gone meanwhile, or a name the file system refuses
                continue
    if not values or not (targets or databases):
        return {}
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, sorted(values, key=len, reverse=True)))
                         + r")(?![A-Za-z0-9])")
    found: dict[str, list[str]] = {}
    for path in targets:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        hits = sorted(set(pattern.findall(text)))
        if hits:
            found[str(path.relative_to(root))] = hits
    for path in databases:
        hits = sorted(set(pattern.findall(_db_text(path))))
        if hits:
            found[f"{path.relative_to(root)} (text columns)"] = hits
    return found
