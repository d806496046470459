"""What the state database remembers, and every query the runner needs (SQL lives here only).

Tables (see `migrations`): inputs by sha256, original claims by (CLM01, payer), adjudications (835
claim payments) in arrival order, `dirty` claims with new data, the latest decision per claim, control
numbers per sender, output files (with pending renames) and emitted claims (UNIQUE per claim, payer and
generation: a claim never goes to the same payer twice, a replacement is the next generation).
Times are ISO-8601 text from the run's clock.

The states of inputs, outputs, claims and batches and their transitions are `states`; the methods here
that change one take or apply its verb, which refuses a transition the table does not allow. How each
state is stored (the values of migration 1; changing one needs a migration): an input's `status` is the
state its first verb gave it (ingested, duplicate, rejected) and `moved = 1` its archive or quarantine;
an output row is staged (`published = 0`) or published (1); a claim is dirty while it has a row in
`dirty`, and `claim_status.status` holds its last decision; a batch is open while `closed_at` is NULL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from .db import Database, connect
from .migrations import migrate
from .states import DECISIONS, BatchState, Batches, ClaimState, InputState, Inputs, OutputState, Outputs, Verb

#: outputs.published of each state an output row can be in
_PUBLISHED = {OutputState.STAGED: 0, OutputState.PUBLISHED: 1}


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


def input_state(status: str, moved: bool) -> InputState:
    """An input's state from its stored `status` (the state its first verb gave it) and `moved` flag."""
    state = InputState(status)
    return Inputs.move(state).target if moved else state


@dataclass
class InputRow:
    id: int
    sha256: str | None
    name: str
    state: InputState
    reason: str | None
    inbox_path: str
    dest_path: str
    kind: str | None = None
    claims: int = 0
    payments: int = 0


@dataclass
class OutputRow:
    id: int
    path: str  # relative to the outbox
    tmp_path: str
    state: OutputState


@dataclass
class EmittedRow:
    claim_id: str
    payer_id: str
    generation: int
    frequency: str
    level: int
    fingerprint: str
    isa13: int
    output: str
    claim_key: str = ""  # `ClaimIdentity.key` ('' before migration 2)


