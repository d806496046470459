"""SNIP type 5 rules: values that must come from external code sets (CARC, RARC, POS, states, NPI, ICD-10-CM).

Entry points:

- `check_claim(ctx)` runs every rule over one claim's segments (`ClaimContext`; 837P or 835) and reports
  through `ctx.finding(5, ...)`.
- `check_segment(loop_id, elements, component_sep)` checks one segment outside claims (837P 1000A/2010AA/
  2010AB, 835 1000A/1000B header): NPIs (NM1 with NM108=XX, N1 with N103=XX) and N4 state codes. It returns
  `(code, message, element_pos, component_pos, severity, ik4)` tuples and records nothing, so the engine
  decides where the finding goes. Call it for segment ids in `SEGMENT_IDS`.

CARC/RARC dates. The code list maintainers define a Stop date as "cannot be used in an *original* 835 dated
after it"; derivative uses (an 835 reversal, CLP02=22; a COB 837 reporting a prior payer's CAS) remain
valid if the original 835 was before the Stop date. So the date a code is judged on is the date of the
remittance that used it:

- 835, original adjudication: BPR16 (`ctx.payment_date`). Without it the service date (2110 DTM*472/150,
  else 2100 DTM*232/233) is used as a lower bound of the 835 date: it can prove a code retired, never
  not yet effective. CLP02=22 (reversal) is derivative: only membership is checked.
- 837P 2430 CAS: that line's DTP*573 (prior payer adjudication date); 2320 CAS and MOA remark codes: the
  2330B DTP*573 of the same payer. Without them the latest 2400 DTP*472 of the line/claim is the lower bound (retired only).

Severity: a retired or not-yet-effective code is an error (the list is authoritative about its own
dates). A code missing from the list (`cob codesets update` regenerates it; its `list_date` says how
current it is) is an error when the remittance date is known and on or before the list date -- the
list knows every code of that day, so this is a typo or an invented code -- and a warning only when
the remittance is newer than the list, or its date is only bounded from below: then it may be a code
issued after the list.
Messages name codes and code-list dates only, never element values of patient segments.
"""

from __future__ import annotations

from datetime import date

from cob.edi import codesets as cs
from cob.edi.codesets import (
    CA_PROVINCES,
    CLAIM_STATUS_CODES,
    FILING_INDICATORS_835,
    FILING_INDICATORS_837,
    GROUP_CODES,
    GROUP_CODES_837,
    US_STATES,
    icd10cm_format_ok,
    npi_check_digit_ok,
    parse_date,
    procedure_code_format_ok,
)

from .context import ClaimContext, LocatedSegment
from .findings import ERROR, WARNING
from . import snip5_institutional
from .claim_view import Claim837, parse_837

SNIP = 5
IK4_CODE = "7"  # invalid code value
IK4_PATTERN = "I12"  # implementation pattern match failure

#: Segment ids `check_segment` looks at.
SEGMENT_IDS = frozenset({"NM1", "N1", "N4"})

_CAS_REASON_POS = (2, 5, 8, 11, 14, 17)
_MOA_RARC_POS = (3, 4, 5, 6, 7)
_MIA_RARC_POS = (5, 20, 21, 22, 23)
_ICD10_QUALS = frozenset({"ABK", "ABF", "ABJ", "APR", "ABN"})  # (the last three: 837I admitting, reason, E-code)
#: CLM05-3 (code source 235, NUBC frequency of bill) values that apply to a professional claim
FREQUENCY_CODES_837P = frozenset({"1", "6", "7", "8"})
_ICD9_QUALS = frozenset({"BK", "BF", "BJ", "PR", "BN"})
#: the ICD-10 compliance date: services on or after it are coded in ICD-10-CM, never ICD-9-CM
ICD10_START = date(2015, 10, 1)

SegmentProblem = tuple[str, str, int, "int | None", str, "str | None"]


def _el(elements: list[str], pos: int) -> str:
    return elements[pos] if pos < len(elements) else ""


# --------------------------------------------------------------------------------------------- segments

