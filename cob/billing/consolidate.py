"""Consolidating remittances: one standing adjudication per claim and payer across all input 835s.

A payer may answer one claim several times: a payment, later a reversal (CLP02=22) and a correction;
a claim split into parts (same CLP01, Medicare flags it with MA15); a predetermination (CLP02=25) that
is not an adjudication at all. Only the latest standing adjudication may feed the next payer's claim.

Claim payments are kept as compressed JSON (without their payment header, which is shared and kept once)
so that tens of thousands of remits fit in modest memory; a payment is validated back into its model
only when its claim is processed. The payments of one file are compressed against the file's first
payment (a preset dictionary): they share most of their text, so each keeps only what differs.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from cob.schemas.codes import ClaimStatus
from cob.schemas.remit import ClaimPayment, PaymentHeader

from .identity import HeaderFacts, PaymentFacts, header_facts, payment_facts

#: CLP02 -> the payer's place in the order of benefits when it adjudicated (1 primary, 2 secondary, ...).
LEVEL = {
    ClaimStatus.PRIMARY: 1, ClaimStatus.PRIMARY_FORWARDED: 1,
    ClaimStatus.SECONDARY: 2, ClaimStatus.SECONDARY_FORWARDED: 2,
    ClaimStatus.TERTIARY: 3, ClaimStatus.TERTIARY_FORWARDED: 3,
}
NOT_ADJUDICATED = {ClaimStatus.DENIED, ClaimStatus.NOT_OUR_CLAIM}
SPLIT_REMARK = "MA15"


def payer_key(header: PaymentHeader | None) -> str:
    """Who sent an 835: REF*2U payer id, else N1*PR N104, else TRN03, else the payer name."""
    if header is None:
        return "?"
    payer = header.payer
    if payer is not None:
        ref = payer.ref("2U")
        if ref:
            return ref
        if payer.n1.id:
            return payer.n1.id
    if header.trn is not None and header.trn.originating_company_id:
        return header.trn.originating_company_id
    return (payer.n1.name if payer is not None and payer.n1.name else "?")


@dataclass(slots=True)
class RemitRecord:
    """One CLP as received, small enough to keep for every claim of a night's files."""

    claim_id: str
    status: ClaimStatus
    payer: str
    payer_claim_number: str
    charge: Decimal
    paid: Decimal
    sequence: int  # arrival order across all inputs (files in the order given)
    header_key: int
    paid_on: int  # ordinal of the payment date (BPR16, else DTM*405); 0 when unknown
    split: bool
    file: str
    payload: bytes  # ClaimPayment JSON without the header, zlib-compressed (a night's remits stay small)
    dictionary: bytes  # the preset dictionary `payload` was compressed with, shared by its file's records
    facts: PaymentFacts | None = None  # what it says about the claim it answers (`identity.py`: matching)
    digest: bytes = b""  # its amounts (`amounts_digest`): equal digests from one payer are one payment twice
    segment: int | None = None  # segment number of its CLP in `file`
    #: the payment itself, kept decoded instead of `payload` by an index of a few claims (`RemitIndex(kept=True)`)
    model: ClaimPayment | None = None

    @property
    def where(self) -> str:
        """The file and segment of its CLP, for messages."""
        return f"{self.file} segment {self.segment}" if self.segment else self.file

    def payment(self, headers: "HeaderStore") -> ClaimPayment:
        if self.model is not None:  # shared, read-only: nothing downstream changes a payment in place
            return self.model
        payment = ClaimPayment.model_validate_json(
            zlib.decompressobj(_WBITS, zdict=self.dictionary).decompress(self.payload))
        payment.header = headers.get(self.header_key)
        return payment


@dataclass
class Adjudication:
    """A payer's standing decision on a claim (split parts merged)."""

    payer: str
    level: int
    status: ClaimStatus
    payment: ClaimPayment
    parts: int = 1
    files: list[str] = field(default_factory=list)

    @property
    def payment_date(self):
        return self.payment.header.payment_date if self.payment.header else None


