"""The states of `cob run` (cob/run/states.py): the transition tables, the stored values, and the order in
which a run moves inputs, outputs, claims and the batch through them (also across a crash)."""

from __future__ import annotations

import signal

import pytest

from cob.run.report import Disposition, InputDisposition
from cob.run.state import input_state
from cob.run.states import (DECISIONS, BatchState, Batches, Claims, ClaimState, IllegalTransition, InputState,
                            Inputs, Outputs, OutputState, Verb)
from cob.schemas.report import OutcomeStatus

from .conftest import NOW

#: every allowed transition, written out: machine -> verb -> (states it leaves, state it reaches)
TABLE = {
    Inputs: {"record": ({"new"}, "ingested"), "mark_duplicate": ({"new"}, "duplicate"),
             "reject": ({"new"}, "rejected"), "archive": ({"ingested", "duplicate"}, "archived"),
             "quarantine": ({"rejected"}, "quarantined")},
    Outputs: {"stage": ({"written"}, "staged"), "discard": ({"written"}, "discarded"),
              "publish": ({"staged"}, "published")},
    Claims: {
        "mark_dirty": ({"new", "dirty", "billed", "skipped", "held", "rejected"}, "dirty"),
        "bill": ({"dirty"}, "billed"), "skip": ({"dirty"}, "skipped"), "hold": ({"dirty"}, "held"),
        "reject": ({"dirty"}, "rejected")},
    Batches: {"open": ({"new"}, "open"), "join": ({"open"}, "open"), "close": ({"open"}, "closed")},
}
FAMILIES = {Inputs: InputState, Outputs: OutputState, Claims: ClaimState, Batches: BatchState}


@pytest.mark.parametrize("machine", list(TABLE), ids=lambda m: m.family)
def test_every_allowed_transition_and_every_illegal_one(machine):
    """Each verb leads from exactly the states of the table to its target; from any other state of the
    family it raises IllegalTransition naming the thing, the verb and the state."""
    assert {v.name: ({str(s) for s in v.sources}, str(v.target)) for v in machine.verbs()} == TABLE[machine]
    states = list(FAMILIES[machine])
    for verb in machine.verbs():
        sources, target = TABLE[machine][verb.name]
        for state in states:
            if state.value in sources:
                assert verb(state, "X1") == target
            else:
                with pytest.raises(IllegalTransition) as err:
                    verb(state, "X1")
                assert str(err.value).startswith(f"{machine.family} X1: cannot {verb.name} from {state.value} (")


def test_every_state_is_reached_or_is_a_start():
    for machine, family in FAMILIES.items():
        reached = {str(v.target) for v in machine.verbs()}
        assert {s.value for s in family} - reached == {"new" if family is not OutputState else "written"}


def test_claim_states_are_the_outcome_statuses_plus_new_and_dirty():
    """The claim's standing stores its last decision's OutcomeStatus: the same four values, one verb each."""
    assert {s.value for s in ClaimState} == {"new", "dirty"} | {s.value for s in OutcomeStatus}
    assert set(DECISIONS) == set(OutcomeStatus)
    assert {s.value: v.name for s, v in DECISIONS.items()} == {"billed": "bill", "skipped": "skip",
                                                               "held": "hold", "rejected": "reject"}
    assert all(DECISIONS[s](ClaimState.DIRTY) == s.value for s in OutcomeStatus)


def test_stored_values_are_those_of_migration_1():
    """inputs.status holds the state an input's first verb gave it ('ingested' is also in the partial unique
    index of migration 1), moved = 1 its archive or quarantine. Changing these needs a migration."""
    assert input_state("ingested", False) is InputState.INGESTED
    assert input_state("duplicate", False) is InputState.DUPLICATE
    assert input_state("rejected", False) is InputState.REJECTED
    assert input_state("ingested", True) is InputState.ARCHIVED
    assert input_state("duplicate", True) is InputState.ARCHIVED
    assert input_state("rejected", True) is InputState.QUARANTINED
    assert [Inputs.move(s).name for s in (InputState.INGESTED, InputState.DUPLICATE, InputState.REJECTED)] == \
        ["archive", "archive", "quarantine"]


