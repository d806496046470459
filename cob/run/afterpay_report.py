"""What a run's report says about after-payment work: acknowledgments, the COB worklist, underpayments,
patient balances; and the per-run balance files `patient-balances-<run>.csv` / `.json`.

The JSON report carries it as `run.after_payment` (a plain dict, so scripts read it without cob); the
morning summary puts claims rejected by an acknowledgment first (they need fixing before anything else),
then the worklist opened this run, underpayments and the balances that became final or were reopened.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from cob.edi.writer import atomic_output

from .balances import Balance, balances_csv
from .posting import ClaimPosting


def after_payment(postings: list[ClaimPosting], acks: dict[str, Any] | None = None,
                  filed: set[tuple[str, str, str]] = frozenset(), today: dt.date | None = None,
                  warn_days: int = 14) -> dict[str, Any]:
    """The run's after-payment section: rejected/accepted/unacknowledged claims (`acks`), worklist items,
    estimate checks, balances final or reopened this run, and the claims decided this run that are not
    filed with their next payer and are past (or within `warn_days` of) its filing deadline."""
    balances = [p.balance for p in postings if p.balance is not None]
    deadlines = []
    for p in postings:
        d = p.deadline
        if d is None or today is None or (d.claim_id, p.claim_key, d.payer) in filed:
            continue
        days = (d.due - today).days
        if days <= warn_days:
            deadlines.append({"claim_id": d.claim_id, "payer": d.payer, "rule": d.rule, "due": d.due.isoformat(),
                              "days_left": days, "past": days < 0})
    return {
        "deadlines": deadlines,
        "acknowledgments": acks or {},
        "worklist": [{"claim_id": i.claim_id, "kind": i.kind, "payer": i.payer, "says": i.says, "action": i.action,
                      "evidence": i.evidence} for p in postings for i in p.items],
        "estimate_checks": [p.check.to_json() for p in postings if p.check is not None],
        "balances_final": [{"claim_id": b.claim_id, "patient_owes": str(b.patient_owes), "last_payer": b.last_payer}
                           for b in balances if b.status == "final"],
        "balances_reopened": [b.claim_id for b in balances if b.status == "reopened"],
    }


def summary_lines(section: dict[str, Any] | None, limit: int = 50) -> list[str]:
    """The morning summary's after-payment part (nothing when there is nothing to say)."""
    if not section:
        return []
    lines: list[str] = []
    acks = section.get("acknowledgments") or {}
    rejected = acks.get("rejected") or []
    if rejected:
        lines += ["", f"REJECTED by an acknowledgment: {len(rejected)} claim(s) (fix and send again)"]
        lines += [f"  {r['claim_id']}  {r['payer']}  {r['source']}: {r['reason']}" for r in rejected[:limit]]
    accepted = acks.get("accepted") or []
    if accepted:
        lines += ["", f"Accepted by an acknowledgment: {len(accepted)} claim(s)"]
    malformed = acks.get("malformed") or []
    if malformed:
        lines += ["", f"Acknowledgments read despite structural problems: {len(malformed)} (tell the sender)"]
        lines += [f"  {m['source']}  {m['reason']}" for m in malformed[:limit]]
    late = acks.get("unacknowledged") or []
    if late:
        lines += ["", f"Not acknowledged after {acks.get('ack_wait_days')} days: {len(late)} claim(s)"]
        lines += [f"  {u['claim_id']}  {u['payer']}  sent {u['sent_at']} in {u['output']}" for u in late[:limit]]
    due = section.get("deadlines") or []
    past = [d for d in due if d["past"]]
    if past:
        lines += ["", f"PAST the filing deadline, not filed: {len(past)} claim(s)"]
        lines += [f"  {d['claim_id']}  {d['payer']}  due {d['due']} ({d['rule']})" for d in past[:limit]]
    soon = [d for d in due if not d["past"]]
    if soon:
        lines += ["", f"Filing deadline near, not filed: {len(soon)} claim(s)"]
        lines += [f"  {d['claim_id']}  {d['payer']}  due {d['due']}, {d['days_left']} days left" for d in soon[:limit]]
    work = section.get("worklist") or []
    if work:
        lines += ["", f"Worklist (COB denials, recoupments, underpayments): {len(work)} item(s)"]
        lines += [f"  {w['claim_id']}  {w['payer']}  {w['says']}\n      next: {w['action']}" for w in work[:limit]]
    under = [c for c in section.get("estimate_checks") or [] if c["flagged"]]
    if under:
        lines += ["", f"Underpaid against the payer's own method: {len(under)} claim(s)"]
        lines += [f"  {c['claim_id']}  {c['payer']}  paid {c['paid']}, {c['method']} says {c['expected']}"
                  for c in under[:limit]]
    final = section.get("balances_final") or []
    if final:
        lines += ["", f"Patient balances final: {len(final)} claim(s) (see patient-balances-*.csv)"]
    reopened = section.get("balances_reopened") or []
    if reopened:
        lines += ["", f"Patient balances reopened (payment taken back): {', '.join(reopened[:limit])}"]
    return lines


def write_balance_files(postings: list[ClaimPosting], reports_dir: Path, run_stem: str,
                        with_names: bool = False) -> list[Path]:
    """patient-balances-<run>.csv and .json of the balances posted this run (none: no files)."""
    balances: list[Balance] = [p.balance for p in postings if p.balance is not None]
    if not balances:
        return []
    csv_path = reports_dir / f"patient-balances-{run_stem}.csv"
    json_path = reports_dir / f"patient-balances-{run_stem}.json"
    with atomic_output(csv_path) as fh:
        fh.write(balances_csv(balances, with_names))
    with atomic_output(json_path) as fh:
        rows = [b.to_json() for b in balances]
        if not with_names:
            for row in rows:
                row.pop("patient_name", None)
        fh.write(json.dumps({"balances": rows}, indent=2) + "\n")
    return [csv_path, json_path]