def check_segment(loop_id: str, elements: list[str], component_sep: str = ":") -> list[SegmentProblem]:
    """Problems of one NM1 / N1 / N4 segment as (code, message, element_pos, component_pos, severity, ik4).

    Pure: records nothing. `loop_id` is accepted for symmetry and future loop-specific rules.
    """
    sid = elements[0]
    if sid == "NM1":
        if _el(elements, 8) == "XX":
            npi = _el(elements, 9)
            if npi and not npi_check_digit_ok(npi):
                return [_npi_problem(npi, "NM109", 9)]
    elif sid == "N1":
        if _el(elements, 3) == "XX":
            npi = _el(elements, 4)
            if npi and not npi_check_digit_ok(npi):
                return [_npi_problem(npi, "N104", 4)]
    elif sid == "N4":
        state = _el(elements, 2)
        if state:
            country = _el(elements, 4)
            if not country or country == "US":
                if state not in US_STATES:
                    return [("state_invalid", "N402 is not a US state or territory code", 2, None, ERROR,
                             IK4_CODE)]
            elif country == "CA" and state not in CA_PROVINCES:
                return [("state_invalid", "N402 is not a Canadian province code", 2, None, ERROR, IK4_CODE)]
    return []


def _npi_problem(npi: str, element: str, pos: int) -> SegmentProblem:
    """A bad NPI is one of two causes: not ten digits at all (letters, wrong length), or ten digits whose
    check digit fails. Each gets its own finding; the first is never called a check-digit error."""
    if len(npi) != 10 or not npi.isdigit() or not npi.isascii():
        return ("npi_format", f"{element} is not a 10-digit NPI", pos, None, ERROR, IK4_PATTERN)
    return ("npi_check_digit", f"NPI check digit is wrong in {element}", pos, None, ERROR, IK4_PATTERN)


def _report_segment(ctx: ClaimContext, seg: LocatedSegment) -> None:
    for code, msg, pos, comp, sev, ik4 in check_segment(seg[0], seg[1], ctx.component_sep):
        ctx.finding(SNIP, code, msg, seg, element=f"{seg[1][0]}{pos:02d}", element_pos=pos,
                    component_pos=comp, severity=sev, ik4=ik4 if sev == ERROR else None)


# ----------------------------------------------------------------------------------------- CARC / RARC

def _code_date_finding(ctx: ClaimContext, seg: LocatedSegment, kind: str, code: str, pos: int,
                       comp: int | None, on: date | None, exact: bool, check_dates: bool) -> None:
    """Report a CARC ("carc") or RARC ("rarc") that is unknown, retired or not yet effective.

    `exact`: `on` is the remittance date itself (both directions can be judged); otherwise it is a lower
    bound (only "retired" can be proved).
    """
    table = cs.carc_table() if kind == "carc" else cs.rarc_table()
    dates = table.get(code)
    name = kind.upper()
    element = f"{seg[1][0]}{pos:02d}"
    if dates is None:
        listed = cs.list_date(kind)
        if exact and on is not None and listed is not None and on <= listed:
            # the list is newer than the remittance: the code did not exist when it was sent (or a typo)
            ctx.finding(SNIP, f"{kind}_unknown", f"{name} {code} is not in the {name} list of "
                        f"{listed.isoformat()}, which is newer than the remittance ({on.isoformat()})", seg,
                        element=element, element_pos=pos, component_pos=comp, ik4=IK4_CODE)
        else:
            why = (f"the remittance ({on.isoformat()}) is newer than the list" if exact and on is not None
                   else "the remittance date is not known")
            ctx.finding(SNIP, f"{kind}_unknown", f"{name} {code} is not in the {name} list of "
                        f"{listed.isoformat() if listed else '(undated)'}; {why}, so it may be a new code", seg,
                        element=element, element_pos=pos, component_pos=comp, severity=WARNING)
        return
    if not check_dates or on is None:
        return
    start, stop = dates
    if stop is not None and on > stop:
        ctx.finding(SNIP, f"{kind}_retired",
                    f"{name} {code} was deactivated on {stop.isoformat()}, before the remittance date",
                    seg, element=element, element_pos=pos, component_pos=comp, ik4=IK4_CODE)
    elif exact and start is not None and on < start:
        ctx.finding(SNIP, f"{kind}_not_effective",
                    f"{name} {code} starts on {start.isoformat()}, after the remittance date",
                    seg, element=element, element_pos=pos, component_pos=comp, ik4=IK4_CODE)


def _check_cas(ctx: ClaimContext, seg: LocatedSegment, on: date | None, exact: bool, check_dates: bool,
               groups: frozenset[str]) -> None:
    el = seg[1]
    group = _el(el, 1)
    if group and group not in groups:
        ctx.finding(SNIP, "cas_group_invalid", f"CAS01 group code {group} is not CO, PR, OA or PI", seg,
                    element="CAS01", element_pos=1, ik4=IK4_CODE)
    elif group == "CR":
        ctx.finding(SNIP, "cas_group_invalid",
                    "CAS01 group code CR is not used in 5010 remittances; report CO, PR, OA or PI", seg,
                    element="CAS01", element_pos=1, severity=WARNING)
    table = cs.carc_table()
    n = len(el)
    for pos in _CAS_REASON_POS:
        if pos >= n:
            break
        code = el[pos]
        if not code:
            continue
        dates = table.get(code)
        # fast path: known code, and no date to judge or the date inside [start, stop]
        if dates is not None and (on is None or not check_dates or (
                (dates[1] is None or on <= dates[1]) and (not exact or dates[0] is None or on >= dates[0]))):
            continue
        _code_date_finding(ctx, seg, "carc", code, pos, None, on, exact, check_dates)