@dataclass
class ClaimRemits:
    """Everything the remittances say about one claim (CLP01), after netting."""

    claim_id: str
    adjudications: list[Adjudication] = field(default_factory=list)  # by level
    denied: list[RemitRecord] = field(default_factory=list)  # CLP02 4 / 23: no adjudication
    predeterminations: int = 0
    reversed_pairs: int = 0
    orphan_reversals: int = 0  # reversals of a payment not among the inputs
    conflicts: list[str] = field(default_factory=list)  # payers disagreeing about the order of benefits

    @property
    def reversal_pending(self) -> bool:
        """Everything that stood was reversed and no correction has arrived yet."""
        return not self.adjudications and (self.reversed_pairs > 0 or self.orphan_reversals > 0)


class HeaderStore:
    """Payment headers kept compressed (a night's 835s can carry thousands), validated back on demand.

    The headers of one file are compressed against its first, as its payments are (a third of the bytes,
    in less time, than alone)."""

    def __init__(self, kept: bool = False) -> None:
        self._data: list[tuple[bytes, bytes]] = []  # (compressed JSON, the dictionary it was compressed with)
        self._cache: dict[int, PaymentHeader] = {}
        self.kept: list[PaymentHeader | None] | None = [] if kept else None  # `RemitIndex(kept=True)`

    def __len__(self) -> int:
        return len(self._data) if self.kept is None else len(self.kept)

    def add(self, header: PaymentHeader) -> int:
        """Add one header, compressed alone; returns its key."""
        if self.kept is not None:
            self.kept.append(header)
            return len(self.kept) - 1
        self._data.append((_compress(_json(header), b""), b""))
        return len(self._data) - 1

    def add_file(self, headers: Iterable[PaymentHeader | None]) -> None:
        """Add the payment headers of one file, in order (their keys follow on from `len(self)`)."""
        if self.kept is not None:
            self.kept.extend(headers)
            return
        dictionary = b""
        for header in headers:
            if header is None:  # (a payment without its header: `get` gives None)
                self._data.append((b"", b""))
                continue
            text = _json(header)
            dictionary = dictionary or text
            self._data.append((_compress(text, dictionary), dictionary))

    def get(self, key: int) -> PaymentHeader | None:
        if self.kept is not None:
            return self.kept[key] if 0 <= key < len(self.kept) else None
        header = self._cache.get(key)
        if header is None and 0 <= key < len(self._data) and self._data[key][0]:
            if len(self._cache) > 256:
                self._cache.clear()
            payload, dictionary = self._data[key]
            header = self._cache[key] = PaymentHeader.model_validate_json(
                zlib.decompressobj(_WBITS, zdict=dictionary).decompress(payload))
        return header


