"""Acknowledgments dropped in the inbox, tied back to what `cob run` sent (issue 17 clause 3).

A 999 answers one of our interchanges group by group: AK102 is our GS06, which the writer makes equal
to the file's ISA13, and the 999's ISA receiver is the sender we wrote; `outputs` knows which file that
was and `emitted` which claims it held. A rejected set rejects its claims (they never reached the payer's
system). A 277CA answers claim by claim: TRN02 is our CLM01; the claim is the latest emission of that
claim (to the payer the 277CA names, when cob sent it to several).

Per claim and payer the latest answer of each kind is kept (`acknowledgments`); a rejection puts the
claim on the worklist (`ack_rejected`, the reason codes in plain words) and marks it not filed for the
filing-deadline watch. A claim sent more than `ack_wait_days` ago that no 277CA answered is
*unacknowledged*: the report and `cob status` list it (with whether a 999 at least accepted its file).

Workers read the file (`parse_ack_file`, like `ingest.parse_file`); the parent records what it says in
the input's transaction (`record_acks`). Ids, codes and file names only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from cob.edi.acks import GROUP_ERRORS, SET_STATUS, Acknowledgment, ack_kind, read_acknowledgments
from cob.edi.errors import X12SyntaxError

from .inbox import shown

ACK_KINDS = ("999", "277")


def parse_ack_file(result, source: Path, work_dir: str):
    """Fill the worker's `Parsed` for an acknowledgment file: one record holding its interchanges."""
    try:
        acks = read_acknowledgments(source)
    except X12SyntaxError as exc:
        result.error = str(exc.error)
        return result
    except (OSError, UnicodeError) as exc:
        result.error = f"{shown(source.name)}: cannot read: {getattr(exc, 'strerror', None) or exc}"
        return result
    if not acks or not any(a.groups or a.claims for a in acks):
        result.error = f"{shown(source.name)}: an acknowledgment that answers nothing (no AK1 group, no claim status)"
        return result
    # not named after the input (as `ingest.parse_file`): a name near the 255-byte limit leaves no room
    fd, spool = tempfile.mkstemp(prefix="input-", suffix=".records", dir=work_dir)
    with os.fdopen(fd, "wb") as out:
        pickle.dump(("ack", acks), out, protocol=pickle.HIGHEST_PROTOCOL)
    result.kind = acks[0].kind
    result.spool = spool
    result.claims = sum(len(a.claims) for a in acks)
    return result


def is_ack_file(source: Path) -> bool:
    return ack_kind(source) in ACK_KINDS


@dataclass
class AckResult:
    claim_id: str
    payer: str
    kind: str  # 999 | 277CA
    status: str  # accepted | rejected | unmatched | malformed (walk problems of the file, read all the same)
    reason: str
    source: str  # file name

    def to_json(self) -> dict[str, str]:
        return {"claim_id": self.claim_id, "payer": self.payer, "kind": self.kind, "status": self.status,
                "reason": self.reason, "source": self.source}


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


