"""Which X12 versions and implementation guides cob reads and checks: the one answer to that question.

The reader (`cob.edi.reader`, hence `cob parse`, `cob secondary`, `cob run`) and the validator
(`cob.edi.validate`) both ask here, so that a file the reader refuses for its version is one the
validator refuses for the same reason, in the same words: reading and validating agree.

- An interchange is read only when ISA12 is 00501 (X12 005010). Any other version (00401, 00402, ...)
  is one problem for the whole interchange, not a finding per segment it would otherwise raise.
- A functional group is read only when GS08 names a guide in `GUIDES` and the transaction set's ST01 is
  that guide's. The 837I is read and checked by its 005010X223A2 guide; 837I of other errata, 837D (X224)
  and 4010 guides are "not supported".
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Guide(NamedTuple):
    transaction: str  # ST01
    functional_id: str  # GS01
    name: str  # what messages call it


#: ISA12 of the one X12 version cob reads
INTERCHANGE_VERSION = "00501"

#: GS08 -> the guide: every implementation guide the validator checks
GUIDES: dict[str, Guide] = {
    "005010X222A1": Guide("837", "HC", "837P"),
    "005010X223A2": Guide("837", "HC", "837I"),
    "005010X221A1": Guide("835", "HP", "835"),
    "005010X231A1": Guide("999", "FA", "999"),
}

#: ISA12 values that name an X12 version (00200 ... 00801)
_X12_VERSION = re.compile(r"00[2-8]0[0-9]")

#: the guides the claim reader reads into models (a 999 is only validated)
READABLE = frozenset({"005010X222A1", "005010X223A2", "005010X221A1"})

#: guides cob knows of but does not support, named in messages (GS08 prefix -> what it is)
_KNOWN_OTHERS = {
    "005010X223": "837I of another errata than X223A2", "005010X224": "837D (dental)",
    "004010X098": "837P of version 4010",
    "004010X096": "837I of version 4010", "004010X097": "837D of version 4010", "004010X091": "835 of version 4010",
}


def interchange_problem(isa12: str) -> str | None:
    """Why an interchange with this ISA12 is not read, or None when it is."""
    if isa12 == INTERCHANGE_VERSION:
        return None
    what = (f"X12 version {isa12} is not supported" if _X12_VERSION.fullmatch(isa12)
            else "is not an X12 version")
    return (f"ISA12 {isa12 or '(empty)'}: {what}; cob reads 005010 (ISA12 {INTERCHANGE_VERSION}) only, so "
            "nothing in this interchange is read")


def _what(gs08: str) -> str:
    for prefix, name in _KNOWN_OTHERS.items():
        if gs08.startswith(prefix):
            return f" ({name})"
    return ""


def group_problem(gs08: str, readable: bool = False) -> str | None:
    """Why a functional group with this GS08 is not checked (`readable`: not read into claims), or None."""
    known = READABLE if readable else GUIDES
    if gs08 in known:
        return None
    names = ", ".join(f"{g} ({GUIDES[g].name})" for g in GUIDES if g in known)
    return f"GS08 {gs08 or '(empty)'}{_what(gs08)} is not supported; supported: {names}"


def transaction_problem(gs08: str, st01: str, readable: bool = False) -> str | None:
    """Why transaction set `st01` in a group with GS08 `gs08` is not read (`readable`) / checked, or None:
    the group's guide is not supported, or it is not a guide of that transaction set."""
    problem = group_problem(gs08, readable)
    if problem is not None:
        return f"transaction not supported: {st01 or '(no ST01)'} in a group whose {problem}"
    guide = GUIDES[gs08]
    if st01 != guide.transaction:
        return f"transaction not supported: {st01 or '(no ST01)'} in a {gs08} ({guide.name}) group"
    return None