class State:
    """The state database of `cob run` (SQLite or PostgreSQL, see `db`)."""

    def __init__(self, db: Database):
        self.db = db

    @classmethod
    def open(cls, url: str, sqlite_file=None) -> "State":
        db = connect(url, sqlite_file)
        migrate(db)
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def transaction(self):
        return self.db.transaction()

    # ------------------------------------------------------------------------------------------ runs

    def start_run(self, now: dt.datetime, host: str, pid: int) -> int:
        with self.db.transaction():
            return int(self.db.one("INSERT INTO runs (started_at, status, host, pid) VALUES (?, 'running', ?, ?) "
                                   "RETURNING id", (iso(now), host, pid))[0])

    def finish_run(self, run_id: int, now: dt.datetime, status: str, exit_code: int) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE runs SET finished_at = ?, status = ?, exit_code = ? WHERE id = ?",
                            (iso(now), status, exit_code, run_id))

    # ------------------------------------------------------------------------------------------ inputs

    _INPUT_COLS = "id, sha256, name, status, reason, inbox_path, dest_path, moved, kind, claims, payments"

    def _input(self, row: tuple) -> InputRow:
        return InputRow(row[0], row[1], row[2], input_state(row[3], bool(row[7])), row[4], row[5], row[6], row[8],
                        row[9], row[10])

    def ingested(self, sha256: str) -> InputRow | None:
        """The input with this content that was recorded (ingested, perhaps archived since), if any."""
        row = self.db.one(f"SELECT {self._INPUT_COLS} FROM inputs WHERE sha256 = ? AND status = ?",
                          (sha256, InputState.INGESTED.value))
        return self._input(row) if row else None

    def unmoved_inputs(self) -> list[InputRow]:
        """Inputs recorded (ingested, duplicate or rejected) whose file is still to be moved."""
        return [self._input(r) for r in self.db.query(
            f"SELECT {self._INPUT_COLS} FROM inputs WHERE moved = 0 ORDER BY id")]

    def dest_taken(self, path: str) -> bool:
        return self.db.one("SELECT 1 FROM inputs WHERE dest_path = ?", (path,)) is not None

    def add_input(self, verb: Verb[InputState], *, sha256: str | None, name: str, size: int | None,
                  kind: str | None, reason: str | None, now: dt.datetime, run_id: int, inbox_path: str,
                  dest_path: str, claims: int = 0, payments: int = 0) -> int:
        """Record a new input by `verb` (`Inputs.record`, `mark_duplicate` or `reject`); returns its id."""
        status = verb(InputState.NEW, name).value
        return int(self.db.one(
            "INSERT INTO inputs (sha256, name, size, kind, status, reason, claims, payments, received_at, run_id, "
            "inbox_path, dest_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (sha256, name, size, kind, status, reason, claims, payments, iso(now), run_id, inbox_path,
             dest_path))[0])

    def move_input(self, row: InputRow, verb: Verb[InputState]) -> None:
        """Record that the input's file was moved: `Inputs.archive` or `Inputs.quarantine`."""
        row.state = verb(row.state, row.name)
        with self.db.transaction():
            self.db.execute("UPDATE inputs SET moved = 1 WHERE id = ?", (row.id,))

    def leave_input(self, row: InputRow, verb: Verb[InputState]) -> None:
        """Close an input whose file changed after it was read (replaced under the same name): the row is
        done (`verb` as if moved) but names the inbox as where the file is; the file there is a new input."""
        row.state = verb(row.state, row.name)
        with self.db.transaction():
            self.db.execute("UPDATE inputs SET moved = 1, dest_path = inbox_path WHERE id = ?", (row.id,))

    def quarantined_files(self) -> list[tuple[str, str, int]]:
        """(inbox path, rejected/ path, size when read) of every input moved to rejected/ (`settle.return_grown`)."""
        return [(r[0], r[1], int(r[2])) for r in self.db.query(
            "SELECT inbox_path, dest_path, size FROM inputs WHERE status = ? AND moved = 1 AND size IS NOT NULL "
            "AND dest_path <> inbox_path ORDER BY id", (InputState.REJECTED.value,))]

    def is_fresh(self) -> bool:
        """Nothing was ever recorded: no input, no output (a new, lost or deleted state database)."""
        return self.db.one("SELECT 1 FROM inputs LIMIT 1") is None and \
            self.db.one("SELECT 1 FROM outputs LIMIT 1") is None

    # ------------------------------------------------------------------------------------------ records

    def add_blobs(self, rows: Iterable[tuple[str, bytes]]) -> None:
        self.db.executemany("INSERT INTO blobs (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING", rows)

    def add_claims(self, rows: Sequence[tuple], input_id: int, now: dt.datetime) -> None:
        """rows: (claim_id, payer_id, payer_rank, seq, header_hash, provider_hash, body[, provider_key,
        visit_key]). A claim is its CLM01, provider and visit (`cob.billing.identity.claim_identity`): the same
        claim sent again to the same payer (a resubmission) replaces the stored one, its first arrival time
        kept; another visit or another provider's claim with the same CLM01 is another row."""
        when = iso(now)
        self.db.executemany(
            "INSERT INTO claims (claim_id, payer_id, payer_rank, input_id, seq, header_hash, provider_hash, body, "
            "first_received_at, received_at, provider_key, visit_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (claim_id, provider_key, visit_key, payer_id) DO UPDATE SET payer_rank = excluded.payer_rank, "
            "input_id = excluded.input_id, seq = excluded.seq, header_hash = excluded.header_hash, "
            "provider_hash = excluded.provider_hash, body = excluded.body, received_at = excluded.received_at",
            [(r[0], r[1], r[2], input_id, r[3], r[4], r[5], r[6], when, when,
              r[7] if len(r) > 7 else "", r[8] if len(r) > 8 else "") for r in rows])

    def add_payments(self, rows: Sequence[tuple], input_id: int, now: dt.datetime) -> None:
        """rows: (claim_id, seq, status, payer, payer_claim_number, header_hash, body)."""
        when = iso(now)
        self.db.executemany(
            "INSERT INTO adjudications (claim_id, input_id, seq, status, payer, payer_claim_number, header_hash, "
            "body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], input_id, r[1], r[2], r[3], r[4], r[5], r[6], when) for r in rows])

    def mark_dirty(self, claim_ids: Iterable[str]) -> None:
        """`Claims.mark_dirty` (new data for these claims): every claim state allows it, nothing to check."""
        self.db.executemany("INSERT INTO dirty (claim_id) VALUES (?) ON CONFLICT (claim_id) DO NOTHING",
                            [(c,) for c in claim_ids])

    def blob(self, key: str) -> bytes:
        return bytes(self.db.one("SELECT data FROM blobs WHERE hash = ?", (key,))[0])

    # ------------------------------------------------------------------------------------------ batches

    def join_batch(self, now: dt.datetime, run_id: int) -> str:
        """The open batch's time: `Batches.join` it, or `Batches.open` one now when none is (call inside the
        transaction that records an input)."""
        opened = self.batch_time()
        if opened is not None:
            Batches.join(BatchState.OPEN)
            return opened
        Batches.open(BatchState.NEW)
        self.db.execute("INSERT INTO batches (opened_at, run_id) VALUES (?, ?)", (iso(now), run_id))
        return iso(now)

    def batch_time(self) -> str | None:
        """When the open batch was opened; None when no batch is open."""
        row = self.db.one("SELECT opened_at FROM batches WHERE closed_at IS NULL ORDER BY id LIMIT 1")
        return row[0] if row else None

    def close_batch(self, now: dt.datetime) -> None:
        """`Batches.close` the open batch (inside the billing transaction)."""
        Batches.close(BatchState.OPEN if self.batch_time() is not None else BatchState.NEW)
        self.db.execute("UPDATE batches SET closed_at = ? WHERE closed_at IS NULL", (iso(now),))

    # ------------------------------------------------------------------------------------------ billing

    def dirty_ids(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT claim_id FROM dirty ORDER BY claim_id")]

    def claims_for(self, claim_ids: Sequence[str]) -> list[tuple]:
        """(claim_id, payer_id, payer_rank, header_hash, provider_hash, body, input name, first_received_at,
        provider_key, visit_key): every claim identity of these CLM01s, each lowest payer rank and latest first."""
        return self._in("SELECT c.claim_id, c.payer_id, c.payer_rank, c.header_hash, c.provider_hash, c.body, "
                        "i.name, c.first_received_at, c.provider_key, c.visit_key FROM claims c "
                        "JOIN inputs i ON i.id = c.input_id "
                        "WHERE c.claim_id IN ({}) ORDER BY c.claim_id, c.provider_key, c.visit_key, c.payer_rank, "
                        "c.id DESC", claim_ids)

    def payments_for(self, claim_ids: Sequence[str]) -> list[tuple]:
        """(claim_id, input name, header_hash, body, received_at) in arrival order."""
        return self._in("SELECT a.claim_id, i.name, a.header_hash, a.body, a.received_at, a.input_id "
                        "FROM adjudications a JOIN inputs i ON i.id = a.input_id "
                        "WHERE a.claim_id IN ({}) ORDER BY a.claim_id, a.id", claim_ids)

    def emitted_for(self, claim_ids: Sequence[str]) -> list[EmittedRow]:
        return [EmittedRow(*r) for r in self._in(
            "SELECT claim_id, payer_id, generation, frequency, level, fingerprint, isa13, output, claim_key "
            "FROM emitted WHERE claim_id IN ({}) ORDER BY claim_id, level, generation", claim_ids)]

    def _in(self, sql: str, ids: Sequence[str]) -> list[tuple]:
        if not ids:
            return []
        return self.db.query(sql.format(", ".join("?" * len(ids))), tuple(ids))

    def last_control(self, sender: str) -> int:
        return int(self.db.scalar("SELECT last_isa FROM control_numbers WHERE sender = ?", (sender,), default=0))

    def controls(self) -> dict[str, int]:
        """sender -> last ISA13 used, every sender."""
        return {r[0]: int(r[1]) for r in self.db.query("SELECT sender, last_isa FROM control_numbers")}

    def set_control(self, sender: str, last: int) -> None:
        self.db.execute("INSERT INTO control_numbers (sender, last_isa) VALUES (?, ?) ON CONFLICT (sender) "
                        "DO UPDATE SET last_isa = excluded.last_isa", (sender, last))

    def stage_output(self, *, sender: str, isa13: int, payer_id: str, path: str, tmp_path: str, claims: int,
                     now: dt.datetime, run_id: int) -> None:
        """`Outputs.stage` a written temp file: recorded unpublished (inside the billing transaction)."""
        Outputs.stage(OutputState.WRITTEN, path)
        self.db.execute("INSERT INTO outputs (sender, isa13, payer_id, path, tmp_path, claims, created_at, run_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (sender, isa13, payer_id, path, tmp_path, claims, iso(now), run_id))

    def output_taken(self, path: str) -> bool:
        return self.db.one("SELECT 1 FROM outputs WHERE path = ?", (path,)) is not None

    def pending_outputs(self) -> list[OutputRow]:
        """Staged outputs: committed, not yet renamed into place."""
        staged = OutputState.STAGED
        return [OutputRow(r[0], r[1], r[2], staged) for r in self.db.query(
            "SELECT id, path, tmp_path FROM outputs WHERE published = ? ORDER BY id", (_PUBLISHED[staged],))]

    def publish_output(self, row: OutputRow) -> None:
        """Record that a staged output was renamed into place (`Outputs.publish`)."""
        row.state = Outputs.publish(row.state, row.path)
        with self.db.transaction():
            self.db.execute("UPDATE outputs SET published = ? WHERE id = ?", (_PUBLISHED[row.state], row.id))

    def add_emitted(self, rows: Sequence[tuple], now: dt.datetime, run_id: int) -> None:
        """rows: (claim_id, payer_id, generation, frequency, level, fingerprint, sender, isa13, output[,
        claim_key])."""
        self.db.executemany(
            "INSERT INTO emitted (claim_id, payer_id, generation, frequency, level, fingerprint, sender, isa13, "
            "output, emitted_at, run_id, claim_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r[:9], iso(now), run_id, r[9] if len(r) > 9 else "") for r in rows])

    def decide_claims(self, rows: Sequence[tuple], now: dt.datetime, run_id: int) -> None:
        """Each dirty claim's decision (its verb in `states.DECISIONS`: bill, skip, hold or reject) becomes
        its state; the claims leave `dirty`. rows: (claim_id, OutcomeStatus, reason, detail,
        destination_payer, first_seen[, claim_key, warnings]); only claims read as dirty by this billing step.
        `claim_key` tells apart the claims of one CLM01 (`ClaimIdentity.key`); `warnings` (one per line) keep
        e.g. which file a duplicate payment came from."""
        when = iso(now)
        dirty = ClaimState.DIRTY
        keys: dict[str, set[str]] = {}
        for r in rows:
            keys.setdefault(r[0], set()).add(r[6] if len(r) > 6 else "")
        for claim_id, decided in keys.items():  # every claim of a CLM01 is decided again: drop what no longer is
            self.db.execute(f"DELETE FROM claim_status WHERE claim_id = ? AND claim_key NOT IN "
                            f"({', '.join('?' * len(decided))})", (claim_id, *sorted(decided)))
        self.db.executemany(
            "INSERT INTO claim_status (claim_id, status, reason, detail, destination_payer, first_seen, "
            "updated_at, run_id, claim_key, warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (claim_id, claim_key) DO UPDATE SET "
            "status = excluded.status, reason = excluded.reason, detail = excluded.detail, "
            "destination_payer = excluded.destination_payer, updated_at = excluded.updated_at, "
            "run_id = excluded.run_id, warnings = excluded.warnings",
            [(r[0], DECISIONS[r[1]](dirty, r[0]).value, *r[2:6], when, run_id,
              r[6] if len(r) > 6 else "", r[7] if len(r) > 7 else "") for r in rows])
        self.db.executemany("DELETE FROM dirty WHERE claim_id = ?", [(c,) for c in dict.fromkeys(r[0] for r in rows)])

    # ------------------------------------------------------------------------------------------ status

    def waiting(self) -> list[tuple]:
        """(claim_id, status, reason, detail, destination_payer, first_seen, updated_at) of claims whose last
        decision was to hold them (dirty ones too: until decided again they still wait)."""
        return self.db.query("SELECT claim_id, status, reason, detail, destination_payer, first_seen, updated_at "
                             "FROM claim_status WHERE status = ? ORDER BY first_seen, claim_id",
                             (ClaimState.HELD.value,))

    def counts(self) -> dict[str, int]:
        out = {f"claims_{s}": n for s, n in self.db.query(
            "SELECT status, COUNT(*) FROM claim_status GROUP BY status")}
        out["original_claims"] = int(self.db.scalar("SELECT COUNT(*) FROM claims", default=0))
        out["adjudications"] = int(self.db.scalar("SELECT COUNT(*) FROM adjudications", default=0))
        out["inputs"] = int(self.db.scalar("SELECT COUNT(*) FROM inputs", default=0))
        out["emitted"] = int(self.db.scalar("SELECT COUNT(*) FROM emitted", default=0))
        out["pending_publishes"] = int(self.db.scalar("SELECT COUNT(*) FROM outputs WHERE published = ?",
                                                      (_PUBLISHED[OutputState.STAGED],), default=0))
        out["dirty"] = int(self.db.scalar("SELECT COUNT(*) FROM dirty", default=0))
        return out

    def last_runs(self, n: int = 5) -> list[tuple]:
        """(id, started_at, finished_at, status, exit_code, host, pid), newest first."""
        return self.db.query("SELECT id, started_at, finished_at, status, exit_code, host, pid FROM runs "
                             "ORDER BY id DESC LIMIT ?", (n,))

    def snapshot(self) -> dict[str, list[tuple]]:
        """A canonical dump of what a run decided (no ids, times or run numbers): two runs that reach the
        same state have equal snapshots. Used by the crash tests."""
        q = self.db.query
        dup = (InputState.DUPLICATE.value,)
        return {
            "inputs": sorted(q("SELECT sha256, name, status, kind, claims, payments, moved FROM inputs "
                               "WHERE status <> ?", dup)),
            "duplicates": sorted(q("SELECT sha256, name, moved FROM inputs WHERE status = ?", dup)),
            "claims": sorted(q("SELECT claim_id, payer_id, payer_rank, provider_key, visit_key FROM claims")),
            "adjudications": sorted(q("SELECT claim_id, status, payer, payer_claim_number FROM adjudications")),
            "dirty": sorted(q("SELECT claim_id FROM dirty")),
            "claim_status": sorted(q("SELECT claim_id, status, reason, detail, destination_payer, claim_key, warnings "
                                     "FROM claim_status")),
            "control_numbers": sorted(q("SELECT sender, last_isa FROM control_numbers")),
            "outputs": sorted(q("SELECT sender, isa13, payer_id, path, claims, published FROM outputs")),
            "emitted": sorted(q("SELECT claim_id, payer_id, generation, frequency, level, fingerprint, sender, "
                                "isa13, output FROM emitted")),
            "open_batches": [tuple(r) for r in q("SELECT COUNT(*) FROM batches WHERE closed_at IS NULL")],
        }
