"""The validator's code tables: finding names for walk and element problems, 999 / TA1 codes, which
implementation guides it checks, and IK304 for a segment the walk could not place."""

from __future__ import annotations

from cob.edi.ig.tables import (
    SegmentDef,
    TransactionTable,
    load_control_segments,
    load_table,
)

#: GS08 -> (transaction set id, functional identifier code GS01)
SUPPORTED = {"005010X222A1": ("837", "HC"), "005010X221A1": ("835", "HP"), "005010X231A1": ("999", "FA")}
#: IK403 codes that are X12 syntax (SNIP 1); the others are IG requirements (SNIP 2).
_SNIP1_IK4 = frozenset({"3", "4", "5", "6", "8", "9", "13"})


def snip_of_ik4(ik4: str) -> int:
    return 1 if ik4 in _SNIP1_IK4 else 2


def _first_segment_id(loop) -> str | None:
    first = loop.first_segment()
    return first.id if first is not None else None


def _segment_ids(table: TransactionTable) -> frozenset[str]:
    return frozenset(c.id for loop in table.loops for c in loop.children if isinstance(c, SegmentDef))


_IDS: dict[str, frozenset[str]] = {}


def _unplaced_code(table: TransactionTable, seg_id: str) -> str:
    """IK304 for a segment the walk could not place: 2 the set has it elsewhere, 6 another set has it,
    1 no implementation guide we know has it."""
    here = _IDS.get(table.version)
    if here is None:
        here = _IDS[table.version] = _segment_ids(table)
    if seg_id in here:
        return "2"
    every = _IDS.get("*")
    if every is None:
        ids = set(load_control_segments())
        for version in ("005010X222A1", "005010X221A1", "005010X231A1"):
            ids |= _segment_ids(load_table(version))
        every = _IDS["*"] = frozenset(ids)
    return "6" if seg_id in every else "1"


_UNPLACED = {"1": "segment_unknown", "2": "segment_unexpected", "6": "segment_not_in_set"}
_WALK_CODES = {"2": "segment_not_used", "3": "segment_missing",
               "4": "loop_repeat", "5": "segment_repeat"}
_IK4_NAMES = {"1": "missing", "2": "conditional_missing", "3": "too_many", "4": "too_short", "5": "too_long",
              "6": "invalid_character", "7": "invalid_code", "8": "invalid_date", "9": "invalid_time",
              "10": "exclusion", "I10": "not_used", "12": "too_many_repeats", "13": "too_many_components", "I12": "pattern"}
#: ISA element position -> TA105 note code for a bad value there
_TA1_BY_ELEMENT = {1: "010", 2: "011", 3: "012", 4: "013", 5: "005", 6: "006", 7: "007", 8: "008", 9: "014",
                   10: "015", 11: "016", 12: "017", 13: "018", 14: "019", 15: "020", 16: "027"}


