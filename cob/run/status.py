"""`cob status`: what waits and why, read from the state database without taking the run lock.

A claim waits when it was held by its last decision (most often: its 835 has not arrived, or an 835
arrived for a claim whose 837P has not). Past `max_wait_days` since the first of its files arrived it
is *stale*: a person should look (the payer may never have received it).
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass, field

from .afterpay_status import AfterPaymentStatus, after_payment_status
from .config import RunConfig
from .failures import check_state_path, state_errors
from .lock import current_holder, pid_alive
from .state import State
from .states import ClaimState
from .units import ProcessAtWork, at_work


#: the decided claim states, in the order `cob status` counts them
_DECIDED = (ClaimState.BILLED, ClaimState.SKIPPED, ClaimState.HELD, ClaimState.REJECTED)


@dataclass
class Waiting:
    claim_id: str
    reason: str
    detail: str
    destination_payer: str | None
    waiting_since: str
    days: int
    stale: bool


@dataclass
class StatusReport:
    state: str
    max_wait_days: int
    waiting: list[Waiting] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    runs: list[tuple] = field(default_factory=list)
    after_payment: AfterPaymentStatus = field(default_factory=AfterPaymentStatus)
    lock: str = "free"  # who holds the run lock (pid, host, start time), or why it is free
    # PostgreSQL: the `cob run` processes at work on the drop and the units they hold (None on SQLite)
    processes: list[ProcessAtWork] | None = None

    @property
    def stale(self) -> list[Waiting]:
        return [w for w in self.waiting if w.stale]

    def to_dict(self) -> dict:
        return {"state": self.state, "max_wait_days": self.max_wait_days, "counts": self.counts,
                "waiting": [w.__dict__ for w in self.waiting],
                "stale": [w.claim_id for w in self.stale],
                "last_runs": [dict(zip(("run_id", "started_at", "finished_at", "status", "exit_code"), r))
                              for r in self.runs], "lock": self.lock, **self.after_payment.to_dict(),
                **({} if self.processes is None else {"processes": [p.to_dict() for p in self.processes]})}

    def text(self, limit: int | None = 200) -> str:
        """The whole report for a person; `limit` claims listed at most (None: all)."""
        c = self.counts
        lines = [f"cob status ({self.state})",
                 f"Claims: {c.get('original_claims', 0)} original claims, {c.get('adjudications', 0)} claim "
                 f"payments received, {c.get('emitted', 0)} claims sent; decided: "
                 + ", ".join(f"{c.get(f'claims_{s}', 0)} {s}" for s in _DECIDED)]
        if c.get("dirty") or c.get("pending_publishes"):
            lines.append(f"Unfinished work (the next run completes it): {c.get('dirty', 0)} claims to decide, "
                         f"{c.get('pending_publishes', 0)} outputs to publish")
        if self.runs:
            r = self.runs[0]
            lines.append(f"Last run: #{r[0]} started {r[1]}, {r[3]}, exit {r[4]}")
        lines.append(f"Run lock: {self.lock}")
        if self.processes is not None:
            lines.append(f"Processes at work: {len(self.processes)}")
            lines += [p.line() for p in self.processes]
        lines += ["", f"Waiting: {len(self.waiting)} claim(s), {len(self.stale)} stale "
                      f"(waiting longer than {self.max_wait_days} days)"]
        shown = self.waiting if limit is None else self.waiting[:limit]
        lines += [_line(w) for w in shown]
        if len(self.waiting) > len(shown):
            lines.append(f"  … and {len(self.waiting) - len(shown)} more (--format json or --verbose lists all)")
        lines += self.after_payment.lines(limit)
        return "\n".join(lines) + "\n"

    def stale_text(self) -> str:
        """Only the stale claims, one line each (nothing when none is stale): what needs a person."""
        return "".join(_line(w) + "\n" for w in self.stale)


def _line(w: Waiting) -> str:
    mark = "STALE " if w.stale else ""
    return f"  {mark}{w.claim_id}  {w.days} days  {w.reason}  {w.detail}"


def status_report(config: RunConfig, now: dt.datetime | None = None, stale_only: bool = False,
                  deadline_within: int | None = None) -> StatusReport:
    """What waits and why, with staleness measured at `now` (`stale_only`: only the stale claims wait).
    Unfiled claims due within `deadline_within` days (default: `[deadlines] warn_days`) are listed."""
    now = now or dt.datetime.now()
    check_state_path(config)
    with state_errors(config):
        state = State.open(config.state_url, config.sqlite_path)
        try:
            return _report(config, state, now, stale_only, deadline_within)
        finally:
            state.close()


def _report(config: RunConfig, state: State, now: dt.datetime, stale_only: bool,
            deadline_within: int | None = None) -> StatusReport:
    holder, held = current_holder(config.sqlite_path, None if config.sqlite_path else config.state_url)
    if holder is None:
        lock = "free"
    elif held:
        lock = f"held by {holder.describe()}"
    else:
        lock = f"free (last held by {holder.describe()}, whose process is gone)"
    report = StatusReport(config.describe_state(), config.max_wait_days, counts=state.counts(),
                          runs=[_seen(r, held) for r in state.last_runs()], lock=lock)
    limit = now - dt.timedelta(days=config.max_wait_days)
    for claim_id, _status, reason, detail, dest, first_seen, _updated in state.waiting():
        since = dt.datetime.fromisoformat(first_seen)
        report.waiting.append(Waiting(claim_id, reason, detail, dest, first_seen, max((now - since).days, 0),
                                      since < limit))
    report.after_payment = after_payment_status(
        state.db, now, config.deadlines.warn_days if deadline_within is None else deadline_within,
        config.ack_wait_days)
    if state.db.dialect == "postgresql":  # processes sharing the drop (cob.run.units); heartbeats 2 leases old
        report.processes = at_work(state.db, 2 * config.lease_seconds)
    if stale_only:
        report.waiting = report.stale
    return report


def _seen(run: tuple, lock_held: bool) -> tuple:
    """A run row as `cob status` tells it: one recorded as running is *interrupted* when the lock is free
    or its process is gone (killed; the next run finishes its work), not running."""
    run_id, started, finished, status, code, host, pid = run
    if status == "running" and (not lock_held or (host == socket.gethostname() and not pid_alive(pid or 0))):
        status = "interrupted (its process is gone; the next run finishes its work)"
    return (run_id, started, finished, status, code)
