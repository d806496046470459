"""The short cuts of the billing path give what the long way gives.

`merge_cas` hands back segments that merging would not change, the pre-write check's CAS view stops at the
last trio used (the rule book's CAS rules over it agree with walking every slot), and remit payloads and
payment headers are compressed against their file's first. Each is checked here against the long way.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from cob.edi.reader import read_remittance
from cob.billing import build, checks
from cob.billing.consolidate import HeaderStore, RemitIndex
from cob.schemas.codes import CasGroup
from cob.schemas.remit import ClaimPayment
from cob.schemas.segments import CAS

from test_consolidate_match import PAYMENT, remit

D = Decimal
REASONS = [None, "45", "1", "2", "45", ""]
AMOUNTS = [None, D("0"), D("10.5"), D("-3"), D("0.00"), D("7")]


def _random_cas(rng: random.Random, group: CasGroup) -> CAS | None:
    data: dict = {"group": group}
    for i in range(1, 7):
        reason = rng.choice(REASONS) if i == 1 or rng.random() < 0.5 else None
        amount = rng.choice(AMOUNTS)
        quantity = D("1") if rng.random() < 0.2 else None
        if i == 1:
            reason, amount = reason or "45", amount if amount is not None else D("5")
        for key, value in ((f"reason{i}", reason), (f"amount{i}", amount), (f"quantity{i}", quantity)):
            if value is not None:
                data[key] = value
    try:
        return CAS.model_validate(data)
    except ValueError:
        return None


def _random_segments(rng: random.Random) -> list[CAS]:
    groups = [CasGroup.CONTRACTUAL, CasGroup.PATIENT, CasGroup.CONTRACTUAL, CasGroup.OTHER]
    return [c for g in rng.sample(groups, rng.randint(0, 3)) if (c := _random_cas(rng, g)) is not None]


def _merged_the_long_way(segments: list[CAS]):
    saved = build._merged_already
    build._merged_already = lambda _segments: False
    try:
        return build.merge_cas(segments, "here")
    except (build.CannotBuild, TypeError) as exc:
        return type(exc)
    finally:
        build._merged_already = saved


def test_merge_cas_gives_back_only_what_merging_would_not_change():
    rng = random.Random(5)
    taken = 0
    for _ in range(20_000):
        segments = _random_segments(rng)
        if build._merged_already(segments):
            taken += 1
            merged = _merged_the_long_way(segments)
            assert merged == segments
            assert [c.model_dump_json() for c in merged] == [c.model_dump_json() for c in segments]
    assert 1_000 < taken < 20_000  # both ways were taken


def _sound_the_long_way(adjustments: list[CAS]) -> bool:
    if len(adjustments) > 1 and len({cas.group for cas in adjustments}) < len(adjustments):
        return False
    for cas in adjustments:
        for reason, amount, quantity in cas.slots():
            if (reason and amount is None) or (not reason and (amount is not None or quantity is not None)):
                return False
    return True


def test_cas_view_keeps_every_used_slot():
    """The model adapter hands the rule book a CAS's trios up to the last one used (one look for the
    usual single trio); padded back to six they are the model's slots."""
    rng = random.Random(7)
    lengths = set()
    made = [CAS.build("CO", [("45", D("80"))]), CAS.build("PR", [("1", D("10")), ("2", D("4"), D("1"))]),
            CAS.build("PR", [("1", D("10"))]).model_copy(update={"quantity3": D("2")})]
    for _ in range(20_000):
        for cas in _random_segments(rng) + made:
            view = checks._cas(cas)
            n = len(view.reasons)
            lengths.add(n)
            assert len(view.amounts) == len(view.quantities) == n
            padded = [(view.reasons[i] or None, view.amounts[i], view.quantities[i]) for i in range(n)]
            padded += [(None, None, False)] * (6 - n)
            assert padded == [(r or None, a, q is not None) for r, a, q in cas.slots()], cas
            assert view.group == cas.group.value and view.at is cas
    assert {1, 6} <= lengths and len(lengths) > 2


def test_book_cas_rules_agree_with_walking_every_slot():
    """The rule book's CAS rules over the view of many random CAS lists find something exactly when the
    long way over the models' six slots does (every slot walked, every group counted)."""
    from cob.rules import book
    from cob.rules.view import LineAdjudicationView

    rng = random.Random(7)
    verdicts = set()
    for _ in range(20_000):
        segments = _random_segments(rng)
        adj = LineAdjudicationView("11111", D(0), "1", None)
        adj.cas = [checks._cas(cas) for cas in segments]
        out: list = []
        book._cas_rules(adj.cas, adj, None, out)
        verdict = not out
        assert verdict == _sound_the_long_way(segments), segments
        verdicts.add(verdict)
    assert verdicts == {True, False}


def test_payments_and_headers_come_back_as_read(tmp_path: Path):
    first = remit(tmp_path, "a.835", "20260301", PAYMENT + ["CLP*PCN124*1*90*50*40*12*ICN5", "CAS*PR*1*40"])
    second = remit(tmp_path, "b.835", "20260302", ["CLP*PCN125*1*60*60*0*12*ICN6"])
    index = RemitIndex()
    read = {}
    for path in (first, second):
        payments = [p for p in read_remittance(path) if isinstance(p, ClaimPayment)]
        index.add_file(str(path), payments)
        read.update((p.claim_id, p) for p in payments)
    assert len(index.headers) == 2
    for claim_id, payment in read.items():
        (record,) = index.records[claim_id]
        back = record.payment(index.headers)
        assert back == payment
        assert back.model_dump_json() == payment.model_dump_json()


def test_header_store_keeps_a_missing_header_as_none():
    store = HeaderStore()
    store.add_file([None])
    assert len(store) == 1 and store.get(0) is None and store.get(1) is None
