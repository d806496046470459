"""The validator's code tables: finding names for element problems, 999 / TA1 codes, which implementation
guides it checks. The walk's problem codes (IK304 -> finding name) are the walk's: `cob.edi.walk`."""

from __future__ import annotations

from cob.edi.guides import GUIDES

#: GS08 -> (transaction set id, functional identifier code GS01): the guides of `cob.edi.guides`
SUPPORTED = {gs08: (g.transaction, g.functional_id) for gs08, g in GUIDES.items()}
#: IK403 codes that are X12 syntax (SNIP 1); the others are IG requirements (SNIP 2).
_SNIP1_IK4 = frozenset({"3", "4", "5", "6", "8", "9", "13"})


def snip_of_ik4(ik4: str) -> int:
    return 1 if ik4 in _SNIP1_IK4 else 2


_IK4_NAMES = {"1": "missing", "2": "conditional_missing", "3": "too_many", "4": "too_short", "5": "too_long",
              "6": "invalid_character", "7": "invalid_code", "8": "invalid_date", "9": "invalid_time",
              "10": "exclusion", "I10": "not_used", "12": "too_many_repeats", "13": "too_many_components", "I12": "pattern"}
#: ISA element position -> TA105 note code for a bad value there
_TA1_BY_ELEMENT = {1: "010", 2: "011", 3: "012", 4: "013", 5: "005", 6: "006", 7: "007", 8: "008", 9: "014",
                   10: "015", 11: "016", 12: "017", 13: "018", 14: "019", 15: "020", 16: "027"}