# ------------------------------------------------------------------------------------------------- 835

def _check_835(ctx: ClaimContext) -> None:
    pay_date = parse_date(ctx.payment_date) if ctx.payment_date else None
    # the service dates only stand in for a missing payment date (BPR16)
    need_dates = pay_date is None
    claim_date: date | None = None
    reversal = False
    # (segment, line index) of the code-bearing segments; line -1 = claim level
    pending: list[tuple[LocatedSegment, int]] = []
    line_dates: list[date | None] = []
    for seg in ctx.segments:
        el = seg[1]
        sid = el[0]
        if sid == "CAS" or sid == "MOA" or sid == "MIA":
            pending.append((seg, len(line_dates) - 1 if seg[0] == "2110" else -1))
        elif sid == "SVC":
            line_dates.append(None)
        elif sid == "LQ":
            if _el(el, 1) == "HE":
                pending.append((seg, len(line_dates) - 1))
        elif sid == "DTM" and need_dates:
            q = _el(el, 1)
            if seg[0] == "2110":
                if q in ("472", "150") and line_dates and line_dates[-1] is None:
                    line_dates[-1] = parse_date(_el(el, 2))
            elif q in ("232", "233") and claim_date is None:
                claim_date = parse_date(_el(el, 2))
        elif sid == "CLP":
            st = _el(el, 2)
            reversal = st == "22"
            if st and st not in CLAIM_STATUS_CODES:
                ctx.finding(SNIP, "claim_status_invalid", f"CLP02 claim status code {st} is not valid", seg,
                            element="CLP02", element_pos=2, ik4=IK4_CODE)
            fi = _el(el, 6)
            if fi and fi not in FILING_INDICATORS_835:
                ctx.finding(SNIP, "filing_indicator_invalid",
                            f"CLP06 claim filing indicator {fi} is not valid in an 835", seg,
                            element="CLP06", element_pos=6, ik4=IK4_CODE)
        elif sid in SEGMENT_IDS:
            _report_segment(ctx, seg)
    if not pending:
        return
    check_dates = not reversal
    for seg, line in pending:
        if pay_date is not None:
            on, exact = pay_date, True
        else:
            on = (line_dates[line] if line >= 0 else None) or claim_date
            exact = False
        el = seg[1]
        sid = el[0]
        if sid == "CAS":
            _check_cas(ctx, seg, on, exact, check_dates, GROUP_CODES)
        elif sid == "LQ":
            code = _el(el, 2)
            if code:
                _code_date_finding(ctx, seg, "rarc", code, 2, None, on, exact, check_dates)
        else:
            n = len(el)
            for pos in (_MOA_RARC_POS if sid == "MOA" else _MIA_RARC_POS):
                if pos < n and el[pos]:
                    _code_date_finding(ctx, seg, "rarc", el[pos], pos, None, on, exact, check_dates)


# ------------------------------------------------------------------------------------------------ 837P

def _check_837(ctx: ClaimContext) -> None:
    c = parse_837(ctx)
    sep = ctx.component_sep
    institutional = c.view.charge_element == "SV203"  # an 837I: its UB-04 codes are snip5_institutional's
    service: list[date | None] | None = None
    for seg in c.coded:
        elements = seg[1]
        sid = elements[0]
        if institutional and sid in snip5_institutional.SEGMENT_IDS:
            snip5_institutional.check(ctx, seg, sep)
            if sid != "HI":
                continue
        if sid == "NM1":
            if len(elements) > 8 and elements[8] == "XX":
                _report_segment(ctx, seg)
        elif sid == "N4":
            if not _n4_sound(elements):
                _report_segment(ctx, seg)
        elif sid == "SBR":
            _check_sbr(ctx, seg)
        elif sid == "SV1":
            _check_sv1(ctx, seg, sep)
        elif sid == "HI":
            if service is None:
                service = [_service_dates(c)[1]]  # the claim's latest service date, read once
            _check_hi(ctx, seg, sep, service[0])
        elif sid == "CLM":
            _check_clm(ctx, seg, sep)
        else:
            _report_segment(ctx, seg)
    if c.view.payers or c.svd_blocks:
        _check_837_cas(ctx, c)


