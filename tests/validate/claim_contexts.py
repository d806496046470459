"""Test helper: walk an X12 file (or a snippet of segments) into the contexts the SNIP 3/4/5 rules see.

This mirrors what the streaming engine hands the rules, without its SNIP 1-2 checks: every segment is
located in its IG loop with the walker the engine uses (`cob.edi.walk.Walker`); an 837P claim's context is its 2000B subscriber HL
(SBR, 2010BA, 2010BB), then its 2000C patient HL when present, then the 2300 loop and everything below
it; an 835 claim is a 2100 loop with its 2110s. Each 835 transaction set also yields a
`TransactionContext` (header = segments before the first CLP, trailer = PLB segments,
`claim_payment_total` = sum of CLP04, None when one does not parse).

    contexts = walk_file(path)                       # ClaimContexts and TransactionContexts, file order
    ctx = claim_837("CLM*A*100***11:B:1*Y*A*Y*Y~...")  # one 837P claim from its segments
    ctx = claim_835("CLP*A*1*100*80**12*ICN~...")      # one 835 claim
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cob.edi.envelope import EnvelopeReader
from cob.edi.ig.tables import load_table
from cob.edi.validate.context import ClaimContext, TransactionContext
from cob.edi.walk import Walker

TABLES = {"837": "005010X222A1", "835": "005010X221A1"}


def walk_file(path: str | Path) -> list[ClaimContext | TransactionContext]:
    out: list[ClaimContext | TransactionContext] = []
    name = str(path)
    walker: Walker | None = None
    kind = ""
    comp, rep = ":", "^"
    env: dict = {}
    sub: list = []  # 2000B segments
    pat: list = []  # 2000C segments
    claim: list | None = None
    header: list = []
    trailer: list = []
    total: Decimal | None = Decimal(0)
    claims = 0
    payment_date = None

    def flush() -> None:
        nonlocal claim, claims
        if claim:
            first = next((s for s in claim if s[1][0] in ("CLM", "CLP")), None)
            claim_id = first[1][1] if first is not None and len(first[1]) > 1 else None
            out.append(ClaimContext(file=name, transaction=kind, claim_id=claim_id, segments=claim,
                                    component_sep=comp, repetition_sep=rep, payment_date=payment_date,
                                    **env))
            claims += 1
        claim = None

    for txn, elements, seg_no, st_no in EnvelopeReader(path, strict=False):
        sid = elements[0]
        if sid == "ST":
            kind = txn.id
            delims = txn.group.interchange.delimiters
            comp, rep = delims.component, delims.repetition
            walker = Walker(load_table(TABLES[kind]), comp) if kind in TABLES else None
            if walker is not None:
                walker.start()
            env = {"isa_control": txn.group.interchange.control_number,
                   "gs_control": txn.group.control_number, "st_control": txn.control_number}
            sub, pat, claim, header, trailer = [], [], None, [], []
            total, claims, payment_date = Decimal(0), 0, None
            continue
        if walker is None:
            continue
        if sid == "SE":
            flush()
            if kind == "835":
                out.append(TransactionContext(file=name, transaction=kind, header=header, trailer=trailer,
                                              claim_payment_total=total, claims=claims, component_sep=comp,
                                              **env))
            walker = None
            continue
        step, _problems = walker.step(elements)  # a segment not placed stays in the loop open here
        stack_ids = [loop.id for loop in walker.open_loops()]
        seg = (stack_ids[-1], elements, seg_no, st_no)
        pushed = {loop.id for loop in step.pushes}
        if kind == "837":
            if "2000B" in pushed:
                flush()
                sub, pat = [seg], []
            elif "2000C" in pushed:
                flush()
                pat = [seg]
            elif "2300" in pushed:
                flush()
                claim = sub + pat + [seg]
            elif claim is not None and "2300" in stack_ids:
                claim.append(seg)
            elif "2000C" in stack_ids:
                pat.append(seg)
            elif "2000B" in stack_ids:
                sub.append(seg)
            else:
                flush()
        else:
            if "2100" in pushed:
                flush()
                claim = [seg]
                if total is not None:
                    try:
                        total += Decimal(elements[4])
                    except (IndexError, InvalidOperation):
                        total = None
            elif claim is not None and "2100" in stack_ids:
                claim.append(seg)
            else:
                flush()
                if sid == "PLB":
                    trailer.append(seg)
                elif not claims:
                    header.append(seg)
                    if sid == "BPR" and len(elements) > 16:
                        payment_date = elements[16]
    return out


def claims_of(path: str | Path) -> list[ClaimContext]:
    return [c for c in walk_file(path) if isinstance(c, ClaimContext)]


def transactions_of(path: str | Path) -> list[TransactionContext]:
    return [c for c in walk_file(path) if isinstance(c, TransactionContext)]


# ------------------------------------------------------------------------------------------ snippets

ISA = ("ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *260301*1200*^*00501*"
       "000000101*0*P*:~")

PREFIX_837 = [
    "BHT*0019*00*BATCH0001*20260301*1200*CH",
    "NM1*41*2*NORTHWIND BILLING*****46*SUBMIT01",
    "PER*IC*BILLING DESK*TE*5555550100",
    "NM1*40*2*SECOND PAYER INC*****46*SECPAY",
    "HL*1**20*1",
    "NM1*85*2*NORTHWIND CLINIC*****XX*1234567893",
    "N3*100 MAIN ST",
    "N4*SPRINGFIELD*IL*627010001",
    "REF*EI*123456789",
]

#: the default 2000B context for `claim_837`: secondary claim to SECPAY, subscriber is the patient
SUBSCRIBER_837 = [
    "HL*2*1*22*0",
    "SBR*S*18*GRP200******CI",
    "NM1*IL*1*TESTER*ALEX****MI*SEC123456",
    "NM1*PR*2*SECOND PAYER INC*****PI*SECPAY",
]

PREFIX_835 = [
    "BPR*I*0*C*NON************20260301",
    "TRN*1*T1*1999999999",
    "N1*PR*PRIMARY PLAN",
    "N3*1 MAIN ST",
    "N4*CITY*IL*60601",
    "PER*BL*EDI*TE*8005550199",
    "N1*PE*NORTHWIND CLINIC*XX*1234567893",
    "LX*1",
]


def _segments(text: str) -> list[str]:
    return [s.strip() for s in text.replace("\n", "").split("~") if s.strip()]


def x12_text(transaction: str, body: str, prefix: list[str] | None = None) -> str:
    """A whole interchange around `body` (segments separated by ~), with correct counts."""
    version = TABLES[transaction]
    gs01 = "HC" if transaction == "837" else "HP"
    if prefix is None:
        prefix = PREFIX_837 if transaction == "837" else PREFIX_835
    st = f"ST*{transaction}*0001*{version}" if transaction == "837" else f"ST*{transaction}*0001"
    segs = [st] + list(prefix) + _segments(body)
    segs.append(f"SE*{len(segs) + 1}*0001")
    return "\n".join([ISA, f"GS*{gs01}*SUBMITTERID*RECEIVERID*20260301*1200*101*X*{version}~"]
                     + [s + "~" for s in segs] + ["GE*1*101~", "IEA*1*000000101~"]) + "\n"


def walk_text(transaction: str, body: str, prefix: list[str] | None = None) -> list:
    fd, tmp = tempfile.mkstemp(suffix=f".{transaction}")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(x12_text(transaction, body, prefix))
        return walk_file(tmp)
    finally:
        os.unlink(tmp)


def claim_837(body: str, subscriber: str | None = None) -> ClaimContext:
    """One 837P claim: `body` starts at CLM (2300); `subscriber` replaces the default 2000B segments."""
    sub = "~".join(SUBSCRIBER_837) if subscriber is None else subscriber
    found = [c for c in walk_text("837", sub + "~" + body) if isinstance(c, ClaimContext)]
    assert len(found) == 1, f"expected one claim, got {len(found)}"
    return found[0]


def claim_835(body: str) -> ClaimContext:
    found = [c for c in walk_text("835", body) if isinstance(c, ClaimContext)]
    assert len(found) == 1, f"expected one claim, got {len(found)}"
    return found[0]


def transaction_835(body: str, bpr: str = "BPR*I*0*C*NON************20260301") -> TransactionContext:
    """The transaction context of an 835 whose claims and PLBs are `body`, with BPR segment `bpr`."""
    prefix = [bpr] + PREFIX_835[1:]
    found = [c for c in walk_text("835", body, prefix) if isinstance(c, TransactionContext)]
    assert len(found) == 1
    return found[0]