def test_report_disposition_of_each_recorded_state():
    """The report's words are unchanged: archived (ingested now), carried_over, duplicate, rejected."""
    assert Disposition.of(InputState.INGESTED) == "archived"
    assert Disposition.of(InputState.INGESTED, carried_over=True) == "carried_over"
    assert Disposition.of(InputState.DUPLICATE) == "duplicate"
    assert Disposition.of(InputState.REJECTED, carried_over=True) == "rejected"
    row = InputDisposition(file="a.837", disposition=Disposition.of(InputState.INGESTED))
    assert '"disposition":"archived"' in row.model_dump_json()


def test_state_refuses_illegal_transitions(make_site, sample_set):
    """The state database applies the verbs: a rejected input cannot be archived, a published output cannot
    be published again, no batch can be closed when none is open; nothing is written when refused."""
    site = make_site()
    site.drop(sample_set, "claims-0001.837")
    (site.inbox / "broken.837").write_text("not x12")
    site.run()
    state = site.state()
    try:
        assert state.unmoved_inputs() == [] and state.pending_outputs() == []
        assert state.batch_time() is None
        with pytest.raises(IllegalTransition, match="batch: cannot close from new"):
            with state.transaction():
                state.close_batch(NOW)
        with state.transaction():
            state.add_input(Inputs.reject, sha256=None, name="bad.835", size=None, kind=None, reason="r",
                            now=NOW, run_id=1, inbox_path="/in/bad.835", dest_path="/rejected/bad.835")
        (row,) = state.unmoved_inputs()
        assert row.state is InputState.REJECTED
        with pytest.raises(IllegalTransition, match="input bad.835: cannot archive from rejected"):
            state.move_input(row, Inputs.archive)
        assert [r.state for r in state.unmoved_inputs()] == [InputState.REJECTED]
        refused = r"input x.835: cannot archive from new \(archive leaves only duplicate, ingested\)"
        with pytest.raises(IllegalTransition, match=refused):
            state.add_input(Inputs.archive, sha256=None, name="x.835", size=None, kind=None, reason=None,
                            now=NOW, run_id=1, inbox_path="/in/x.835", dest_path="/archive/x.835")
        state.move_input(row, Inputs.quarantine)
        assert row.state is InputState.QUARANTINED and state.unmoved_inputs() == []
        with state.transaction():
            state.stage_output(sender="ZZ:S", isa13=99, payer_id="P", path="P-99.837", tmp_path=".P-99.837.tmp",
                               claims=1, now=NOW, run_id=1)
        (out,) = state.pending_outputs()
        state.publish_output(out)
        assert out.state is OutputState.PUBLISHED and state.pending_outputs() == []
        with pytest.raises(IllegalTransition, match="output P-99.837: cannot publish from published"):
            state.publish_output(out)
    finally:
        state.close()


# -------------------------------------------------------------------------------------- what a run goes through


@pytest.fixture
def transitions(monkeypatch) -> list[tuple[str, str, str, str, str]]:
    """Every transition the code under test applies: (family, verb, from, to, subject), in order."""
    seen: list[tuple[str, str, str, str, str]] = []
    original = Verb.__call__

    def recording(self, current, subject=""):
        target = original(self, current, subject)
        seen.append((self.family, self.name, current.value, target.value, subject))
        return target

    monkeypatch.setattr(Verb, "__call__", recording)
    return seen


def _of(seen, subject: str) -> list[tuple[str, str, str]]:
    return [(verb, old, new) for family, verb, old, new, s in seen if s == subject and family in ("input", "output")]


#: the step of a run each verb belongs to: ingest, the billing commit, publish, move inputs
PHASE = {("input", "record"): 1, ("input", "mark_duplicate"): 1, ("input", "reject"): 1, ("batch", "open"): 1,
         ("batch", "join"): 1, ("output", "stage"): 2, ("claim", "bill"): 2, ("claim", "skip"): 2,
         ("claim", "hold"): 2, ("claim", "reject"): 2, ("batch", "close"): 2, ("output", "publish"): 3,
         ("input", "archive"): 4, ("input", "quarantine"): 4}