class RemitIndex:
    """All claim payments of the inputs, by CLP01; built once, consulted per claim.

    `kept=True`: payments and headers are kept as the models given instead of compressed JSON. For an index of
    one claim's payments (`cob run` decodes them from its state database, once): compressing them to decode
    them again two or three times per claim cost more than the models' memory saves."""

    def __init__(self, kept: bool = False) -> None:
        self.records: dict[str, list[RemitRecord]] = {}
        self.headers = HeaderStore(kept)
        self.kept = kept
        self._sequence = 0

    def add_file(self, file: str, payments: Iterable[ClaimPayment]) -> int:
        """Add the claim payments of one 835 file; returns how many.

        `payments` may be a lazy reader: each payment is reduced to a compact record as it comes, and
        the file's records join the index only when the whole file was read, so a file that fails
        half-way adds nothing (and no file is ever held in memory as models).
        """
        staged: list[RemitRecord] = []
        #: id of a payment header -> (its key in `headers`, its payer, its payment date's ordinal): the
        #: payments of one check share their header, so these are worked out once per header
        header_keys: dict[int, tuple[int, str, int, HeaderFacts]] = {}
        new_headers: list[PaymentHeader] = []
        sequence = self._sequence
        dictionary = b""
        for payment in payments:
            if not self.kept:
                text = _json(payment, exclude=_HEADER)
                dictionary = dictionary or text
            header = payment.header
            shared = header_keys.get(id(header))
            if shared is None:
                paid_on = header.payment_date if header is not None else None
                shared = header_keys[id(header)] = (len(self.headers) + len(new_headers), payer_key(header),
                                                    paid_on.toordinal() if paid_on else 0, header_facts(header))
                new_headers.append(header)
            clp = payment.clp
            moa, mia = payment.moa, payment.mia  # (MA15 in MOA, or in MIA for an inpatient claim)
            split = (moa is not None and
                     SPLIT_REMARK in (moa.remark1, moa.remark2, moa.remark3, moa.remark4, moa.remark5)) or \
                (mia is not None and SPLIT_REMARK in (mia.remark1, mia.remark2, mia.remark3, mia.remark4, mia.remark5))
            sequence += 1
            staged.append(RemitRecord(
                claim_id=clp.patient_control_number, status=clp.status, payer=shared[1],
                payer_claim_number=clp.payer_claim_control_number or "", charge=clp.charge, paid=clp.paid,
                sequence=sequence, header_key=shared[0], paid_on=shared[2], split=split,
                file=file, payload=b"" if self.kept else _compress(text, dictionary), dictionary=dictionary,
                facts=payment_facts(payment, shared[3]), digest=amounts_digest(payment),
                segment=payment.source.segment_no, model=payment if self.kept else None))
        self.headers.add_file(new_headers)
        self._sequence = sequence
        for record in staged:
            self.records.setdefault(record.claim_id, []).append(record)
        return len(staged)

    def claim_ids(self) -> list[str]:
        return list(self.records)

    def consolidate(self, claim_id: str) -> ClaimRemits | None:
        records = self.records.get(claim_id)
        if not records:
            return None
        return consolidate(claim_id, records, self.headers)


#: raw deflate (no zlib header and checksum: a record is only ever read back by this process)
_WBITS = -15
_HEADER = {"header"}


def _json(model: ClaimPayment | PaymentHeader, exclude: set[str] | None = None) -> bytes:
    """A payment or header as the JSON kept (None fields left out: most elements are empty)."""
    return model.model_dump_json(exclude=exclude, exclude_none=True).encode()


