"""Reading one input file into compact records; runs in worker processes (`cob run --workers N`).

A worker never touches the state database: it streams the file through the strict reader and writes one
record per claim / claim payment (pickled, body as zlib-compressed model JSON) into a spool file in the
run's work folder, so neither the worker nor the parent ever holds a whole file in memory. The parent
reads the spool back and writes it to the database in one transaction per input file, in input order,
so the database sees the same writes whatever the number of workers.

Why model JSON and not a pointer into the archived file: the state database is all a later run needs to
build a claim (several machines may mount the archive at different paths, and PostgreSQL state outlives
any one of them); context loops shared by many claims (the transaction header, the billing provider, an
835's payment header) are stored once in `blobs`, by content hash.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import pickle
import tempfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Iterator

from cob.edi.errors import X12SyntaxError
from cob.edi.inputs import looks_like_x12
from cob.edi.reader import X12Reader
from cob.schemas.claim import Claim
from cob.schemas.institutional import claim_model
from cob.schemas.remit import ClaimPayment

from . import faults, signals
from .acks import is_ack_file, parse_ack_file
from .submitters import pair_of
from .inbox import shown

HASH_CHUNK = 1 << 20
CLAIM_EXCLUDE = {"header", "billing_provider"}
PAYMENT_EXCLUDE = {"header"}


class WorkFailure(Exception):
    """The machine, not the input, failed (e.g. the work folder is full): the run stops, nothing is lost."""

    internal = False  # True: a failure of cob itself (exit 3), not of the machine


class BodyNotVerified(WorkFailure):
    """A stored body does not read back as the model it was written from (see `verified`)."""

    internal = True


def verified(model: type, data: bytes, what: str) -> bytes:
    """`data` (a model's JSON) if it reads back as `model`. Why: an exception swallowed inside pydantic-core's
    serialization (a KeyboardInterrupt once did) leaves "<unprintable Decimal object>" in the JSON, and a
    claim stored so is billed wrong weeks later; nothing is stored that does not round-trip."""
    try:
        model.model_validate_json(data)
    except ValueError:
        raise BodyNotVerified(f"internal error: the stored form of {what} does not read back; nothing of the "
                              "file was recorded (the next run reads it again)") from None
    return data


def _verified_claim(data: bytes, what: str) -> bytes:
    """`verified` for a claim: it must read back as the model `cob.run.billing` will read it with
    (`claim_model`: an 837P `Claim` or an 837I `InstitutionalClaim`, told by content)."""
    return verified(claim_model(data), data, what)


@dataclass
class Parsed:
    """What a worker found in one input file. `error` set: the file is to be quarantined."""

    path: str
    sha256: str
    size: int
    kind: str | None = None
    error: str | None = None
    spool: str | None = None
    claims: int = 0
    payments: int = 0
    seconds: float = 0.0
    #: (sender, receiver) of each interchange its 837 claims came in (see `cob.run.submitters`)
    pairs: list[tuple[str, str]] = field(default_factory=list)


def hash_file(path: Path) -> tuple[str, int]:
    """sha256 and size of an input; OSError when it cannot be read (the caller quarantines it)."""
    faults.check_readable(path)
    digest = hashlib.sha256()
    size = 0
    # never through a link, never blocking on a FIFO: whatever replaced the file since it was classified
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    with os.fdopen(fd, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _blob(model: Any, blobs: set[str], out: IO[bytes]) -> str | None:
    if model is None:
        return None
    data = model.model_dump_json(exclude_none=True).encode()
    key = hashlib.sha1(data).hexdigest()
    if key not in blobs:
        verified(type(model), data, f"a {type(model).__name__}")
        blobs.add(key)
        pickle.dump(("blob", key, zlib.compress(data, 1)), out, protocol=pickle.HIGHEST_PROTOCOL)
    return key


def parse_file(path: str, sha256: str, size: int, work_dir: str) -> Parsed:
    """Read one input whole (strictly) into a record spool; see module doc. Top-level so it pickles."""
    import time

    from cob.billing.consolidate import payer_key

    started = time.perf_counter()
    source = Path(path)
    result = Parsed(path, sha256, size)
    try:
        faults.check_readable(source)
        if not looks_like_x12(source):
            result.error = f"{shown(source.name)}: not an X12 file (it does not start with ISA)"
            return result
    except OSError as exc:
        result.error = f"{shown(source.name)}: cannot read: {exc.strerror or exc}"
        return result
    if is_ack_file(source):  # a 999 or 277CA answering what we sent (acks.py)
        return parse_ack_file(result, source, work_dir)
    try:
        # not named after the input: a name near the 255-byte limit leaves no room for a prefix
        fd, spool = tempfile.mkstemp(prefix="input-", suffix=".records", dir=work_dir)
        out = os.fdopen(fd, "wb", buffering=1 << 20)
    except OSError as exc:
        raise WorkFailure(f"cannot write to the work folder {work_dir}: {exc.strerror or exc}") from None
    faults.kill_reader(source)
    blobs: set[str] = set()
    reader = X12Reader(source, strict=True)
    try:
        with out:
            seq = 0
            last_header = None
            for item in _items(reader, source, result):
                seq += 1
                signals.check()  # a stop asked of an in-process read: between claims, never inside one
                try:
                    if isinstance(item, Claim):
                        if item.header is not last_header:
                            last_header = item.header
                            pair = pair_of(item.header)
                            if pair is not None and pair not in result.pairs:
                                result.pairs.append(pair)
                        payer = item.payer.name.id if item.payer is not None else ""
                        rank = item.subscriber.sbr.payer_sequence.rank if item.subscriber is not None else 1
                        record = ("claim", item.claim_id, payer or "", rank, seq,
                                  _blob(item.header, blobs, out), _blob(item.billing_provider, blobs, out),
                                  zlib.compress(_verified_claim(item.model_dump_json(
                                      exclude=CLAIM_EXCLUDE, exclude_none=True).encode(),
                                      f"claim {item.claim_id} of {shown(source.name)}"), 1),
                                  *_identity(item))
                        result.claims += 1
                    else:
                        clp = item.clp
                        record = ("payment", clp.patient_control_number, seq, clp.status.value,
                                  payer_key(item.header), clp.payer_claim_control_number or "",
                                  _blob(item.header, blobs, out),
                                  zlib.compress(verified(ClaimPayment, item.model_dump_json(
                                      exclude=PAYMENT_EXCLUDE, exclude_none=True).encode(),
                                      f"claim payment {clp.patient_control_number} of {source.name}"), 1))
                        result.payments += 1
                    pickle.dump(record, out, protocol=pickle.HIGHEST_PROTOCOL)
                except OSError as exc:
                    raise WorkFailure(f"cannot write to the work folder {work_dir}: "
                                      f"{exc.strerror or exc}") from None
    except (WorkFailure, BaseException) as exc:
        Path(spool).unlink(missing_ok=True)
        if isinstance(exc, _BadInput):
            result.error = exc.message
            return result
        raise
    kinds = sorted(set(reader.transactions))
    result.kind = "+".join(kinds) if kinds else None
    if result.claims == 0 and result.payments == 0:
        Path(spool).unlink(missing_ok=True)
        result.error = f"{shown(source.name)}: holds no 837P claim and no 835 claim payment"
        return result
    result.spool = spool
    result.seconds = time.perf_counter() - started
    return result


def _identity(claim: Claim) -> tuple[str, str]:
    """(provider key, visit key) of a claim: the state database keeps claims by CLM01 and these (issue 14)."""
    from cob.billing.identity import claim_identity

    identity = claim_identity(claim)
    return identity.provider, identity.visit


class _BadInput(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _items(reader: X12Reader, source: Path, result: Parsed) -> Iterator[Claim | ClaimPayment]:
    """Claims and claim payments of a file; any reading problem becomes `_BadInput` (the file is bad)."""
    try:
        for item in reader:
            if isinstance(item, (Claim, ClaimPayment)):
                yield item
    except X12SyntaxError as exc:
        raise _BadInput(str(replace(exc.error, file=shown(exc.error.file)))) from None
    except UnicodeError:
        raise _BadInput(f"{shown(source.name)}: not readable as text") from None
    except OSError as exc:
        raise _BadInput(f"{shown(source.name)}: cannot read: {exc.strerror or exc}") from None


def read_records(spool: str) -> Iterator[tuple]:
    """The records a worker wrote, one at a time."""
    with open(spool, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return
