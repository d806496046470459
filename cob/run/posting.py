"""Posting the later payers' 835s in `cob run`: patient balances, the COB worklist, estimate against actual.

`cob run` bills the secondary (step 4 of the workflow); this is steps 6 and 7: when a later payer's 835
arrives, post it. For every claim the billing step decides, `Poster.observe` sees the claim and all its
claim payments (the billing step has them loaded already, so posting reads nothing twice) and works out:

- the patient balance (`balances.compute_balance`): final once the claim's last payer answered (or an
  earlier payer left nothing), reopened when the last payer took its payment back;
- worklist items (`worklist.cob_denials`): a later payer's COB denial with the next action, "both
  payers deny as secondary", a recoupment, an underpayment;
- estimate against actual: when the roster gives the paying payer's `benefit_terms`, cob's estimate
  from the prior payer's 835 against what it paid; paid less than the estimate by more than
  `[report] underpayment_tolerance` puts the claim on the worklist (`underpaid`).

`PostingState` writes what was found in the billing transaction (SQL of the after-payment tables of
migrations 3-5): one balance row per claim, worklist items upserted by (claim, kind, payer) and closed when
their cause is gone, one estimate check per (claim, payer), where a claim is its CLM01 and claim identity
key (provider and visit, as migration 2 keys claims). Everything here is ids, codes and amounts;
patient names appear only in the balance files and only with `[report] include_patient_names = true`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from cob.billing.build import patient_responsibility, payer_chain
from cob.billing.consolidate import LEVEL, RemitIndex, _arrival, payer_key
from cob.billing.expected import FeeScheduleError, priced_adjudication, terms_for
from cob.billing.triage import member_id
from cob.rules.payment import EstimateInputError, estimate_claim
from cob.schemas.claim import Claim
from cob.schemas.codes import ClaimStatus
from cob.schemas.coverage import CoverageRoster as Roster, load_roster

from .balances import Balance, compute_balance, is_medicaid
from .claim_facts import patient_name
from .deadlines import Deadline, DeadlineRules, deadline_for
from .worklist import WorkItem, cob_denials, prior_payer_impact, recoupment, underpaid

DEFAULT_TOLERANCE = Decimal("1.00")


@dataclass
class EstimateCheck:
    claim_id: str
    payer: str
    method: str
    expected: Decimal
    paid: Decimal
    flagged: bool

    def to_json(self) -> dict:
        return {"claim_id": self.claim_id, "payer": self.payer, "method": self.method,
                "expected": str(self.expected), "paid": str(self.paid), "difference": str(self.expected - self.paid),
                "flagged": self.flagged}


@dataclass
class ClaimPosting:
    claim_id: str
    claim_key: str = ""  # `ClaimIdentity.key` (provider and visit): which claim of the CLM01 (migration 2)
    balance: Balance | None = None
    items: list[WorkItem] = field(default_factory=list)
    check: EstimateCheck | None = None
    deadline: Deadline | None = None  # the next payer's filing deadline (None: nothing left to file)


@dataclass
class PostingSettings:
    """`[report]` keys this step reads."""

    include_patient_names: bool = False
    underpayment_tolerance: Decimal = DEFAULT_TOLERANCE
    deadlines: DeadlineRules = field(default_factory=DeadlineRules)


class Poster:
    """Collects a `ClaimPosting` per claim the billing step decides (`observe`)."""

    def __init__(self, coverage: Path | None, settings: PostingSettings | None = None):
        self.settings = settings or PostingSettings()
        self.roster: Roster | None = load_roster(coverage) if coverage is not None else None
        self.base = coverage.parent if coverage is not None else None
        self.schedules: dict = {}
        self.postings: list[ClaimPosting] = []

    def observe(self, claim: Claim, index: RemitIndex, claim_key: str = "") -> None:
        """`index` holds the payments matched to this claim only; `claim_key` its identity within the CLM01."""
        posting = post_claim(claim, index, self.roster, self.base, self.schedules, self.settings)
        if posting is not None:
            posting.claim_key = claim_key
            self.postings.append(posting)


def post_claim(claim: Claim, index: RemitIndex, roster: Roster | None, base: Path | None, schedules: dict,
               settings: PostingSettings) -> ClaimPosting | None:
    """What one claim's payments mean after billing (see module doc); None when no payer answered yet."""
    claim_id = claim.claim_id
    records = sorted(index.records.get(claim_id, []), key=_arrival)
    if not records:
        return None
    remits = index.consolidate(claim_id)
    coverages = roster.lookup(claim_id, member_id(claim)) if roster is not None else None
    chain = payer_chain(claim, coverages)
    if not chain.payers or remits is None:
        return None
    last_level = max(p.level for p in chain.payers)
    if len(records) == len(remits.adjudications) and all(a.parts == 1 for a in remits.adjudications):
        # one answer per level, nothing netted away: the payments billing decoded are all there is
        payments = [(a.payment, a.files[-1] if a.files else "") for a in remits.adjudications]
    else:
        payments = [(r.payment(index.headers), r.file) for r in records]
    # COB denials need a later payer's answer, or two payers for "both deny as secondary"
    later = len(payments) > 1 or any(a.level >= 2 for a in remits.adjudications)
    out = ClaimPosting(claim_id, items=cob_denials(claim_id, payments) if later else [])
    standing = {a.level: a for a in remits.adjudications}
    top = max(standing) if standing else 0
    answered_last = any(LEVEL.get(r.status, 0) == last_level for r in records)
    reversals = [r for r in records if r.status is ClaimStatus.REVERSAL]
    last = standing.get(last_level)
    if last_level >= 2 and answered_last and last is None and reversals:
        reversal, file = reversals[-1].payment(index.headers), reversals[-1].file
        out.items.append(recoupment(claim_id, payer_key(reversal.header), reversal, file))
        out.balance = compute_balance(claim, chain, remits, status="reopened")
        out.balance.last_payer, out.balance.last_level = payer_key(reversal.header), last_level
        out.balance.note = "the last payer reversed its payment; no corrected payment has arrived"
    elif last is not None and last.payment.clp.paid < 0:
        out.items.append(recoupment(claim_id, last.payer, last.payment, last.files[-1] if last.files else None))
        out.balance = compute_balance(claim, chain, remits, status="reopened")
    elif top:
        adj = standing[top]
        open_denial = any(i.kind != "underpaid" and adj.payer in i.payer.split(",") for i in out.items) or \
            bool(cob_denials(claim_id, [(adj.payment, "")], min_level=1))  # a primary's COB denial holds it too
        nothing_left = top < last_level and patient_responsibility(standing[top].payment) == 0
        if (top >= last_level or nothing_left) and not open_denial:
            out.balance = compute_balance(claim, chain, remits, status="final")
    if top >= 2 and top - 1 in standing and not any(i.payer == standing[top].payer for i in out.items):
        out.check = _check(claim_id, chain, standing, top, base, schedules, coverages, settings)
        if out.check is not None and out.check.flagged:
            adj = standing[top]
            out.items.append(underpaid(claim_id, adj.payer, out.check.method, out.check.expected, out.check.paid,
                                       adj.payment, adj.files[-1] if adj.files else None))
    # a later payer's zero for the prior payment (CARC 23) no check vouches for; Medicaid's is routine (lesser-of,
    # and what it leaves is written off, not billed)
    if top >= 2 and out.check is None and not any(i.payer == standing[top].payer for i in out.items) \
            and not is_medicaid(chain, top):
        adj = standing[top]
        item = prior_payer_impact(claim_id, adj.payment, adj.files[-1] if adj.files else None)
        if item is not None:
            out.items.append(item)
    out.deadline = deadline_for(claim, chain, remits, settings.deadlines)
    if out.balance is not None and settings.include_patient_names:
        out.balance.patient_name = patient_name(claim)
    return out


