"""Whose claims a site bills: an 837 from another submitter must not leave under this site's interchange.

A claim's output interchange takes its ISA06/ISA08 (and 1000A) from the original claim file, or from
`[interchange] sender/receiver`. An 837 sent by someone else (another ISA06, another ISA08: another
practice's file dropped into the same inbox) would otherwise be billed in the same interchange as ours,
under our control numbers and submitter, to our clearinghouse. So each input 837 is compared with the
site's own submitter pair ("home"): the pair of the first 837 this site ever recorded (found in the state
database), or, before any, the first 837 of this run (in inbox and name order). Inputs are compared with
inputs: `[interchange] sender/receiver` only say what our outputs carry.

By default (`other_submitters = "quarantine"`) a file with any interchange from another pair is
quarantined with a reason naming both pairs (submitter ids are not PHI). `other_submitters = "separate"`
bills them instead, each in interchanges of its own: one per destination payer, sender, receiver and
submitter (`spool_key`), never mixed with ours.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from cob.billing.output import spool_key as output_key
from cob.schemas.claim import Claim, TransactionHeader

if TYPE_CHECKING:
    from .config import RunConfig
    from .state import State

QUARANTINE = "quarantine"
SEPARATE = "separate"
MODES = (QUARANTINE, SEPARATE)

#: (ISA05:ISA06, ISA07:ISA08) of one interchange
Pair = tuple[str, str]


def pair_of(header: TransactionHeader | None) -> Pair | None:
    """The sender and receiver an 837 transaction arrived from and to."""
    env = header.envelope if header is not None else None
    if env is None or not (env.sender_id or env.receiver_id):
        return None
    return (f"{env.sender_qualifier.strip()}:{env.sender_id.strip()}",
            f"{env.receiver_qualifier.strip()}:{env.receiver_id.strip()}")


def spool_key(payer_id: str, claim: Claim) -> str:
    """The output interchange a claim goes into: one per destination payer and transaction type
    (`cob.billing.output.spool_key`: 837P or 837I), sender, receiver and 1000A."""
    header = claim.header
    pair = pair_of(header) or ("", "")
    submitter = header.submitter if header is not None else None
    sub = submitter.name.id if submitter is not None and submitter.name is not None else ""
    return "|".join((output_key(payer_id, claim), *pair, sub or ""))


class Submitters:
    """Decides, file by file, whether an 837's interchanges are this site's (see module doc)."""

    def __init__(self, config: RunConfig, state: State):
        self.mode = config.other_submitters
        self.state = state
        self._recorded: Pair | None | bool = False  # False: not looked up yet

    def _home(self, first: Pair) -> Pair:
        if self._recorded is False:
            self._recorded = _first_recorded(self.state)
        return self._recorded or first

    def foreign(self, pairs: list[Pair]) -> str | None:
        """Why a file with these interchange pairs is quarantined; None when it is billed."""
        if self.mode == SEPARATE or not pairs:
            return None
        home = self._home(pairs[0])
        for pair in pairs:
            if pair != home:
                return (f"an 837 from submitter {pair[0]} to {pair[1]}, not this site's ({home[0]} to {home[1]}): "
                        "its claims would leave under this site's interchange; set [interchange] "
                        "other_submitters = \"separate\" to bill other submitters in interchanges of their own")
        if self._recorded is None:
            self._recorded = home  # the first 837 of a new site sets home for the rest of the run
        return None


def _first_recorded(state: State) -> Pair | None:
    row = state.db.one("SELECT header_hash FROM claims WHERE header_hash IS NOT NULL ORDER BY id LIMIT 1")
    if row is None:
        return None
    header = TransactionHeader.model_validate_json(zlib.decompress(state.blob(row[0])))
    return pair_of(header)
