"""Quick scans of X12 text that need no walk of the loops.

Sharing a big claim file out among processes (cob.billing.parallel) needs each claim's CLM01 before anyone
has read the file: one regex over the text finds them about a hundred times faster than the reader. The
scan reads the delimiters from the ISA like the reader does, but it is not a reader: it checks nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from .tokens import CHUNK


def scan_claim_ids(path: str | Path) -> list[str]:
    """Every CLM01 of a claim file in order, found with one regex over the text (about 1 GB/s).

    Only the sharing-out uses it: a CLM it misreads is still billed (by worker 0), so it need not be exact.
    The delimiters are those of the file's first ISA; a file that cannot be read gives no ids.
    """
    ids: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            text = fh.read(CHUNK)
            at = text.find("ISA")
            if at < 0 or len(text) < at + 106:
                return ids
            sep, term = text[at + 3], text[at + 105]
            pattern = re.compile(re.escape(term) + r"\s*CLM" + re.escape(sep) + "([^" + re.escape(sep + term) + "]*)")
            while True:
                cut = text.rfind(term)
                if cut < 0:  # no segment ends in this chunk: read on
                    more = fh.read(CHUNK)
                    if not more:
                        return ids
                    text += more
                    continue
                ids.extend(pattern.findall(text, 0, cut + 1))
                more = fh.read(CHUNK)
                if not more:
                    return ids
                text = text[cut:] + more  # from the last terminator: a CLM right after it is found next round
    except OSError:
        return ids