def _n4_sound(elements: list[str]) -> bool:
    """The common N4 that `check_segment` passes: no state, or a US state in the US. Anything else
    (a foreign address, a bad code) goes to `check_segment` itself."""
    state = elements[2] if len(elements) > 2 else ""
    if not state:
        return True
    country = elements[4] if len(elements) > 4 else ""
    return (not country or country == "US") and state in US_STATES


def _check_837_cas(ctx: ClaimContext, c: Claim837) -> None:
    """CAS codes, judged on the payer's adjudication date (DTP*573); without it, the service date of the
    line (2400 DTP*472, a range's end), else the latest of the claim, bounds it from below. The service
    dates are read only when a CAS needs them: 2430s carry their DTP*573."""
    line_dates: list[date | None] | None = None
    latest_service: date | None = None
    for p in c.view.payers:  # (the raw view's locators are the segments)
        if not p.cas:
            continue
        d573 = parse_date(_el(p.date[1], 3)) if p.date is not None else None
        if d573 is None and line_dates is None:
            line_dates, latest_service = _service_dates(c)
        for cas in p.cas:
            _check_cas(ctx, cas.at, d573 or latest_service, d573 is not None, True, GROUP_CODES_837)
    for seg, index in c.moa:  # the prior payer's remark codes, judged on its adjudication date as its CAS
        p = c.view.payers[index]
        d573 = parse_date(_el(p.date[1], 3)) if p.date is not None else None
        if d573 is None and line_dates is None:
            line_dates, latest_service = _service_dates(c)
        el = seg[1]
        for pos in _MOA_RARC_POS:
            if pos < len(el) and el[pos]:
                _code_date_finding(ctx, seg, "rarc", el[pos], pos, None, d573 or latest_service, d573 is not None,
                                   True)
    for block in c.svd_blocks:
        if not block.cas:
            continue
        d573 = parse_date(_el(block.dtp573[1], 3)) if block.dtp573 is not None else None
        on = d573
        if on is None:
            if line_dates is None:
                line_dates, latest_service = _service_dates(c)
            line = block.line
            on = (line_dates[line] if 0 <= line < len(line_dates) else None) or latest_service
        for seg in block.cas:
            _check_cas(ctx, seg, on, d573 is not None, True, GROUP_CODES_837)


def _service_dates(c: Claim837) -> tuple[list[date | None], date | None]:
    """Each line's service date (its 2400 DTP*472; a range's end), and the latest of them; without any, an
    837I's statement period end (2300 DTP*434: an inpatient stay's lines carry no date)."""
    dates = []
    for dtp in c.service_dates:
        if dtp is None:
            dates.append(None)
        else:
            v = _el(dtp[1], 3)
            dates.append(parse_date(v[9:] if len(v) == 17 else v))
    known = [d for d in dates if d is not None]
    if not known and c.statement is not None:
        v = _el(c.statement[1], 3)
        return dates, parse_date(v[9:] if len(v) == 17 else v)
    return dates, (max(known) if known else None)


def _check_sbr(ctx: ClaimContext, seg: LocatedSegment) -> None:
    """SBR09 (claim filing indicator) is an 837P code, in 2000B and in every 2320."""
    fi = _el(seg[1], 9)
    if fi and fi not in FILING_INDICATORS_837:
        ctx.finding(SNIP, "filing_indicator_invalid", f"SBR09 claim filing indicator {fi} is not valid",
                    seg, element="SBR09", element_pos=9, ik4=IK4_CODE)


def _check_clm(ctx: ClaimContext, seg: LocatedSegment, sep: str) -> None:
    """CLM05-3 is a professional frequency code and CLM05-1 a CMS place of service."""
    parts = _el(seg[1], 5).split(sep)
    freq = parts[2] if len(parts) > 2 else ""
    if freq and freq not in FREQUENCY_CODES_837P:
        ctx.finding(SNIP, "frequency_code_invalid", f"CLM05-3 claim frequency code {freq} is not one "
                    "used on professional claims (1 original, 6 corrected, 7 replacement, 8 void)",
                    seg, element="CLM05-03", element_pos=5, component_pos=3, ik4=IK4_CODE)
    pos_code = parts[0]
    if pos_code and not cs.is_place_of_service(pos_code):
        ctx.finding(SNIP, "pos_invalid", f"CLM05-1 place of service {pos_code} is not a CMS POS code",
                    seg, element="CLM05-01", element_pos=5, component_pos=1, ik4=IK4_CODE)