def test_a_run_moves_each_thing_through_its_states_in_order(make_site, sample_set, transitions):
    """An ingested file is recorded then archived, a duplicate marked then archived, a malformed file
    rejected then quarantined; each output staged then published; the batch opened by the first recorded
    input, joined by the others and closed by the billing commit, which decides every claim; and the steps
    come in the runner's order (ingest, billing commit, publish, move)."""
    site = make_site()
    names = site.drop(sample_set)
    (site.inbox / "zz-again.835").write_bytes((sample_set / "remit-0002.835").read_bytes())
    (site.inbox / "broken.837").write_text((sample_set / "claims-0001.837").read_text()[:3000])
    result = site.run()
    for name in names:
        assert _of(transitions, name) == [("record", "new", "ingested"), ("archive", "ingested", "archived")]
    assert _of(transitions, "zz-again.835") == [("mark_duplicate", "new", "duplicate"),
                                                ("archive", "duplicate", "archived")]
    assert _of(transitions, "broken.837") == [("reject", "new", "rejected"),
                                              ("quarantine", "rejected", "quarantined")]
    outputs = [o.file for o in result.report.run.outputs]
    assert len(outputs) == 7
    for name in outputs:
        assert _of(transitions, name) == [("stage", "written", "staged"), ("publish", "staged", "published")]
    batch = [(verb, old, new) for family, verb, old, new, _s in transitions if family == "batch"]
    assert batch == [("open", "new", "open")] + [("join", "open", "open")] * 9 + [("close", "open", "closed")]
    claims = [(verb, old, new) for family, verb, old, new, _s in transitions if family == "claim"]
    s = result.report.summary
    assert sorted(claims) == sorted([("bill", "dirty", "billed")] * s.billed + [("hold", "dirty", "held")] * s.held
                                    + [("skip", "dirty", "skipped")] * s.skipped)
    assert (s.billed, s.held, s.skipped, s.rejected) == (21, 1, 2, 0)
    phases = [PHASE[(family, verb)] for family, verb, *_ in transitions]
    assert phases == sorted(phases) and set(phases) == {1, 2, 3, 4}
    assert len(transitions) == 2 * 12 + 2 * 7 + 11 + 24


def test_a_later_duplicate_touches_nothing_else(make_site, sample_set, transitions):
    site = make_site()
    site.drop(sample_set)
    site.run()
    transitions.clear()
    site.drop(sample_set, "remit-0001.835")
    site.run()
    assert transitions == [("input", "mark_duplicate", "new", "duplicate", "remit-0001.835"),
                           ("input", "archive", "duplicate", "archived", "remit-0001.835")]


def test_a_crash_between_the_billing_commit_and_publishing(make_site, sample_set, transitions):
    """Killed right after the billing commit: every output is staged (committed, not renamed, invisible in
    the outbox) and every input ingested but unmoved. The next run starts by publishing the staged outputs,
    then archives the inputs, and decides nothing again; the outbox equals an uninterrupted run's."""
    ref = make_site("reference")
    ref.drop(sample_set)
    assert ref.run_forked({"COB_FAULT_TRACE": str(ref.root / "trace")}) == 0
    trace = (ref.root / "trace").read_text().splitlines()
    step = next(int(line.split(" ", 1)[0]) for line in trace if line.split(" ", 1)[1] == "batch committed")
    site = make_site("crash")
    names = site.drop(sample_set)
    assert site.run_forked({"COB_FAULT_AFTER": str(step)}) == -signal.SIGKILL
    state = site.state()
    try:
        staged = state.pending_outputs()
        unmoved = state.unmoved_inputs()
        assert state.batch_time() is None and state.counts()["dirty"] == 0
    finally:
        state.close()
    assert len(staged) == 7 and {o.state for o in staged} == {OutputState.STAGED}
    assert [p for p in site.outbox_files() if not p.startswith(".")] == []
    assert [r.name for r in unmoved] == names and {r.state for r in unmoved} == {InputState.INGESTED}
    transitions.clear()
    rerun = site.run()
    publishes = [("output", "publish", "staged", "published", o.path) for o in staged]
    archives = [("input", "archive", "ingested", "archived", n) for n in names]
    assert transitions == publishes + archives
    assert rerun.report.run.recovered_outputs == [o.path for o in staged]
    assert [d.disposition for d in rerun.report.run.inputs] == ["carried_over"] * len(names)
    assert site.outbox_files() == ref.outbox_files()
