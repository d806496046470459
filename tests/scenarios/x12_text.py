"""Hand-written X12 for the matching scenarios (issue 14), assembled from segment templates.

Only the envelope is computed (SE01 = segments ST..SE, HL numbers); every business value (ids, dates,
charges, payments, adjustments) is given by the test that uses the text, so the expected values a test
asserts are still written out by hand there.

The original claims are one-line physical-therapy visits (97110) sent to the primary 11111 with the
secondary 22222 in 2320; the 835 pays a line as: charge = paid + CO 45 + PR 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NPI_A = "1234567893"  # Northwind Clinic
NPI_B = "1999999992"  # Southside Therapy (another practice of the same billing company)


@dataclass
class Visit:
    claim_id: str
    date: str  # CCYYMMDD
    charge: str
    last: str = "TESTER"
    first: str = "ALEX"
    member: str = "PRIM123"
    lines: tuple[tuple[str, str], ...] = ()  # (procedure, charge) when not one 97110 line at `charge`


def claim_file(visits: list[Visit], npi: str = NPI_A, sender: str = "SUBMIT01", isa13: str = "000000101") -> str:
    body = [
        "BHT*0019*00*BATCH1*20260401*1200*CH",
        f"NM1*41*2*NORTHWIND BILLING*****46*{sender}",
        "PER*IC*BILLING DESK*TE*5555550100",
        "NM1*40*2*CLEARHOUSE*****46*CLEARHOUSE01",
        "HL*1**20*1",
        "PRV*BI*PXC*225100000X",
        f"NM1*85*2*THERAPY CLINIC*****XX*{npi}",
        "N3*100 MAIN ST",
        "N4*SPRINGFIELD*IL*627010001",
        "REF*EI*123456789",
    ]
    for n, v in enumerate(visits, start=2):
        lines = v.lines or (("97110", v.charge),)
        body += [
            f"HL*{n}*1*22*0",
            "SBR*P*18*GRP100******CI",
            f"NM1*IL*1*{v.last}*{v.first}****MI*{v.member}",
            "N3*1 ELM ST",
            "N4*SPRINGFIELD*IL*62701",
            "DMG*D8*19800101*F",
            "NM1*PR*2*PRIMARY PLAN*****PI*11111",
            f"CLM*{v.claim_id}*{v.charge}***11:B:1*Y*A*Y*Y",
            "HI*ABK:M5450",
            "SBR*S*18*GRP200******CI",
            "OI***Y***Y",
            f"NM1*IL*1*{v.last}*{v.first}****MI*SEC456",
            "NM1*PR*2*SECOND PAYER INC*****PI*22222",
        ]
        for k, (code, charge) in enumerate(lines, start=1):
            body += [f"LX*{k}", f"SV1*HC:{code}*{charge}*UN*1***1", f"DTP*472*D8*{v.date}"]
    return _envelope("HC", "005010X222A1", "837", body, sender, "CLEARHOUSE01", isa13, st03=True)


@dataclass
class Payment:
    claim_id: str
    icn: str
    date: str | None  # service date (DTM*472 on each service); None: the payer sent no dates
    charge: str
    paid: str
    co: str
    pr: str
    last: str = "TESTER"
    first: str = "ALEX"
    status: str = "1"
    services: tuple[tuple[str, str, str, str, str], ...] = ()  # (code, charge, paid, co, pr) when several
    remark: str | None = None  # MOA remark (MA15)
    crossover: tuple[str, str] | None = None  # NM1*TT (name, PI id) of the payer the claim was forwarded to


def remit_file(payments: list[Payment], payee_npi: str = NPI_A, isa13: str = "000000201", check: str = "CHK0001",
               paid_on: str = "20260405", total: str | None = None, payer: tuple[str, str] = ("PRIMARY PLAN", "PRIMPLAN"),
               ) -> str:
    body = [
        f"BPR*I*{total or _sum(p.paid for p in payments)}*C*CHK************{paid_on}",
        f"TRN*1*{check}*1999999999",
        f"DTM*405*{paid_on}",
        f"N1*PR*{payer[0]}",
        "N3*9 PAYER RD",
        "N4*CHICAGO*IL*60601",
        f"REF*2U*{payer[1]}",
        "PER*BL*EDI SUPPORT*TE*8005550199",
        f"N1*PE*THERAPY CLINIC*XX*{payee_npi}",
        "LX*1",
    ]
    for p in payments:
        pr_total = _sum([p.pr] if not p.services else [s[4] for s in p.services])
        body += [f"CLP*{p.claim_id}*{p.status}*{p.charge}*{p.paid}*{pr_total}*12*{p.icn}*11*1",
                 f"NM1*QC*1*{p.last}*{p.first}****MI*PRIM123"]
        if p.crossover:
            body.append(f"NM1*TT*2*{p.crossover[0]}*****PI*{p.crossover[1]}")
        if p.remark:
            body.append(f"MOA***{p.remark}")
        for code, charge, paid, co, pr in p.services or (("97110", p.charge, p.paid, p.co, p.pr),):
            body.append(f"SVC*HC:{code}*{charge}*{paid}**1")
            if p.date:
                body.append(f"DTM*472*{p.date}")
            if co != "0":
                body.append(f"CAS*CO*45*{co}")
            if pr != "0":
                body.append(f"CAS*PR*2*{pr}")
    return _envelope("HP", "005010X221A1", "835", body, "PRIMARYPLAN", "SUBMIT01", isa13, st03=False)


def _sum(values) -> str:
    from decimal import Decimal

    total = sum((Decimal(v) for v in values), Decimal(0))
    return format(total.normalize(), "f")


def _envelope(gs01: str, version: str, st01: str, body: list[str], sender: str, receiver: str, isa13: str,
              st03: bool) -> str:
    isa = (f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*260401*1200*^*00501*{isa13}*0*T*:")
    st = f"ST*{st01}*0001*{version}" if st03 else f"ST*{st01}*0001"
    segs = [isa, f"GS*{gs01}*{sender}*{receiver}*20260401*1200*{int(isa13)}*X*{version}", st, *body,
            f"SE*{len(body) + 2}*0001", f"GE*1*{int(isa13)}", f"IEA*1*{isa13}"]
    return "~\n".join(segs) + "~\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