def _check(claim_id, chain, standing, top, base, schedules, coverages, settings) -> EstimateCheck | None:
    payer = chain.at(top)
    if payer is None:
        return None
    terms = terms_for(coverages or [], payer.payer_id)
    if terms is None:
        return None
    try:
        prior, _why = priced_adjudication(standing[top - 1].payment, terms, base, schedules)
        if prior is None:
            return None
        estimate = estimate_claim(prior, terms)
    except (EstimateInputError, FeeScheduleError, ValueError):
        return None
    paid = standing[top].payment.clp.paid
    return EstimateCheck(claim_id, standing[top].payer, terms.method.value, estimate.secondary_pays, paid,
                         estimate.secondary_pays - paid > settings.underpayment_tolerance)


# ------------------------------------------------------------------------------------------------ state


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


class PostingState:
    """The after-payment tables (migrations 3-5) over the run's `State.db`; call inside its transaction. Rows
    are keyed as migration 2 keys claims: CLM01 and claim identity key (two practices' claims with one CLM01
    are two balances)."""

    def __init__(self, db):
        self.db = db

    def record(self, postings: list[ClaimPosting], now: dt.datetime, run_id: int | None,
               filed: set[tuple[str, str, str]] = frozenset(), skipped: set[tuple[str, str]] = frozenset()) -> None:
        """Write the postings; `filed`: (claim, claim key, payer) sent by this billing step (their deadline is
        met); `skipped`: (claim, claim key) the billing step skipped (crossover, nothing left to bill, ...):
        nothing to file."""
        when = _iso(now)
        for p in postings:
            if (p.claim_id, p.claim_key) in skipped or (p.balance is not None and p.balance.status == "final"):
                p.deadline = None
            self._deadline(p, when, filed)
            if p.balance is not None:
                b = p.balance
                final_at = when if b.status == "final" else None
                data = b.to_json()
                data.pop("patient_name", None)  # names go to the balance files only, never into the state
                self.db.execute(
                    "INSERT INTO patient_balances (claim_id, claim_key, status, last_payer, patient_owes, data, "
                    "final_at, updated_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (claim_id, claim_key) DO UPDATE SET "
                    "status = excluded.status, last_payer = excluded.last_payer, "
                    "patient_owes = excluded.patient_owes, data = excluded.data, final_at = excluded.final_at, "
                    "updated_at = excluded.updated_at, run_id = excluded.run_id",
                    (b.claim_id, p.claim_key, b.status, b.last_payer, str(b.patient_owes), json.dumps(data), final_at,
                     when, run_id))
            keep = {(i.kind, i.payer) for i in p.items}
            # an acknowledgment's rejection stays until an acceptance (acks.py) closes it
            for kind, payer in self.db.query("SELECT kind, payer FROM worklist WHERE claim_id = ? AND claim_key = ? "
                                             "AND closed_at IS NULL AND kind NOT LIKE ?",
                                             (p.claim_id, p.claim_key, "ack_rejected%")):
                if (kind, payer) not in keep:
                    self.db.execute("UPDATE worklist SET closed_at = ?, updated_at = ? WHERE claim_id = ? AND "
                                    "claim_key = ? AND kind = ? AND payer = ?",
                                    (when, when, p.claim_id, p.claim_key, kind, payer))
            for i in p.items:
                self.db.execute(
                    "INSERT INTO worklist (claim_id, claim_key, kind, payer, says, action, evidence, opened_at, "
                    "updated_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (claim_id, claim_key, kind, payer) DO UPDATE SET "
                    "says = excluded.says, action = excluded.action, evidence = excluded.evidence, "
                    "updated_at = excluded.updated_at, closed_at = NULL, run_id = excluded.run_id",
                    (i.claim_id, p.claim_key, i.kind, i.payer, i.says, i.action, json.dumps(i.evidence), when, when, run_id))
            if p.check is not None:
                c = p.check
                self.db.execute(
                    "INSERT INTO estimate_checks (claim_id, claim_key, payer, method, expected, paid, flagged, "
                    "checked_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (claim_id, claim_key, payer) DO UPDATE SET "
                    "method = excluded.method, expected = excluded.expected, paid = excluded.paid, "
                    "flagged = excluded.flagged, checked_at = excluded.checked_at, run_id = excluded.run_id",
                    (c.claim_id, p.claim_key, c.payer, c.method, str(c.expected), str(c.paid), int(c.flagged), when, run_id))

    def _deadline(self, p: ClaimPosting, when: str, filed: set[tuple[str, str, str]]) -> None:
        d = p.deadline
        if d is None:
            self.db.execute("DELETE FROM filing_deadlines WHERE claim_id = ? AND claim_key = ?",
                            (p.claim_id, p.claim_key))
            return
        # an emission from before migration 2 has no key ('') and stands for every claim of its CLM01
        sent = (d.claim_id, p.claim_key, d.payer) in filed or self.db.one(
            "SELECT 1 FROM emitted WHERE claim_id = ? AND claim_key IN (?, '') AND payer_id = ?",
            (d.claim_id, p.claim_key, d.payer)) is not None
        self.db.execute(
            "INSERT INTO filing_deadlines (claim_id, claim_key, payer, rule, start_date, due_date, filed, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (claim_id, claim_key) DO UPDATE SET payer = excluded.payer, "
            "rule = excluded.rule, start_date = excluded.start_date, due_date = excluded.due_date, "
            "filed = excluded.filed, updated_at = excluded.updated_at",
            (d.claim_id, p.claim_key, d.payer, d.rule, d.start.isoformat(), d.due.isoformat(), int(sent), when))

    def unfiled_deadlines(self) -> list[tuple]:
        """(claim_id, payer, rule, start_date, due_date) of claims not yet filed with their next payer."""
        return self.db.query("SELECT claim_id, payer, rule, start_date, due_date FROM filing_deadlines "
                             "WHERE filed = 0 ORDER BY due_date, claim_id")

    def unfile(self, claim_id: str, claim_key: str, payer: str, when: str) -> None:
        """An acknowledgment rejected the claim: it is not filed with that payer after all."""
        self.db.execute("UPDATE filing_deadlines SET filed = 0, updated_at = ? WHERE claim_id = ? AND claim_key = ? "
                        "AND payer = ?", (when, claim_id, claim_key, payer))

    # The listings below are what `cob status` (and the morning page, through `afterpay_status`) show;
    # amounts come back as the decimal strings they were stored as.

    def final_balances(self) -> list[tuple]:
        """(claim_id, last_payer, patient_owes, final_at) of claims whose patient balance is final."""
        return self.db.query("SELECT claim_id, last_payer, patient_owes, final_at FROM patient_balances "
                             "WHERE status = 'final' ORDER BY claim_id, claim_key")

    def reopened_balances(self) -> list[tuple]:
        """(claim_id, last_payer, updated_at) of balances a recoupment reopened."""
        return self.db.query("SELECT claim_id, last_payer, updated_at FROM patient_balances "
                             "WHERE status = 'reopened' ORDER BY claim_id, claim_key")

    def open_items(self) -> list[tuple]:
        """(claim_id, kind, payer, says, action, opened_at, evidence) of the open worklist, oldest first;
        `evidence` is the dict `worklist.evidence` built (payer, CLP02, claim number, CAS, RARCs, file)."""
        return [(c, k, p, s, a, o, json.loads(e) if e else {}) for c, k, p, s, a, o, e in self.db.query(
            "SELECT claim_id, kind, payer, says, action, opened_at, evidence FROM worklist "
            "WHERE closed_at IS NULL ORDER BY opened_at, claim_id, kind")]

    def balance(self, claim_id: str, claim_key: str | None = None) -> dict | None:
        """The claim's whole balance (`Balance.to_json`: per payer and line), or None when none is recorded;
        without `claim_key`, the first of the CLM01's claims (by key)."""
        if claim_key is None:
            row = self.db.one("SELECT data FROM patient_balances WHERE claim_id = ? ORDER BY claim_key", (claim_id,))
        else:
            row = self.db.one("SELECT data FROM patient_balances WHERE claim_id = ? AND claim_key = ?",
                              (claim_id, claim_key))
        return json.loads(row[0]) if row else None
