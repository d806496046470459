"""Element-level checks of one segment against its IG definition (SNIP 1-2), fast path first.

Each `SegmentDef` the walker resolves gets a `SegmentChecker`, built once per delimiter set. Its fast
path is one compiled regular expression over the raw segment text that accepts only segments every
element rule accepts (types, lengths, code lists, usage, element and component counts); X12 syntax
notes (P/R/C/L/E) are checked on the split elements. A clean segment therefore costs one C-level regex
match. Anything the regex refuses goes to the slow path, which re-checks element by element and says
exactly what is wrong, in the same order and with the same codes pyx12 uses (IK403 element codes).

The regex is deliberately stricter than the rules where exactness would be costly (February 29, a value
ending in a space, a first component left empty): such segments take the slow path, which decides.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cob.edi.ig.tables import CompositeDef, ElementDef, SegmentDef

#: pyx12's 5010 extended character set (validation.rec_ID_E5), as the characters allowed.
_E5 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!\"&'()*+,-./:;?= %~@[]_{}\\|<>^`#$")
_INVALID_E5 = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>^`#$]""")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_N = re.compile(r"-?[0-9]+")
_R = re.compile(r"-?[0-9]*(?:\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_DATE_TYPES = ("RD8", "DT", "D8", "D6")
#: External lists checked by SNIP 5 instead (dated lists; a code newer than the list is only a warning).
DEFERRED_EXTERNAL = frozenset({"remark_code"})


class ElementProblem(NamedTuple):
    ik4: str  # IK403 code
    message: str  # no values of patient data
    element_pos: int  # 1-based
    component_pos: int | None
    xid: str  # e.g. "CLM05-03"
    data_ele: str
    bad_value: str | None  # only for code (ID) elements


# --------------------------------------------------------------------------------------------------
# value checks, mirroring pyx12.validation

def is_valid_time(val: str) -> bool:
    if not val or _DIGITS.fullmatch(val) is None:
        return False
    if val[0:2] > "23" or val[2:4] > "59":
        return False
    if len(val) > 4:
        if len(val) < 6 or val[4:6] > "59" or len(val) > 8:
            return False
    return True


def is_valid_date(dtype: str, val: str) -> bool:
    if dtype == "D8" and len(val) != 8:
        return False
    if dtype == "D6" and len(val) != 6:
        return False
    if _DIGITS.fullmatch(val) is None or len(val) not in (6, 8, 12):
        return False
    if len(val) == 6:
        val = ("20" if int(val[0:2]) < 50 else "19") + val
    year, month, day = int(val[0:4]), int(val[4:6]), int(val[6:8])
    if year < 1800 or not 1 <= month <= 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        last = 31
    elif month in (4, 6, 9, 11):
        last = 30
    else:
        last = 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    if not 1 <= day <= last:
        return False
    return len(val) != 12 or is_valid_time(val[8:12])


def is_valid_type(val: str, dtype: str) -> bool:
    """pyx12.validation.IsValidDataType with the 5010 extended character set."""
    if not dtype:
        return True
    if dtype[0] == "N":
        return _N.fullmatch(val) is not None
    if dtype == "R":
        return _R.fullmatch(val) is not None
    if dtype in ("ID", "AN"):
        return _INVALID_E5.search(val) is None
    if dtype == "RD8":
        if "-" not in val:
            return False
        parts = val.split("-")
        return len(parts) == 2 and is_valid_date("D8", parts[0]) and is_valid_date("D8", parts[1])
    if dtype in ("DT", "D8", "D6"):
        return is_valid_date(dtype, val)
    if dtype == "TM":
        return is_valid_time(val)
    if dtype == "B":
        return True
    return False


# --------------------------------------------------------------------------------------------------
# fast-path regular expressions

#: month and day of a valid date: days 29 and 30 in every month but February, 31 in the long months.
#: February 29 is left to the slow path (it needs the year).
_MMDD = r"(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])(?:29|30)|(?:0[13578]|1[02])31)"
#: a CCYYMMDD date pyx12 accepts, years 1800-2099
_D8 = r"(?:1[89]|20)[0-9]{2}" + _MMDD


def _charclass(exclude: str, allow_space: bool = True) -> str:
    chars = sorted(c for c in _E5 if c not in exclude and (allow_space or c != " "))
    return "[" + "".join(re.escape(c) for c in chars) + "]"


class _Patterns:
    """Regex fragments for element values under one delimiter set."""

    def __init__(self, element: str, component: str, segment: str, external: dict[str, frozenset[str]],
                 repetition: str = ""):
        self.element, self.component = element, component
        # the repetition separator is no data character either: a value holding it goes the slow way,
        # which says so (no guide element cob reads repeats)
        excluded = element + component + segment + repetition
        self.any = _charclass(excluded)
        self.nospace = _charclass(excluded, allow_space=False)
        self.excluded = excluded
        self.external = external

    def value(self, e: ElementDef, dtype: str | None = None) -> str | None:
        """A pattern for a non-empty valid value of `e`, or None when no safe pattern exists."""
        if e.regex:
            return None
        dt = dtype or e.data_type
        lo, hi = max(e.min_len, 1), e.max_len
        codes = None
        external = e.external_codes if e.external_codes not in DEFERRED_EXTERNAL else None
        if e.codes is not None or external is not None:
            if external is not None and external not in self.external:
                return None
            codes = set(e.codes or ())
            if external is not None:
                codes |= self.external[external]
        if dtype is None and codes is not None:
            good = [c for c in codes if lo <= len(c) <= hi and c and c[-1] != " "
                    and not any(ch in self.excluded for ch in c) and is_valid_type(c, e.data_type)]
            if not good:
                return "(?!)"
            return "(?:" + "|".join(re.escape(c) for c in sorted(good, key=lambda c: (-len(c), c))) + ")"
        if dt in ("AN", "ID"):
            if hi == 1:
                return self.nospace
            return f"{self.any}{{{lo - 1},{hi - 1}}}{self.nospace}"
        if dt[0] == "N":
            return f"-?[0-9]{{{lo},{hi}}}"
        if dt == "R":
            # at least one digit; digits (not '-' or '.') counted between lo and hi
            return (rf"-?(?=(?:[0-9]\.?){{{lo},{hi}}}(?![0-9.]))(?=\.?[0-9])[0-9]*(?:\.[0-9]+)?")
        if dt in ("DT", "D8"):
            if e.min_len == 8 and e.max_len == 8 or dt == "D8":
                return _D8
            if e.min_len == 6 and e.max_len == 6:
                return r"[0-9]{2}" + _MMDD
            return None
        if dt == "RD8":
            return f"{_D8}-{_D8}"
        if dt == "TM":
            if lo > 8 or hi < 4:
                return None
            opts = [n for n in (4, 6, 7, 8) if lo <= n <= hi]
            if not opts:
                return None
            alts = []
            for n in opts:
                alts.append(r"(?:[01][0-9]|2[0-3])[0-5][0-9]" + (r"[0-5][0-9]" if n >= 6 else "")
                            + ("[0-9]" * (n - 6) if n > 6 else ""))
            return "(?:" + "|".join(alts) + ")"
        return None

    def simple(self, e: ElementDef, dtype: str | None = None) -> str | None:
        """Pattern for the element position: value, or empty when the usage allows it."""
        if e.usage == "N":
            return ""
        v = self.value(e, dtype)
        if v is None:
            return None
        return v if e.usage == "R" else f"(?:{v})?"

    def composite(self, c: CompositeDef) -> str | None:
        if c.usage == "N":
            return ""
        sep = re.escape(self.component)
        parts = []
        for j, comp in enumerate(c.components):
            if comp.usage == "N":
                parts.append("")
                continue
            v = self.value(comp)
            if v is None:
                return None
            # conservative: the first component is always required when the composite is present,
            # and a component marked R is required even when the composite is situational
            parts.append(v if (comp.usage == "R" or j == 0) else f"(?:{v})?")
        if not parts:
            return None
        last_required = max((j for j, comp in enumerate(c.components) if comp.usage == "R"), default=0)
        body = ""
        for j in range(len(parts) - 1, 0, -1):
            body = f"{sep}{parts[j]}{body}" if j <= last_required else f"(?:{sep}{parts[j]}{body})?"
        body = parts[0] + body
        return body if c.usage == "R" else f"(?:{body})?"


def build_fast_regex(seg: SegmentDef, element: str, component: str, segment: str,
                     external: dict[str, frozenset[str]], repetition: str = "") -> re.Pattern[str] | None:
    """One regex for the whole segment text, or None when some element has no safe pattern."""
    p = _Patterns(element, component, segment, external, repetition)
    els = seg.elements
    sep = re.escape(element)
    pats: list[str] = []
    type_list: list[str] = []
    for i, e in enumerate(els):
        if isinstance(e, CompositeDef):
            pat = p.composite(e)
        elif e.data_ele == "1251" and seg.id != "DTP" and e.usage != "N":
            pat = _typed_1251(p, e, type_list)
        else:
            pat = p.simple(e)
            if e.data_ele == "1250" and e.codes:
                type_list.extend(sorted(e.codes))
        if pat is None:
            return None
        pats.append(pat)
    if seg.id == "DTP" and len(els) >= 3 and isinstance(els[1], ElementDef) and els[1].codes:
        # DTP03's type follows DTP02: one alternative per format code
        alts = []
        for fmt in sorted(els[1].codes):
            v = p.value(els[2], fmt) if fmt in ("RD8", "D8", "D6", "DT", "TM") else p.value(els[2])
            if v is None:
                return None
            alts.append(f"{re.escape(fmt)}{sep}{v}" if els[2].usage == "R" else f"{re.escape(fmt)}(?:{sep}(?:{v})?)?")
        head = pats[0]
        body = f"{sep}{head}{sep}(?:{'|'.join(alts)})" + "".join(f"(?:{sep}{x})?" for x in pats[3:])
        return re.compile(re.escape(seg.id) + body, re.S)
    last_required = max((i for i, e in enumerate(els) if e.usage == "R"), default=-1)
    body = ""
    for i in range(len(pats) - 1, -1, -1):
        if i <= last_required:
            body = f"{sep}{pats[i]}{body}"
        else:
            body = f"(?:{sep}{pats[i]}{body})?"
    return re.compile(re.escape(seg.id) + body, re.S)


def _typed_1251(p: _Patterns, e: ElementDef, type_list: list[str]) -> str | None:
    """pyx12 checks a 1251 value against every format code its segment's 1250 element allows."""
    alts = [p.value(e, t) for t in type_list if t in ("D8", "RD8", "TM")]
    if not alts or any(a is None for a in alts):
        return None
    v = "(?:" + "|".join(alts) + ")"
    return v if e.usage == "R" else f"(?:{v})?"


# --------------------------------------------------------------------------------------------------
# syntax notes

def compile_syntax(rules: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    out = []
    for rule in rules:
        if not rule or rule[0] not in "PRCLE":
            continue
        idx = tuple(int(rule[i:i + 2]) for i in range(1, len(rule) - 1, 2))
        if len(idx) >= 2:
            out.append((rule[0], idx))
    return tuple(out)


def syntax_problems(seg_id: str, elements: list[str], rules) -> list[tuple[str, str, int]]:
    """[(ik4, message, element position)] for violated X12 syntax notes."""
    n = len(elements)
    out = []
    for kind, idx in rules:
        present = [i < n and elements[i] != "" for i in idx]
        count = sum(present)
        names = ", ".join(f"{seg_id}{i:02d}" for i in idx)
        if kind == "P" and count not in (0, len(idx)):
            out.append(("2", f"syntax {kind}{''.join(f'{i:02d}' for i in idx)}: if any of {names} is present, all are required", idx[0]))
        elif kind == "R" and count == 0:
            out.append(("2", f"syntax R: at least one of {names} is required", idx[0]))
        elif kind == "E" and count > 1:
            out.append(("10", f"syntax E: at most one of {names} may be present", idx[0]))
        elif kind == "C" and present[0] and sum(present[1:]) != len(idx) - 1:
            out.append(("2", f"syntax C: if {seg_id}{idx[0]:02d} is present, {', '.join(f'{seg_id}{i:02d}' for i in idx[1:])} required", idx[0]))
        elif kind == "L" and present[0] and not any(present[1:]):
            out.append(("2", f"syntax L: if {seg_id}{idx[0]:02d} is present, at least one of {', '.join(f'{seg_id}{i:02d}' for i in idx[1:])} is required", idx[0]))
    return out


# --------------------------------------------------------------------------------------------------
# the checker

class SegmentChecker:
    """Validates data segments against one `SegmentDef` under one delimiter set."""

    __slots__ = ("seg", "fast", "syntax", "component", "repetition", "external", "_syntax_ok", "passed")

    #: at most this many texts in `passed` (it is emptied when full, so memory stays bounded)
    PASSED_MAX = 2048

    def __init__(self, seg: SegmentDef, element: str, component: str, segment: str,
                 external: dict[str, frozenset[str]], repetition: str | None = None):
        self.seg = seg
        self.component = component
        #: ISA11, when it is a separator (5010: not a letter, digit or space); "" when there is none
        self.repetition = repetition if repetition and not repetition.isalnum() and repetition != " " else ""
        self.external = external
        self.syntax = compile_syntax(seg.syntax)
        #: syntax notes depend only on which elements are present: cached by that pattern
        self._syntax_ok: dict[tuple[bool, ...] | int, bool] = {}
        self.fast = None if seg.id == "ISA" else build_fast_regex(seg, element, component, segment, external,
                                                                    self.repetition)
        #: segment texts the fast path accepted (regex and syntax notes): files repeat most segments
        #: verbatim (dates, amounts, codes), and a set lookup is far cheaper than the regex
        self.passed: set[str] = set()

    def syntax_ok(self, elements: list[str], raw: str) -> bool:
        """The syntax notes hold? They depend only on which elements are present: without an empty
        element inside the segment (no doubled separator) that is just the element count."""
        sep = raw[len(elements[0])] if len(raw) > len(elements[0]) else ""
        key: tuple[bool, ...] | int = len(elements) if (not sep or sep + sep not in raw) else tuple(map(bool, elements))
        ok = self._syntax_ok.get(key)
        if ok is None:
            ok = self._syntax_ok[key] = not syntax_problems(self.seg.id, elements, self.syntax)
        return ok

    def check(self, elements: list[str], raw: str) -> list[ElementProblem]:
        fast = self.fast
        if fast is not None and fast.fullmatch(raw) is not None:
            if not self.syntax or self.syntax_ok(elements, raw):
                return []
        return self.slow(elements)

    # the exact checks, in pyx12's order -------------------------------------------------------
    def slow(self, elements: list[str]) -> list[ElementProblem]:
        seg = self.seg
        defs = seg.elements
        out: list[ElementProblem] = []
        n = len(elements) - 1
        count = len(defs)
        if n > count:
            out.append(ElementProblem("3", f"too many elements in {seg.id}: has {n}, at most {count}",
                                      count + 1, None, f"{seg.id}{count + 1:02d}", "", None))
        dtp_type: list[str] = []
        type_list: list[str] = []
        comp = self.component
        rep = self.repetition if seg.id != "ISA" else ""
        for i in range(min(n, count)):
            d = defs[i]
            value = elements[i + 1]
            pos = i + 1
            if rep and rep in value and d.repeat == 1:
                out.append(ElementProblem("6", f"{d.xid} ({d.name}) contains the repetition separator {rep} "
                                          "(ISA11), which only separates repeats of a repeating element", pos,
                                          None, d.xid, d.data_ele, None))
                continue
            if isinstance(d, CompositeDef):
                parts = value.split(comp) if (value != "" and seg.id != "ISA") else ([] if value == "" else [value])
                out.extend(self._composite(d, parts, pos))
                continue
            if seg.id == "DTP" and i == 1 and value in ("RD8", "D8", "D6", "DT", "TM"):
                dtp_type = [value]
            if d.data_ele == "1250" and d.codes:
                type_list.extend(sorted(d.codes))
            if seg.id != "ISA" and comp in value:
                out.append(self._p(d, "6", f"{d.xid} ({d.name}) is an invalid composite", pos, None, None))
                continue
            extra = dtp_type if (seg.id == "DTP" and i == 2) else (type_list if d.data_ele == "1251" else None)
            out.extend(self._element(d, value, pos, None, extra, composite=None))
        for i in range(min(n, count), count):
            d = defs[i]
            if isinstance(d, CompositeDef):
                out.extend(self._composite(d, [], i + 1))
            else:
                out.extend(self._element(d, "", i + 1, None, None, composite=None))
        for ik4, msg, pos in syntax_problems(seg.id, elements, self.syntax):
            d = defs[pos - 1] if pos - 1 < len(defs) else None
            out.append(ElementProblem(ik4, msg, pos, None, f"{seg.id}{pos:02d}",
                                      d.data_ele if d is not None else "", None))
        return out

    def _p(self, d: ElementDef, ik4: str, msg: str, pos: int, comp_pos: int | None, value: str | None):
        bad = value if (value is not None and d.data_type == "ID" and len(value) <= 99) else None
        return ElementProblem(ik4, msg, pos, comp_pos, d.xid, d.data_ele, bad)

    def _composite(self, c: CompositeDef, parts: list[str], pos: int) -> list[ElementProblem]:
        empty = not any(parts)
        if empty and c.usage in ("N", "S"):
            return []
        if c.usage == "R" and empty:
            return [ElementProblem("1", f"required composite {c.xid} ({c.name}) is missing", pos, None,
                                   c.xid, c.data_ele, None)]
        if c.usage == "N":
            return [ElementProblem("I10", f"composite {c.xid} ({c.name}) is not used", pos, None, c.xid,
                                   c.data_ele, None)]
        out: list[ElementProblem] = []
        k = len(c.components)
        if len(parts) > k:
            out.append(ElementProblem("13", f"too many components in {c.xid} ({c.name})",
                                      pos, k + 1, c.xid, c.data_ele, None))
        for j in range(min(len(parts), k)):
            out.extend(self._element(c.components[j], parts[j], pos, j + 1, None, composite=c))
        for j in range(min(len(parts), k), k):
            out.extend(self._element(c.components[j], "", pos, j + 1, None, composite=c))
        return out

    def _element(self, d: ElementDef, value: str, pos: int, comp_pos: int | None,
                 type_list: list[str] | None, composite: CompositeDef | None) -> list[ElementProblem]:
        if value == "":
            if d.usage in ("N", "S"):
                return []
            if d.usage == "R" and (d.seq != 1 or composite is None or composite.usage == "R"):
                return [self._p(d, "1", f"required element {d.xid} ({d.name}) is missing", pos, comp_pos, None)]
            return []
        if d.usage == "N":
            return [self._p(d, "I10", f"element {d.xid} ({d.name}) is not used in this implementation",
                            pos, comp_pos, None)]
        out: list[ElementProblem] = []
        dtype = d.data_type
        measured = value.replace("-", "").replace(".", "") if (dtype == "R" or dtype[0] == "N") else value
        if len(measured) < d.min_len:
            out.append(self._p(d, "4", f"{d.xid} ({d.name}) is too short: {len(measured)} < {d.min_len}",
                               pos, comp_pos, value))
        if len(measured) > d.max_len:
            out.append(self._p(d, "5", f"{d.xid} ({d.name}) is too long: {len(measured)} > {d.max_len}",
                               pos, comp_pos, value))
        if _CONTROL.search(value):
            out.append(self._p(d, "6", f"{d.xid} ({d.name}) contains a control character", pos, comp_pos, None))
            return out
        if dtype in ("AN", "ID") and value[-1] == " " and len(value.rstrip()) >= d.min_len:
            out.append(self._p(d, "6", f"{d.xid} ({d.name}) has trailing spaces", pos, comp_pos, None))
        external = d.external_codes if d.external_codes not in DEFERRED_EXTERNAL else None
        if d.codes is not None or external is not None:
            ok = d.codes is not None and value in d.codes
            if not ok and external is not None:
                ext = self.external.get(external)
                ok = ext is None or value in ext
            if not ok:
                out.append(self._p(d, "7", f"{d.xid} ({d.name}): not a valid code", pos, comp_pos, value))
        if not is_valid_type(value, dtype):
            if dtype in _DATE_TYPES:
                out.append(self._p(d, "8", f"{d.xid} ({d.name}) is not a valid date", pos, comp_pos, None))
            elif dtype == "TM":
                out.append(self._p(d, "9", f"{d.xid} ({d.name}) is not a valid time", pos, comp_pos, None))
            else:
                out.append(self._p(d, "6", f"{d.xid} ({d.name}) has a character not allowed for type {dtype}",
                                   pos, comp_pos, None))
        if type_list:
            if not any(is_valid_type(value, t) for t in type_list):
                if "TM" in type_list:
                    out.append(self._p(d, "9", f"{d.xid} ({d.name}) is not a valid time", pos, comp_pos, None))
                elif any(t in type_list for t in _DATE_TYPES):
                    out.append(self._p(d, "8", f"{d.xid} ({d.name}) is not a valid date for its format "
                                       f"{'/'.join(type_list)}", pos, comp_pos, None))
        if d.regex is not None and re.search(d.regex, value) is None:
            out.append(self._p(d, "7", f"{d.xid} ({d.name}) does not match the IG pattern {d.regex}",
                               pos, comp_pos, None))
        return out
