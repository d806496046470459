"""Billing step of a run: decide every claim with new data and build its next-payer claim.

The decision itself is `cob.billing.triage.triage` (the same code as `cob secondary`, through
`SecondaryRun.triage`), fed with the claim and the adjudications the state database holds instead of files,
so a claim billed by `cob run` weeks after its 837P arrived is built exactly as `cob secondary` would build it
from both files.

What `cob run` adds:

- *Never twice to one payer*: a claim already emitted to the destination is `skipped`
  (`already_adjudicated`); the database's UNIQUE (claim, payer, generation) backs this up.
- *Reversal after billing* (issue #5 part 4): each emission records a fingerprint of the earlier payers'
  standing adjudications it was built from. When that changes (a reversal and correction arrived later),
  the claim is rebuilt from the adjudications below the billed payer's level and sent again as a
  replacement (CLM05-3 = 7, 2300 REF*F8 = the billed payer's own claim number, CLP07 of its 835) when that
  number is known; otherwise it is held (`replacement_held`) with the reason.
- Control numbers come from the state database, per sender (`allocate_isa`), and outputs are left as
  fsynced temp files (`defer_publish`) for the runner to record and rename after its commit.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cob.edi.envelope import Party as EnvParty
from cob.billing.consolidate import LEVEL, RemitIndex, consolidate
from cob.billing.match import ClaimPayments
from cob.billing.output import destination_header, safe_name
from cob.billing.secondary import (SecondaryOptions, SecondaryRun, claim_label, held_by_matching, note_matching,
                                   orphan_outcomes)
from cob.schemas.claim import BillingProvider, Claim, TransactionHeader
from cob.schemas.codes import ClaimStatus
from cob.schemas.institutional import claim_model
from cob.schemas.coverage import load_roster
from cob.schemas.remit import ClaimPayment, PaymentHeader
from cob.schemas.report import ClaimOutcome, OutcomeStatus
from cob.schemas.segments import REF

from . import faults, signals
from .submitters import spool_key
from .state import State

CHUNK = 500
FINGERPRINT_EXCLUDE = {"header", "source", "summary"}


@dataclass
class Emission:
    claim_id: str
    payer_id: str
    generation: int
    frequency: str
    level: int
    fingerprint: str
    spool_key: str  # the output interchange (`submitters.spool_key`: payer, sender, receiver, submitter)
    outcome: ClaimOutcome  # billed unless IG validation took the claim out again
    claim_key: str = ""  # `ClaimIdentity.key`: which claim of the CLM01


@dataclass
class BillingResult:
    outcomes: list[ClaimOutcome] = field(default_factory=list)
    claim_keys: list[str] = field(default_factory=list)  # each outcome's claim identity key ('' none)
    emissions: list[Emission] = field(default_factory=list)
    first_seen: dict[str, str] = field(default_factory=dict)
    run: "StateSecondaryRun | None" = None
    #: called with each claim, its own remittances (those matched to it) and its claim identity key
    #: (`posting.Poster.observe`: post later payers' 835s)
    observer: Callable[[Claim, RemitIndex, str], None] | None = None


class StateSecondaryRun(SecondaryRun):
    """`SecondaryRun` whose ISA13 numbers come from the state database, one counter per sender."""

    def __init__(self, state: State, options: SecondaryOptions):
        super().__init__([], [], options)
        self.state = state
        self.last_isa: dict[str, int] = {}

    def _spool(self, destination, claim):
        """One interchange per destination payer *and* sender, receiver and submitter (`submitters.spool_key`)."""
        key = spool_key(destination.payer_id, claim)
        spool = self.spools.get(key)
        if spool is None:
            spool = self.open_spool(key, destination.payer_id, self.interchange(claim),
                                    destination_header(claim.header, claim, destination), claim.GUIDE)
        return spool

    def open_spool(self, key, payer_id, info, header, guide=Claim.GUIDE):
        """As `SecondaryRun.open_spool`, but a file name already used (another sender's interchange with the same
        ISA13 to the same payer, or an output of an earlier run) gets the sender id in its name instead of
        replacing that file."""
        spool = super().open_spool(key, payer_id, info, header, guide)
        others = {s.final for k, s in self.spools.items() if k != key}
        if spool.final in others or spool.final.exists() or self.state.output_taken(self._relative(spool.final)):
            # the sender id is made a safe name (an ISA06 may hold "/"), and a clash of that too gets a number
            base, n = f"{spool.final.stem}-{safe_name(spool.info.sender.id.strip())}", 1
            while (spool.final in others or spool.final.exists()
                   or self.state.output_taken(self._relative(spool.final))):
                n += 1
                suffix = spool.final.suffix  # .837, .837i, or .pdf for a paper payer
                spool.final = spool.final.with_name(f"{base}{suffix}" if n == 2 else f"{base}-{n}{suffix}")
        return spool

    def loaded(self, claim: Claim, provider_key: str | None) -> None:
        """Called with each claim read from the state and the key of its billing provider loop (a shard's run
        notes it: the join shares a 2000A across shards as one run's writer shares it across claims)."""

    def _relative(self, path: Path) -> str:
        return str(path.relative_to(self.options.out_dir))

    def allocate_isa(self, sender: EnvParty) -> int:
        key = sender_key(sender)
        if key not in self.last_isa:
            self.last_isa[key] = self.state.last_control(key)
        self.last_isa[key] += 1
        if self.last_isa[key] > 999_999_999:
            raise RuntimeError(f"ISA13 control numbers of sender {key} are exhausted")
        return self.last_isa[key]


def sender_key(party: EnvParty) -> str:
    return f"{party.qualifier}:{party.id}"


class _Contexts:
    """Context loops by content hash, validated once: claims that shared an HL share the instance again."""

    def __init__(self, state: State):
        self.state = state
        self.cache: dict[tuple[type, str], object] = {}

    def get(self, model: type, key: str | None):
        if key is None:
            return None
        obj = self.cache.get((model, key))
        if obj is None:
            if len(self.cache) > 2048:
                self.cache.clear()
            obj = self.cache[(model, key)] = model.model_validate_json(zlib.decompress(self.state.blob(key)))
        return obj


class _ClaimIndex(RemitIndex):
    """The remittances of the one claim being decided: its consolidation is computed once and shared by
    the observer (posting) and triage, which both ask for it (decoding payments is most of their cost)."""

    def consolidate(self, claim_id: str):
        if getattr(self, "_once", None) is None or self._once[0] != claim_id:
            self._once = (claim_id, super().consolidate(claim_id))
        return self._once[1]


def fingerprint(index: RemitIndex, claim_id: str, below: int) -> str:
    """What the payers before level `below` decided (their standing adjudications), as a hash."""
    records = [r for r in index.records.get(claim_id, []) if LEVEL.get(r.status, 0) < below]
    digest = hashlib.sha256()
    if records:
        remits = consolidate(claim_id, records, index.headers)
        for adj in remits.adjudications:
            digest.update(f"{adj.level}|".encode())
            digest.update(adj.payment.model_dump_json(exclude=FINGERPRINT_EXCLUDE, exclude_none=True).encode())
    return digest.hexdigest()[:32]


def _below(index: RemitIndex, claim_id: str, level: int) -> RemitIndex:
    """The same remittances without those of payers at `level` and later."""
    sub = RemitIndex(kept=True)
    sub.headers = index.headers
    sub.records = {claim_id: [r for r in index.records.get(claim_id, []) if LEVEL.get(r.status, 0) < level]}
    return sub


def bill(state: State, options: SecondaryOptions, coverage: Path | None, order_facts: Path | None,
         progress: Callable[[int], None] | None = None,
         observer: Callable[[Claim, RemitIndex, str], None] | None = None) -> BillingResult:
    """Decide every dirty claim, one outcome each (its status is the claim's next state, recorded by
    `State.decide_claims`; a claim without one would stay dirty); billed claims are spooled (outputs stay
    unpublished temp files). In this process; `shards.bill_on_every_core` shares the same work out."""
    result = begin(StateSecondaryRun(state, options), coverage, order_facts, observer)
    decide_ids(result, state.dirty_ids(), progress)
    result.run.finish_outputs()
    return result


def begin(run: StateSecondaryRun, coverage: Path | None, order_facts: Path | None,
          observer: Callable[[Claim, RemitIndex, str], None] | None = None) -> BillingResult:
    """A billing step ready to decide claims: the run started with the roster and order facts loaded."""
    run.start()
    if coverage is not None:
        run.roster = load_roster(coverage)
    if order_facts is not None:
        from cob.billing.expected import load_order_facts

        run.facts = load_order_facts(order_facts)
    return BillingResult(run=run, observer=observer)


def decide_ids(result: BillingResult, ids: list[str], progress: Callable[[int], None] | None = None) -> None:
    """Decide the claims with these CLM01s, in order, reading their rows from the state a chunk at a time."""
    run = result.run
    state = run.state
    contexts = _Contexts(state)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        claims: dict[str, dict[str, tuple]] = {}
        for row in state.claims_for(chunk):
            # per claim identity, the lowest payer rank (the original to the primary), latest first
            claims.setdefault(row[0], {}).setdefault(f"{row[8]}#{row[9]}", row)
        payments: dict[str, list[tuple]] = {}
        for row in state.payments_for(chunk):
            payments.setdefault(row[0], []).append(row)
        emitted: dict[str, list] = {}
        for row in state.emitted_for(chunk):
            emitted.setdefault(row.claim_id, []).append(row)
        for claim_id in chunk:
            _decide(run, result, contexts, claim_id, claims.get(claim_id, {}), payments.get(claim_id, []),
                    emitted.get(claim_id, []))
            faults.checkpoint("claim decided")
            signals.check()  # between claims: a stop signal ends billing here, nothing recorded
        if progress is not None:
            progress(len(chunk))


def _decide(run: StateSecondaryRun, result: BillingResult, contexts: _Contexts, claim_id: str,
            claim_rows: dict[str, tuple], payment_rows: list[tuple], emitted: list) -> None:
    """Decide every claim with this CLM01 (each claim identity: provider and visit): the payments with it as
    CLP01 are matched to them (`cob.billing.match.match_claims`), then each claim is decided with its own."""
    seen = [r[4] for r in payment_rows] + [r[7] for r in claim_rows.values()]
    result.first_seen[claim_id] = min(seen) if seen else ""
    index = RemitIndex(kept=True)  # the CLM01 group (payments decoded once, above); each claim's own get `_own`
    by_input: list[tuple[str, list[ClaimPayment]]] = []
    for _cid, name, header_key, body, _received, input_id in payment_rows:
        payment = ClaimPayment.model_validate_json(zlib.decompress(bytes(body)))
        payment.header = contexts.get(PaymentHeader, header_key)
        if by_input and by_input[-1][0] == (input_id, name):
            by_input[-1][1].append(payment)
        else:
            by_input.append(((input_id, name), [payment]))
    for (_input_id, name), group in by_input:
        index.add_file(name, group)
    if not claim_rows:
        _add(result, ClaimOutcome(
            claim_id=claim_id, status="held", reason="original_claim_missing",
            detail="received: an 835 payment with this CLP01; missing: the original claim (837P or 837I) with this "
                   "CLM01 (none has arrived yet)"), "")
        return
    rows = sorted(claim_rows.items(), key=lambda kv: (kv[1][7], kv[0]))  # visits in the order they arrived
    claims: list[Claim] = []
    for _key, row in rows:
        body = zlib.decompress(bytes(row[5]))
        claim = claim_model(body).model_validate_json(body)  # an 837P or 837I claim
        claim.header = contexts.get(TransactionHeader, row[3])
        claim.billing_provider = contexts.get(BillingProvider, row[4])
        run.loaded(claim, row[4])
        claims.append(claim)
    labels = [claim_label(c, row[6]) for c, (_k, row) in zip(claims, rows)]
    run.index = index
    group = run.match_group(claims, labels)
    for n, (claim, (key, row)) in enumerate(zip(claims, rows)):
        mine = group.claims[n] if group is not None else ClaimPayments()
        label = labels[n]
        held = held_by_matching(claim_id, mine) if group is not None else None
        if held is not None:
            note_matching(held.outcome, mine, label)
            _add(result, held.outcome, key)
            continue
        own = _own(index, claim_id, mine.records if group is not None else [])
        if result.observer is not None:
            result.observer(claim, own, key)  # posting sees this claim's own payments, never its CLM01's others
        mark = len(result.outcomes)
        _decide_claim(run, result, claim, own, [e for e in emitted if e.claim_key in (key, "")], row[6], key,
                      mine if group is not None else None)
        for outcome in result.outcomes[mark:]:
            note_matching(outcome, mine, label)
    if group is not None:
        for (record, _why), outcome in zip(group.orphans, orphan_outcomes(claim_id, group, len(claims))):
            _add(result, outcome, f"payment {record.where}")


def _add(result: BillingResult, outcome: ClaimOutcome, key: str) -> None:
    result.outcomes.append(outcome)
    result.claim_keys.append(key)


def _own(index: RemitIndex, claim_id: str, records: list) -> RemitIndex:
    """The payments matched to one claim, as an index of their own (headers shared): a `_ClaimIndex`, so the
    observer (posting) and triage share its one consolidation."""
    own = _ClaimIndex(kept=True)
    own.headers = index.headers
    own.records = {claim_id: list(records)} if records else {}
    return own


def _decide_claim(run: StateSecondaryRun, result: BillingResult, claim: Claim, index: RemitIndex,
                  emitted: list, source: str, key: str, mine: ClaimPayments | None = None) -> None:
    """One claim with its own payments (`index`; `mine`: as matched to it, None when no payment carries its
    CLM01): a replacement when what it was billed from changed, else triage (never twice to one payer)."""
    claim_id = claim.claim_id
    latest: dict[str, object] = {}
    for row in emitted:
        latest[row.payer_id] = row  # ordered by generation: the last one stands
    for row in sorted(latest.values(), key=lambda r: r.level):
        now_fp = fingerprint(index, claim_id, row.level)
        if now_fp != row.fingerprint:
            _replacement(run, result, claim, index, row, now_fp, source, key)
            return
    run.index = index
    outcome, built, destination = run.decide_matched(claim, mine)  # (matched already: not again)
    if outcome.status == OutcomeStatus.BILLED and destination is not None:
        prior = latest.get(destination.payer_id)
        if prior is not None:
            outcome = ClaimOutcome(
                claim_id=claim_id, status="skipped", reason="already_adjudicated",
                detail=f"already billed to payer {prior.payer_id} in {prior.output} (ISA13 {prior.isa13:09d}); "
                       "not sent again", destination_payer=prior.payer_id)
        else:
            run.spool_claim(claim, built, outcome, destination, source)
            result.emissions.append(Emission(claim_id, destination.payer_id, 0, "1", destination.level,
                                             fingerprint(index, claim_id, destination.level),
                                             spool_key(destination.payer_id, claim), outcome, key))
    _add(result, outcome, key)


def _replacement(run: StateSecondaryRun, result: BillingResult, claim: Claim, index: RemitIndex, prior,
                 now_fp: str, source: str, key: str = "") -> None:
    """The payers before `prior.payer_id` changed their decision after it was billed (see module doc)."""
    claim_id = claim.claim_id
    run.index = _below(index, claim_id, prior.level)
    outcome, built, destination = run.triage(claim)
    what = f"after the claim was billed to payer {prior.payer_id} ({prior.output}), an earlier payer's 835 changed"
    if outcome.status != OutcomeStatus.BILLED or destination is None or destination.payer_id != prior.payer_id:
        _add(result, ClaimOutcome(
            claim_id=claim_id, status="held", reason="replacement_held", destination_payer=prior.payer_id,
            detail=f"{what}; received: that 835, with which the claim now reads {outcome.reason}: {outcome.detail}; "
                   "missing: a person's decision on the claim already sent (void or correct it by hand)"), key)
        return
    number = _payer_claim_number(index, claim_id, prior.level)
    if not number:
        _add(result, ClaimOutcome(
            claim_id=claim_id, status="held", reason="replacement_held", destination_payer=prior.payer_id,
            detail=f"{what}; received: that 835; missing: payer {prior.payer_id}'s own claim number (CLP07 of its "
                   f"835), which a replacement claim (CLM05-3=7) needs"), key)
        return
    built.clm.location.frequency = "7"
    built.refs = [r for r in built.refs if r.qualifier != "F8"] + [REF(qualifier="F8", value=number)]
    outcome.detail = (f"replacement (CLM05-3=7, REF*F8 {number}) of the claim sent in {prior.output}: an earlier "
                      f"payer's 835 changed its payment; " + outcome.detail)
    run.spool_claim(claim, built, outcome, destination, source)
    result.emissions.append(Emission(claim_id, prior.payer_id, prior.generation + 1, "7", prior.level, now_fp,
                                     spool_key(prior.payer_id, claim), outcome, key))
    _add(result, outcome, key)


def _payer_claim_number(index: RemitIndex, claim_id: str, level: int) -> str | None:
    """CLP07 of the standing adjudication of the payer at `level` (its own 835), if any."""
    records = index.records.get(claim_id, [])
    if not records:
        return None
    remits = consolidate(claim_id, records, index.headers)
    for adj in remits.adjudications:
        if adj.level == level and adj.status is not ClaimStatus.REVERSAL:
            return adj.payment.clp.payer_claim_control_number or None
    return None
