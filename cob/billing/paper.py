"""Output of `cob secondary` / `cob run` for a destination payer that takes paper: one PDF per payer and run.

A paper payer's claims go through everything an 837P payer's do: triage, matching, the COB checks, and the
IG gate. So a `PaperSpool` is a `Spool` (the claims are written into its temp 837P and validated by
cob.edi.validate like any other), and only at the end, instead of publishing the 837P, the claims the gate
kept are printed (`print_claims`, called by `output.finish_spool`): each claim's CMS-1500 forms
(`cob.paper.cms1500`) followed by an EOB page per prior payer's 835 claim payment (`cob.paper.eob`), into
`<out>/paper/<payer id>-<ISA13>.pdf` (temp file, fsync, linked into place, never over a file there; `cob run`: left as a ready temp file that
it renames after its state commit). The temp 837P is then removed: nothing of a paper payer's claims is
sent as EDI. The ISA13 (this run's control number for the payer) names the file as it names an 837P; `cob
run` keeps control numbers in its state and never reuses one, so its runs never write the same name.

Each claim's pages are laid out when it is spooled (the forms from the built claim's models, the EOBs from
the run's remittance index) and held until the gate has run: small text, and paper payers are few. In a run
over several processes each worker lays out its own claims, and the parent joins their pages with the
workers' spools (`cob.billing.parallel`), so the PDF is the one a serial run writes.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from cob.edi.writer import InterchangeInfo, file_mode
from cob.paper.cms1500 import DoesNotFit, claim_forms
from cob.paper.eob import eob_pages
from cob.paper.render import PaperClaim, render
from cob.schemas.claim import Claim, TransactionHeader
from cob.schemas.remit import ClaimPayment
from cob.schemas.report import ClaimOutcome, OutcomeStatus, Reason

from .nightly import publish_new
from .output import Spool, safe_name

PAPER_FOLDER = "paper"


def paper_path(out_dir: Path, payer_id: str, isa: int) -> Path:
    """Where a paper payer's PDF numbered `isa` is published (`cob secondary` skips numbers whose name exists)."""
    return out_dir / PAPER_FOLDER / f"{safe_name(payer_id)}-{isa:09d}.pdf"


class PaperSpool(Spool):
    """A destination payer's paper output: the 837P spool the IG gate checks, and the claims to print."""

    def __init__(self, out_dir: Path, payer_id: str, isa: int, info: InterchangeInfo, header: TransactionHeader,
                 when: dt.datetime, payments: Callable[[str], Sequence[ClaimPayment]], proof: bool = False):
        folder = out_dir / PAPER_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(folder, payer_id, isa, info, header, when)
        self.final = paper_path(out_dir, payer_id, isa)
        self.payments = payments
        self.proof = proof
        self.printed: list[PaperClaim] = []  # one per entry, in the same order

    def add(self, claim: Claim, outcome: ClaimOutcome, source: str) -> None:
        """Spool the claim and lay out its pages; a claim the form has no room for is rejected instead."""
        try:
            forms = claim_forms(claim)
        except DoesNotFit as exc:
            outcome.status, outcome.reason, outcome.output = OutcomeStatus.REJECTED, Reason.WRITE_FAILED, None
            outcome.detail = f"payer {self.payer_id} takes paper, and the CMS-1500 cannot hold this claim: {exc}"
            return
        super().add(claim, outcome, source)
        eobs = [page for payment in self.payments(claim.claim_id)
                for page in eob_pages(payment, claim.claim_id, self.payer_id)]
        self.printed.append(PaperClaim(claim.claim_id, forms, eobs))

    def print_claims(self, keep: list[int], defer: bool) -> Path | None:
        """Print the kept claims (entry numbers) to the PDF and drop the 837P spool. With `defer`, the PDF is
        left as an fsynced temp file beside its final name, which is returned."""
        fd, name = tempfile.mkstemp(prefix=f".{self.final.name}.", suffix=".tmp", dir=self.final.parent)
        os.fchmod(fd, file_mode())
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                render(fh, [self.printed[n] for n in keep], proof=self.proof)
                fh.flush()
                os.fsync(fh.fileno())
            if not defer:
                publish_new(tmp, self.final)  # never over a file already there
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.tmp.unlink(missing_ok=True)
        return tmp if defer else None