def _compress(text: bytes, dictionary: bytes) -> bytes:
    """Fastest zlib level, primed with `dictionary`: a payment compresses to about half the bytes (and in
    less time) than alone, since the JSON keys and the codes repeat from payment to payment."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, _WBITS, zdict=dictionary)
    return compressor.compress(text) + compressor.flush()


def _date_key(record: RemitRecord, headers: dict[int, PaymentHeader]):
    header = headers.get(record.header_key)
    date = header.payment_date if header is not None else None
    return (date.toordinal() if date else 0, record.sequence)


def amounts_digest(payment: ClaimPayment) -> bytes:
    """The payment's identity as issue 14 defines a duplicate: CLP01, CLP02, CLP07 and every amount (claim
    and line CAS, each service with its code, line control number and dates). The envelope, the file, the
    header and informational segments are left out, so the same payment in a renamed copy or a regenerated
    ERA (new ISA13, new check date) has the same digest; a split part (other lines) or another visit does not."""
    clp = payment.clp
    parts = [repr((clp.patient_control_number, clp.status.value, clp.charge, clp.paid, clp.patient_responsibility,
                   clp.payer_claim_control_number))]
    parts += [repr(c.element_values()) for c in payment.adjustments]
    for service in payment.services:
        parts.append(repr((service.svc.element_values(), service.control_number,
                           [(d.qualifier, d.date) for d in service.dates],
                           [c.element_values() for c in service.adjustments])))
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).digest()


def consolidate(claim_id: str, records: list[RemitRecord], headers: HeaderStore,
                claim_charge: Decimal | None = None) -> ClaimRemits:
    """Net reversals, merge split claims, drop predeterminations; one `Adjudication` per payer level.

    Payers identify themselves inconsistently across 835s (REF*2U in one, only N1/TRN in the next), so a
    reversal is matched by the payer's claim number (CLP07) or by its negated amounts, and adjudications
    are told apart by the level their CLP02 states (1 primary, 2 secondary, 3 tertiary).
    """
    out = ClaimRemits(claim_id)
    standing: list[RemitRecord] = []
    for record in sorted(records, key=_arrival) if len(records) > 1 else records:
        if record.status is ClaimStatus.PREDETERMINATION:
            out.predeterminations += 1
        elif record.status in NOT_ADJUDICATED:
            out.denied.append(record)
        elif record.status is ClaimStatus.REVERSAL:
            target = _reversed(record, standing)
            if target is None:
                out.orphan_reversals += 1
            else:
                standing.remove(target)
                out.reversed_pairs += 1
        else:
            standing.append(record)
    by_level: dict[int, list[RemitRecord]] = {}
    for record in standing:
        by_level.setdefault(LEVEL[record.status], []).append(record)
    for level in sorted(by_level):
        out.adjudications.append(_standing(level, by_level[level], headers, out, claim_charge))
    return out


def _arrival(record: RemitRecord) -> tuple[int, int]:
    return record.paid_on, record.sequence


def _reversed(reversal: RemitRecord, standing: list[RemitRecord]) -> RemitRecord | None:
    """The standing payment a reversal cancels: the one it negates (amounts) under the same payer claim
    number, else the same claim number, else the same negated amounts. Amounts come first because a
    payer may reuse the claim number for the correction and list the correction before the reversal."""
    negates = lambda r: r.charge == -reversal.charge and r.paid == -reversal.paid  # noqa: E731
    same_number = lambda r: bool(reversal.payer_claim_number) and r.payer_claim_number == reversal.payer_claim_number  # noqa: E731
    for test in (lambda r: negates(r) and same_number(r), same_number, negates):
        for record in reversed(standing):
            if test(record):
                return record
    return None


def _standing(level: int, standing: list[RemitRecord], headers: HeaderStore,
              out: ClaimRemits, claim_charge: Decimal | None = None) -> Adjudication:
    """Several standing answers at one level: split parts are merged; otherwise the latest one wins.

    Parts are known by MA15, or without it (pyx12's code list even rejects MA15 in MOA) from the parts
    themselves: parts (other CLP07s or other lines: a payment twice was dropped as a duplicate before) whose
    charges add up to the claim's charge (the records given are those matched to this one claim, so another
    visit's payment is not among them)."""
    unmarked_split = claim_charge is not None and len(standing) > 1 and \
        sum((r.charge for r in standing), Decimal(0)) == claim_charge and all(r.charge < claim_charge for r in standing)
    if len(standing) > 1 and (unmarked_split or any(r.split for r in standing)):
        parts = [r.payment(headers) for r in standing]
        merged = merge_split(parts)
        return Adjudication(standing[-1].payer, level, merged.clp.status, merged, len(parts),
                            [r.file for r in standing])
    latest = standing[-1]
    if len(standing) > 1 and len({r.payer for r in standing}) > 1 and \
            len({r.payer_claim_number for r in standing}) > 1:
        out.conflicts.append(f"two payers ({', '.join(sorted({r.payer for r in standing}))}) both answered "
                             f"at level {level} under different claim numbers")
    payment = latest.payment(headers)
    return Adjudication(latest.payer, level, payment.clp.status, payment, 1, [latest.file])


def merge_split(parts: list[ClaimPayment]) -> ClaimPayment:
    """One claim payment from the parts of a split claim: charges, payments, CAS and services added up."""
    first = parts[0]
    total = lambda attr: sum((getattr(p.clp, attr) or Decimal(0) for p in parts), Decimal(0))  # noqa: E731
    clp = first.clp.model_copy(update={
        "charge": total("charge"), "paid": total("paid"), "patient_responsibility": total("patient_responsibility"),
    })
    latest = max(parts, key=lambda p: (p.header.payment_date.toordinal()
                                       if p.header is not None and p.header.payment_date else 0))
    return first.model_copy(update={
        "clp": clp,
        "adjustments": [c for p in parts for c in p.adjustments],
        "services": [s for p in parts for s in p.services],
        "header": latest.header,
    })
