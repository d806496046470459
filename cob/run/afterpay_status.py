"""What `cob status` says about after-payment work: claims whose patient balance is final, balances
reopened by a recoupment, the open COB worklist (and, from `acks` / `deadlines`, claims sent and never
acknowledged and filing deadlines). Read from the state database; ids, codes and amounts only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .posting import PostingState


@dataclass
class AfterPaymentStatus:
    """After-payment work across the whole state (`after_payment_status` builds it; `cob status` renders
    `lines()` or `to_dict()`, the morning page reads the fields). Every entry is a plain dict of strings
    and numbers: deadlines {claim_id, payer, rule, due, days_left, past}; unacknowledged {claim_id, payer,
    generation, output, sent_at, days, ack_999}; balances_final {claim_id, last_payer, patient_owes,
    final_at}; balances_reopened {claim_id, last_payer, updated_at}; worklist {claim_id, kind, payer, says,
    action, opened_at, evidence} (kind: carc_<code>, both_deny_as_secondary, recoupment, underpaid,
    ack_rejected_999 / ack_rejected_277CA). The whole balance of one claim: `PostingState(db).balance(id)`."""

    deadlines: list[dict[str, Any]] = field(default_factory=list)  # unfiled, due within the window or past
    unacknowledged: list[dict[str, Any]] = field(default_factory=list)  # sent, no 277CA after ack_wait_days
    ack_wait_days: int = 7
    balances_final: list[dict[str, str]] = field(default_factory=list)
    balances_reopened: list[dict[str, str]] = field(default_factory=list)
    worklist: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # sections other modules add (acks, deadlines)
    extra_lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"unacknowledged": self.unacknowledged, "ack_wait_days": self.ack_wait_days,
                "deadlines": self.deadlines, "balances_final": self.balances_final, "balances_reopened": self.balances_reopened,
                "worklist": self.worklist, **self.extra}

    def lines(self, limit: int | None = 200) -> list[str]:
        out: list[str] = list(self.extra_lines)
        if self.unacknowledged:
            out += ["", f"Sent and never acknowledged (no 277CA after {self.ack_wait_days} days): "
                        f"{len(self.unacknowledged)} claim(s)"]
            shown = self.unacknowledged if limit is None else self.unacknowledged[:limit]
            out += [f"  {u['claim_id']}  {u['payer']}  sent {u['sent_at']} in {u['output']} ({u['days']} days; "
                    f"999: {u['ack_999']})" for u in shown]
        if self.deadlines:
            past = sum(1 for d in self.deadlines if d["past"])
            out += ["", f"Filing deadlines: {len(self.deadlines)} claim(s) not filed with their next payer are due "
                        f"soon, {past} past"]
            shown = self.deadlines if limit is None else self.deadlines[:limit]
            out += [(f"  PAST DEADLINE {d['claim_id']}  {d['payer']}  was due {d['due']} ({d['rule']})" if d["past"]
                     else f"  {d['claim_id']}  {d['payer']}  due {d['due']}, {d['days_left']} days left ({d['rule']})")
                    for d in shown]
        if self.worklist:
            out += ["", f"Worklist: {len(self.worklist)} open item(s)"]
            shown = self.worklist if limit is None else self.worklist[:limit]
            out += [f"  {w['claim_id']}  {w['kind']}  {w['payer']}  {w['says']}; next: {w['action']}" for w in shown]
        if self.balances_reopened:
            out += ["", "Patient balances reopened (a payer took its payment back): "
                    + ", ".join(b["claim_id"] for b in self.balances_reopened)]
        if self.balances_final:
            out += ["", f"Patient balance final: {len(self.balances_final)} claim(s)"]
            shown = self.balances_final if limit is None else self.balances_final[:limit]
            out += [f"  {b['claim_id']}  patient owes {b['patient_owes']}  (last payer {b['last_payer']}, "
                    f"{b['final_at']})" for b in shown]
        return out


def after_payment_status(db, now: dt.datetime, within_days: int, ack_wait_days: int) -> AfterPaymentStatus:
    """`within_days`: unfiled claims due within this many days (or past) are listed; claims sent more
    than `ack_wait_days` ago without a 277CA are unacknowledged."""
    from .acks import AckState

    today = now.date()
    posted = PostingState(db)
    deadlines = []
    for claim_id, payer, rule, _start, due in posted.unfiled_deadlines():
        days = (dt.date.fromisoformat(due) - today).days
        if days <= within_days:
            deadlines.append({"claim_id": claim_id, "payer": payer, "rule": rule, "due": due, "days_left": days,
                              "past": days < 0})
    return AfterPaymentStatus(
        unacknowledged=AckState(db).unacknowledged(now, ack_wait_days), ack_wait_days=ack_wait_days,
        deadlines=deadlines,
        balances_final=[{"claim_id": c, "last_payer": p, "patient_owes": o, "final_at": f}
                        for c, p, o, f in posted.final_balances()],
        balances_reopened=[{"claim_id": c, "last_payer": p, "updated_at": u} for c, p, u in posted.reopened_balances()],
        worklist=[{"claim_id": c, "kind": k, "payer": p, "says": s, "action": a, "opened_at": o, "evidence": e}
                  for c, k, p, s, a, o, e in posted.open_items()])
