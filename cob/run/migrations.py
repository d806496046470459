"""Versioned schema migrations: numbered, applied in order, each in its own transaction, recorded in
`schema_version`. A database newer than this code is refused (an old binary must not write to it).

Never edit a released migration; add the next number. Statements use `{id}` / `{blob}` / `{time}` for the
column types that differ between SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from .db import Database

#: (version, name, statements)
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "initial state", [
        # one row per run (metadata only)
        """CREATE TABLE runs (id {id}, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
               host TEXT, pid INTEGER, exit_code INTEGER)""",
        # A batch is the set of new data that the next billing step turns into outputs. Its opening time
        # is committed with the first input that dirties it and becomes the outputs' ISA/GS/BHT time, so a
        # run killed after that commit and started again writes byte-identical files.
        """CREATE TABLE batches (id {id}, opened_at TEXT NOT NULL, closed_at TEXT, run_id INTEGER)""",
        # input files; sha256 is unique among ingested files: the same content dropped again is a duplicate
        """CREATE TABLE inputs (id {id}, sha256 TEXT, name TEXT NOT NULL, size INTEGER, kind TEXT,
               status TEXT NOT NULL, reason TEXT, claims INTEGER NOT NULL DEFAULT 0,
               payments INTEGER NOT NULL DEFAULT 0, received_at TEXT NOT NULL, run_id INTEGER,
               inbox_path TEXT NOT NULL, dest_path TEXT NOT NULL, moved INTEGER NOT NULL DEFAULT 0)""",
        "CREATE UNIQUE INDEX inputs_sha256_ingested ON inputs (sha256) WHERE status = 'ingested'",
        "CREATE INDEX inputs_unmoved ON inputs (moved)",
        # shared context loops (transaction header, billing provider, 835 payment header), by content hash
        "CREATE TABLE blobs (hash TEXT PRIMARY KEY, data {blob} NOT NULL)",
        # original claims by (CLM01, payer they were sent to); a resubmission replaces the body
        """CREATE TABLE claims (id {id}, claim_id TEXT NOT NULL, payer_id TEXT NOT NULL, payer_rank INTEGER NOT NULL,
               input_id INTEGER NOT NULL REFERENCES inputs (id), seq INTEGER NOT NULL,
               header_hash TEXT, provider_hash TEXT, body {blob} NOT NULL,
               first_received_at TEXT NOT NULL, received_at TEXT NOT NULL, UNIQUE (claim_id, payer_id))""",
        # every 835 claim payment received, in arrival order (id)
        """CREATE TABLE adjudications (id {id}, claim_id TEXT NOT NULL, input_id INTEGER NOT NULL REFERENCES inputs (id),
               seq INTEGER NOT NULL, status TEXT NOT NULL, payer TEXT NOT NULL, payer_claim_number TEXT NOT NULL,
               header_hash TEXT, body {blob} NOT NULL, received_at TEXT NOT NULL, UNIQUE (input_id, seq))""",
        "CREATE INDEX adjudications_claim ON adjudications (claim_id)",
        # claims with new data since they were last decided
        "CREATE TABLE dirty (claim_id TEXT PRIMARY KEY)",
        # the latest decision per claim: what `cob status` lists
        """CREATE TABLE claim_status (claim_id TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT NOT NULL,
               detail TEXT NOT NULL, destination_payer TEXT, first_seen TEXT NOT NULL, updated_at TEXT NOT NULL,
               run_id INTEGER)""",
        # ISA13/GS06 per sender: the last number used
        "CREATE TABLE control_numbers (sender TEXT PRIMARY KEY, last_isa INTEGER NOT NULL)",
        # output files; published = 0 is a rename still to do (finished at the start of the next run)
        """CREATE TABLE outputs (id {id}, sender TEXT NOT NULL, isa13 INTEGER NOT NULL, payer_id TEXT NOT NULL,
               path TEXT NOT NULL UNIQUE, tmp_path TEXT NOT NULL, claims INTEGER NOT NULL,
               published INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, run_id INTEGER,
               UNIQUE (sender, isa13))""",
        # claims sent: never the same claim to the same payer twice (generation > 0: replacements)
        """CREATE TABLE emitted (id {id}, claim_id TEXT NOT NULL, payer_id TEXT NOT NULL, generation INTEGER NOT NULL,
               frequency TEXT NOT NULL, level INTEGER NOT NULL, fingerprint TEXT NOT NULL, sender TEXT NOT NULL,
               isa13 INTEGER NOT NULL, output TEXT NOT NULL, emitted_at TEXT NOT NULL, run_id INTEGER,
               UNIQUE (claim_id, payer_id, generation))""",
    ]),
    # Issue 14: a claim is CLM01 + its submitter and billing provider + its visit (service dates, patient), so
    # two practices' claims, or one patient's weekly visits, with one CLM01 are distinct claims. Tables whose
    # UNIQUE key changes are rebuilt (SQLite cannot drop a constraint): new table, rows copied in id order,
    # old table dropped, new one renamed. Rows from before have empty keys and keep being found by CLM01.
    (2, "claim identity", [
        """CREATE TABLE claims_v2 (id {id}, claim_id TEXT NOT NULL, payer_id TEXT NOT NULL,
               payer_rank INTEGER NOT NULL, input_id INTEGER NOT NULL REFERENCES inputs (id), seq INTEGER NOT NULL,
               header_hash TEXT, provider_hash TEXT, body {blob} NOT NULL,
               first_received_at TEXT NOT NULL, received_at TEXT NOT NULL,
               provider_key TEXT NOT NULL DEFAULT '', visit_key TEXT NOT NULL DEFAULT '',
               UNIQUE (claim_id, provider_key, visit_key, payer_id))""",
        """INSERT INTO claims_v2 (claim_id, payer_id, payer_rank, input_id, seq, header_hash, provider_hash, body,
               first_received_at, received_at)
           SELECT claim_id, payer_id, payer_rank, input_id, seq, header_hash, provider_hash, body,
               first_received_at, received_at FROM claims ORDER BY id""",
        "DROP TABLE claims",
        "ALTER TABLE claims_v2 RENAME TO claims",
        "CREATE INDEX claims_claim ON claims (claim_id)",
        # the latest decision per claim identity; `warnings`: duplicate payments ignored (and from which
        # file), liability not carried, one per line
        """CREATE TABLE claim_status_v2 (id {id}, claim_id TEXT NOT NULL, claim_key TEXT NOT NULL DEFAULT '',
               status TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, destination_payer TEXT,
               first_seen TEXT NOT NULL, updated_at TEXT NOT NULL, run_id INTEGER, warnings TEXT NOT NULL DEFAULT '',
               UNIQUE (claim_id, claim_key))""",
        """INSERT INTO claim_status_v2 (claim_id, status, reason, detail, destination_payer, first_seen, updated_at,
               run_id)
           SELECT claim_id, status, reason, detail, destination_payer, first_seen, updated_at, run_id
           FROM claim_status ORDER BY claim_id""",
        "DROP TABLE claim_status",
        "ALTER TABLE claim_status_v2 RENAME TO claim_status",
        """CREATE TABLE emitted_v2 (id {id}, claim_id TEXT NOT NULL, payer_id TEXT NOT NULL,
               generation INTEGER NOT NULL, frequency TEXT NOT NULL, level INTEGER NOT NULL, fingerprint TEXT NOT NULL,
               sender TEXT NOT NULL, isa13 INTEGER NOT NULL, output TEXT NOT NULL, emitted_at TEXT NOT NULL,
               run_id INTEGER, claim_key TEXT NOT NULL DEFAULT '',
               UNIQUE (claim_id, claim_key, payer_id, generation))""",
        """INSERT INTO emitted_v2 (claim_id, payer_id, generation, frequency, level, fingerprint, sender, isa13,
               output, emitted_at, run_id)
           SELECT claim_id, payer_id, generation, frequency, level, fingerprint, sender, isa13, output, emitted_at,
               run_id FROM emitted ORDER BY id""",
        "DROP TABLE emitted",
        "ALTER TABLE emitted_v2 RENAME TO emitted",
    ]),
    # Issue 17, after payment. Claims are keyed as migration 2 keys them: CLM01 (`claim_id`) and the claim
    # identity key (`claim_key`, `ClaimIdentity.key`: provider and visit; '' for claims from before migration 2),
    # so two practices' claims with one CLM01 get two balances, two deadlines, two worklist entries.
    (3, "after payment: patient balances, COB worklist, estimate checks", [
        # the latest patient balance per claim (final or reopened), as JSON of `balances.Balance`
        """CREATE TABLE patient_balances (claim_id TEXT NOT NULL, claim_key TEXT NOT NULL DEFAULT '',
               status TEXT NOT NULL, last_payer TEXT NOT NULL, patient_owes TEXT NOT NULL, data TEXT NOT NULL,
               final_at TEXT, updated_at TEXT NOT NULL, run_id INTEGER, PRIMARY KEY (claim_id, claim_key))""",
        # jobs for a person (COB denials, recoupments, underpayments); closed_at set when the cause is gone
        """CREATE TABLE worklist (id {id}, claim_id TEXT NOT NULL, claim_key TEXT NOT NULL DEFAULT '',
               kind TEXT NOT NULL, payer TEXT NOT NULL, says TEXT NOT NULL, action TEXT NOT NULL,
               evidence TEXT NOT NULL, opened_at TEXT NOT NULL, updated_at TEXT NOT NULL, closed_at TEXT,
               run_id INTEGER, UNIQUE (claim_id, claim_key, kind, payer))""",
        # a later payer's payment against cob's estimate of it (its own method)
        """CREATE TABLE estimate_checks (claim_id TEXT NOT NULL, claim_key TEXT NOT NULL DEFAULT '',
               payer TEXT NOT NULL, method TEXT NOT NULL, expected TEXT NOT NULL, paid TEXT NOT NULL,
               flagged INTEGER NOT NULL, checked_at TEXT NOT NULL, run_id INTEGER,
               PRIMARY KEY (claim_id, claim_key, payer))""",
    ]),
    (4, "filing deadlines", [
        # the next payer's timely-filing deadline per claim; filed = 1 once sent to it (0 again if rejected)
        """CREATE TABLE filing_deadlines (claim_id TEXT NOT NULL, claim_key TEXT NOT NULL DEFAULT '',
               payer TEXT NOT NULL, rule TEXT NOT NULL, start_date TEXT NOT NULL, due_date TEXT NOT NULL,
               filed INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (claim_id, claim_key))""",
    ]),
    (5, "acknowledgments", [
        # the latest 999 / 277CA answer per claim (identity), payer, generation and kind (acks.py)
        """CREATE TABLE acknowledgments (claim_id TEXT NOT NULL, claim_key TEXT NOT NULL DEFAULT '',
               payer TEXT NOT NULL, generation INTEGER NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
               reason TEXT NOT NULL, file TEXT NOT NULL, received_at TEXT NOT NULL, run_id INTEGER,
               PRIMARY KEY (claim_id, claim_key, payer, generation, kind))""",
    ]),
    # Issue 19, scale-out: several `cob run` processes on several machines share one drop through the
    # PostgreSQL state (`units`). Created on SQLite too (one schema everywhere), where a run keeps the run
    # lock and leaves them empty.
    (6, "work units and the processes leasing them", [
        # one `cob run` process taking part; heartbeat_at moves while it lives (the server's clock)
        """CREATE TABLE processes (id {id}, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at {time} NOT NULL,
               heartbeat_at {time} NOT NULL, run_id INTEGER, unit_id INTEGER, state TEXT NOT NULL)""",
        # a piece of work (an input to ingest, a claim shard to bill, a payer's output to publish, ...);
        # leased by one process at a time: `token` is new at every lease, `lease_until` by the server's clock
        """CREATE TABLE units (id {id}, round TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
               seq INTEGER NOT NULL, payload {blob}, state TEXT NOT NULL DEFAULT 'ready', holder INTEGER,
               token TEXT, lease_until {time}, attempts INTEGER NOT NULL DEFAULT 0, result {blob},
               UNIQUE (round, kind, key))""",
        "CREATE INDEX units_open ON units (round, kind, state, seq)",
        "CREATE INDEX units_holder ON units (holder)",
        # a round's units of one kind were created (by exactly one process: `Units.create_once`)
        """CREATE TABLE unit_phases (round TEXT NOT NULL, kind TEXT NOT NULL, units INTEGER NOT NULL,
               created_by INTEGER, PRIMARY KEY (round, kind))""",
    ]),
]

LATEST = MIGRATIONS[-1][0]


class SchemaTooNew(Exception):
    pass


def current_version(db: Database) -> int:
    if db.dialect == "sqlite":
        exists = db.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    else:
        exists = db.one("SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version' "
                        "AND table_schema = current_schema()")
    if exists is None:
        return 0
    return int(db.scalar("SELECT MAX(version) FROM schema_version", default=0))


def migrate(db: Database) -> int:
    """Bring the schema to `LATEST`; returns the number of migrations applied. Safe to call concurrently:
    each migration re-checks the version inside its transaction (under a lock on PostgreSQL)."""
    applied = 0
    for version, name, statements in MIGRATIONS:
        with db.transaction():
            if db.dialect == "postgresql":
                db.execute("SELECT pg_advisory_xact_lock(?)", (0x636F6201,))
            else:
                db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                           "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            if db.dialect == "postgresql":
                db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                           "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            have = current_version(db)
            if have > LATEST:
                raise SchemaTooNew(f"the state database has schema version {have}; this cob knows up to {LATEST}")
            if have >= version:
                continue
            for statement in statements:
                db.execute(statement.format(**db.types))
            db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                       (version, name, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
            applied += 1
    return applied