class AckState:
    """The `acknowledgments` table (migration 5; keyed by claim identity as migration 2 keys claims) over the run's database; call inside a transaction."""

    def __init__(self, db):
        self.db = db

    def record(self, records: Iterable[tuple], file: str, now: dt.datetime, run_id: int | None) -> list[AckResult]:
        out: list[AckResult] = []
        for record in records:
            if record[0] != "ack":
                continue
            for ack in record[1]:
                out += self._one(ack, file, now, run_id)
                if ack.problems:  # read all the same (tolerant); said so that the sender can be told
                    more = f" (and {len(ack.problems) - 3} more)" if len(ack.problems) > 3 else ""
                    out.append(AckResult("", ack.source or ack.sender, "999" if ack.kind == "999" else "277CA",
                                         "malformed", "; ".join(ack.problems[:3]) + more, file))
        return out

    def _one(self, ack: Acknowledgment, file: str, now: dt.datetime, run_id: int | None) -> list[AckResult]:
        out: list[AckResult] = []
        for group in ack.groups:
            try:
                number = int(group.control_number)
            except ValueError:
                out.append(AckResult("", "", "999", "unmatched", f"AK102 {group.control_number!r} is not a number",
                                     file))
                continue
            rows = self.db.query("SELECT path FROM outputs WHERE sender = ? AND isa13 = ?", (ack.receiver, number))
            if not rows:  # the acknowledging side may echo our sender differently: the number alone, if unique
                rows = self.db.query("SELECT path FROM outputs WHERE isa13 = ?", (number,))
            if len(rows) != 1:
                out.append(AckResult("", "", "999", "unmatched",
                                     f"999 for group {number}, which matches {len(rows)} files cob sent", file))
                continue
            output = rows[0][0]
            verdicts = {s.accepted for s in group.sets}
            accepted = group.status in ("A", "E") if not group.sets else verdicts == {True}
            rejected_sets = [s.reason() for s in group.sets if not s.accepted]
            if accepted:
                reason = "999 accepted"
            elif rejected_sets:
                reason = " / ".join(rejected_sets)
            else:
                reason = "999 group " + SET_STATUS.get(group.status, group.status) + "".join(
                    f"; {GROUP_ERRORS.get(c, 'code ' + c)}" for c in group.codes)
            if not accepted and verdicts == {True, False}:
                reason += " (some sets of the file were accepted: check which claims)"
            for claim_id, payer, generation, key in self.db.query(
                    "SELECT claim_id, payer_id, generation, claim_key FROM emitted WHERE output = ? "
                    "ORDER BY claim_id, claim_key", (output,)):
                out.append(self._save(claim_id, payer, generation, "999", accepted, reason, file, now, run_id, key))
        for claim in ack.claims:
            rows = self.db.query("SELECT payer_id, generation, level, claim_key FROM emitted WHERE claim_id = ? "
                                 "ORDER BY level, generation", (claim.claim_id,))
            if not rows:
                out.append(AckResult(claim.claim_id, ack.source, "277CA", "unmatched",
                                     "a 277CA for a claim cob did not send", file))
                continue
            chosen = [r for r in rows if r[0] == ack.source] or rows
            payer, generation, _level, key = chosen[-1]
            if not (claim.accepted or claim.rejected):
                continue  # a status that is neither (e.g. pending): nothing to record
            keys = {r[3] for r in chosen if r[0] == payer}
            if len(keys) > 1:
                # TRN02 is CLM01 only: several claims of this CLM01 (providers or visits, migration 2) were
                # sent to this payer, and the 277CA does not say which one it answers; never guess
                out.append(AckResult(claim.claim_id, payer, "277CA", "unmatched",
                                     f"a 277CA for CLM01 {claim.claim_id}, which {len(keys)} claims cob sent to payer "
                                     f"{payer} share (other providers or visits): not tied to any of them", file))
                continue
            out.append(self._save(claim.claim_id, payer, generation, "277CA", claim.accepted, claim.reason(), file,
                                  now, run_id, key))
        return out

    def _save(self, claim_id: str, payer: str, generation: int, kind: str, accepted: bool, reason: str, file: str,
              now: dt.datetime, run_id: int | None, claim_key: str = "") -> AckResult:
        from .posting import PostingState

        when = _iso(now)
        status = "accepted" if accepted else "rejected"
        self.db.execute(
            "INSERT INTO acknowledgments (claim_id, claim_key, payer, generation, kind, status, reason, file, "
            "received_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (claim_id, claim_key, payer, generation, kind) DO UPDATE SET "
            "status = excluded.status, reason = excluded.reason, file = excluded.file, "
            "received_at = excluded.received_at, run_id = excluded.run_id",
            (claim_id, claim_key, payer, generation, kind, status, reason, file, when, run_id))
        posted = PostingState(self.db)
        if accepted:
            self.db.execute("UPDATE worklist SET closed_at = ?, updated_at = ? WHERE claim_id = ? AND claim_key = ? "
                            "AND payer = ? AND kind = ? AND closed_at IS NULL",
                            (when, when, claim_id, claim_key, payer, f"ack_rejected_{kind}"))
        else:
            posted.unfile(claim_id, claim_key, payer, when)
            self.db.execute(
                "INSERT INTO worklist (claim_id, claim_key, kind, payer, says, action, evidence, opened_at, "
                "updated_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (claim_id, claim_key, kind, payer) DO UPDATE SET "
                "says = excluded.says, evidence = excluded.evidence, updated_at = excluded.updated_at, "
                "closed_at = NULL, run_id = excluded.run_id",
                (claim_id, claim_key, f"ack_rejected_{kind}", payer, reason,
                 "correct what the acknowledgment names and send the claim again (it was not filed)",
                 json.dumps({"file": file, "generation": generation}), when, when, run_id))
        return AckResult(claim_id, payer, kind, status, reason, file)

    def unacknowledged(self, now: dt.datetime, wait_days: int) -> list[dict[str, Any]]:
        """Claims (latest emission per claim and payer) sent before now - wait_days that no 277CA answered."""
        limit = _iso(now - dt.timedelta(days=wait_days))
        rows = self.db.query(
            "SELECT e.claim_id, e.payer_id, e.generation, e.output, e.emitted_at, "
            "(SELECT a.status FROM acknowledgments a WHERE a.claim_id = e.claim_id AND a.claim_key = e.claim_key "
            " AND a.payer = e.payer_id AND a.generation = e.generation AND a.kind = '999') FROM emitted e "
            "WHERE e.emitted_at < ? AND e.generation = (SELECT MAX(g.generation) FROM emitted g WHERE "
            "g.claim_id = e.claim_id AND g.claim_key = e.claim_key AND g.payer_id = e.payer_id) AND NOT EXISTS "
            "(SELECT 1 FROM acknowledgments a WHERE a.claim_id = e.claim_id AND a.claim_key = e.claim_key AND "
            "a.payer = e.payer_id AND a.generation = e.generation AND a.kind = '277CA') "
            "ORDER BY e.emitted_at, e.claim_id, e.claim_key", (limit,))
        return [{"claim_id": c, "payer": p, "generation": g, "output": o, "sent_at": s,
                 "days": (now - dt.datetime.fromisoformat(s)).days, "ack_999": a or "none"}
                for c, p, g, o, s, a in rows]


def ack_section(results: list[AckResult], unacknowledged: list[dict[str, Any]], wait_days: int) -> dict[str, Any]:
    """The report's `acknowledgments`: rejected first, then accepted, unmatched, malformed, unacknowledged."""
    return {"rejected": [r.to_json() for r in results if r.status == "rejected"],
            "accepted": [r.to_json() for r in results if r.status == "accepted"],
            "unmatched": [r.to_json() for r in results if r.status == "unmatched"],
            "malformed": [r.to_json() for r in results if r.status == "malformed"],
            "unacknowledged": unacknowledged, "ack_wait_days": wait_days}