def _check_sv1(ctx: ClaimContext, seg: LocatedSegment, sep: str) -> None:
    el = seg[1]
    proc = _el(el, 1)
    if proc:
        parts = proc.split(sep, 2)
        if parts[0] == "HC" and len(parts) > 1 and parts[1] and not procedure_code_format_ok(parts[1]):
            ctx.finding(SNIP, "procedure_code_format", "SV101-2 is not a 5-character CPT/HCPCS code", seg,
                        element="SV101-02", element_pos=1, component_pos=2, ik4=IK4_PATTERN)
    pos_code = _el(el, 5)
    if pos_code and not cs.is_place_of_service(pos_code):
        ctx.finding(SNIP, "pos_invalid", f"SV105 place of service {pos_code} is not a CMS POS code", seg,
                    element="SV105", element_pos=5, ik4=IK4_CODE)


def _check_hi(ctx: ClaimContext, seg: LocatedSegment, sep: str, service: date | None) -> None:
    """Diagnosis codes by the claim's latest service date (`service`): ICD-10-CM codes must exist in the
    list (`codesets.icd10cm`, loaded on the first HI only) and be billable; ICD-9-CM (BK/BF) is over for
    services from 2015-10-01 on."""
    el = seg[1]
    for pos in range(1, len(el)):
        comp = el[pos]
        if not comp:
            continue
        qual, _, rest = comp.partition(sep)
        code = rest.split(sep, 1)[0] if rest else ""
        if qual in _ICD10_QUALS:
            if not icd10cm_format_ok(code):
                ctx.finding(SNIP, "icd10_format", f"HI{pos:02d}-2 is not an ICD-10-CM code (format)", seg,
                            element=f"HI{pos:02d}-02", element_pos=pos, component_pos=2, ik4=IK4_PATTERN)
            else:
                _check_icd10(ctx, seg, pos, code, service)
        elif qual in _ICD9_QUALS:
            if service is None:
                ctx.finding(SNIP, "icd9_qualifier",
                            f"HI{pos:02d}-1 qualifier {qual} is ICD-9-CM, not used for services from 2015-10-01 on "
                            "(the claim has no service date to tell)", seg, element=f"HI{pos:02d}-01",
                            element_pos=pos, component_pos=1, severity=WARNING)
            elif service >= ICD10_START:
                ctx.finding(SNIP, "icd9_qualifier",
                            f"HI{pos:02d}-1 qualifier {qual} is ICD-9-CM, which may not be used for services from "
                            f"2015-10-01 on (latest service date {service.isoformat()})", seg,
                            element=f"HI{pos:02d}-01", element_pos=pos, component_pos=1, ik4=IK4_CODE)


def _check_icd10(ctx: ClaimContext, seg: LocatedSegment, pos: int, code: str, service: date | None) -> None:
    icd = cs.icd10cm()
    status = icd.status(code)
    if status == cs.OK:
        return
    fy = f"ICD-10-CM FY{icd.fiscal_year}"
    element = f"HI{pos:02d}-02"
    if status == cs.HEADER:
        # before the list's fiscal year the code may still have been billable (codes get subdivided)
        error = service is None or service >= icd.valid_from
        ctx.finding(SNIP, "icd10_header", f"{element} {code} is a header code in {fy} (a category with codes "
                    "under it), not billable: report the code under it", seg, element=element, element_pos=pos,
                    component_pos=2, severity=ERROR if error else WARNING, ik4=IK4_CODE if error else None)
        return
    if service is not None and icd.valid_from <= service <= icd.valid_to:
        ctx.finding(SNIP, "icd10_unknown", f"{element} {code} is not an ICD-10-CM code of {fy}, the year of the "
                    f"service ({service.isoformat()})", seg, element=element, element_pos=pos, component_pos=2,
                    ik4=IK4_CODE)
        return
    if service is None:
        why = "the claim has no service date to tell its year"
    elif service < icd.valid_from:
        why = f"the service ({service.isoformat()}) is older than the list: the code may have been deleted since"
    else:
        why = f"the service ({service.isoformat()}) is newer than the list: the code may be new"
    ctx.finding(SNIP, "icd10_unknown", f"{element} {code} is not in {fy}; {why}", seg, element=element,
                element_pos=pos, component_pos=2, severity=WARNING)


# ---------------------------------------------------------------------------------------------- entry

def check_claim(ctx: ClaimContext) -> None:
    """Run every SNIP 5 rule over one claim; findings go to `ctx.findings`."""
    if ctx.transaction == "835":
        _check_835(ctx)
    else:
        _check_837(ctx)
