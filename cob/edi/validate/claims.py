"""The validator's claim collection: where claims, HL levels and 835 groups begin and end, the segments
each claim's rules see (SNIP 3-5, as a `ClaimContext`), the HL and LX counters."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from . import claim_view, snip3, snip4, snip5
from .context import ClaimContext
from .findings import Finding
from .report import mask_segment


class ClaimCollection:
    """`Validator` methods that collect each claim's segments and run its rules when it closes."""

    def _claim_event(self, seg_id: str, elements: list[str]) -> None:
        """Where a claim (or an HL level, an 835 LX group, the PLB trailer) begins or ends."""
        if seg_id == "CLM" or seg_id == "CLP":
            self._close_claim()
            self.claim_id = elements[1] if len(elements) > 1 else None
            if self.claim_ids is not None and self.claim_id:
                self.claim_ids.note(self.seg_no, seg_id, self.claim_id)  # `repeats`: ids seen twice
            self.result.claims += 1
            self.claims_in_set += 1
            if self.rules:
                self.claim = []
                self.claim_unplaced = None
        elif seg_id == "HL":
            self._close_claim()
            self.claim_id = None
            self._hl(elements)
        elif seg_id == "LX" and self.transaction == "835" or seg_id == "PLB":
            self._close_claim()
            self.claim_id = None

    def _counter_event(self, seg_id: str, elements: list[str], loop_id: str) -> None:
        """The 837 service line counter (LX01 runs 1, 2, ... within each claim)."""
        if self.transaction != "837":
            return
        if seg_id == "LX":
            self.lx_count += 1
            if (elements[1] if len(elements) > 1 else "") != str(self.lx_count):
                self.add(1, "lx_sequence", f"LX01 should be {self.lx_count} (service lines are numbered from 1)",
                         segment_id="LX", loop=loop_id, element="LX01", element_pos=1, ik3="8", ik4="I12")
        elif seg_id == "CLM":
            self.lx_count = 0

    def _collect(self, item: tuple, seg_id: str, elements: list[str]) -> None:
        """A segment outside any claim: the claim's context (837), the header or trailer (835)."""
        loop_id = item[0]
        if self.transaction == "999":
            return  # no claim-level rules for acknowledgments
        if self.transaction == "837":
            if seg_id == "HL":
                if loop_id == "2000B":
                    self.context = [item]
                    self.sub_len = 0
                    self.collect_context = True
                elif loop_id == "2000C" and self.collect_context:
                    if not self.sub_len:
                        self.sub_len = len(self.context)
                    del self.context[self.sub_len:]
                    self.context.append(item)
                else:
                    self.collect_context = False
                    self.context = []
            elif self.collect_context:
                self.context.append(item)
            elif 5 in self.snip and seg_id in snip5.SEGMENT_IDS:
                self._segment_codes(loop_id, elements)
        else:
            if seg_id == "PLB":
                self.trailer.append((loop_id, elements, item[2], item[3]))
            elif self.claims_in_set == 0:
                self.header.append((loop_id, elements, item[2], item[3]))
                if seg_id == "BPR" and len(elements) > 16:
                    self.payment_date = elements[16] or None
                if 5 in self.snip and seg_id in snip5.SEGMENT_IDS:
                    self._segment_codes(loop_id, elements)

    def _segment_codes(self, loop_id: str, elements: list[str]) -> None:
        """SNIP 5 code checks of a segment outside claims. Its text is given explicitly: on the fast path
        `_cur_elements` still holds the last segment that went the long way."""
        for code, message, pos, comp_pos, severity, ik4 in snip5.check_segment(
                loop_id, elements, self.delims.component):
            self.add(5, code, message, segment_id=elements[0], loop=loop_id, element_pos=pos,
                     component_pos=comp_pos, severity=severity, ik3="8" if ik4 else None, ik4=ik4,
                     element=f"{elements[0]}{pos:02d}" if pos else None,
                     segment_text=mask_segment(elements, self.delims.component, self.show_values))

    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = None
        unplaced, self.claim_unplaced = self.claim_unplaced, None
        if self.transaction == "835" and self.clp_total is not None:
            clp = claim[0][1] if claim else None
            try:
                self.clp_total += Decimal(clp[4]) if clp is not None and len(clp) > 4 and clp[4] else 0
            except (InvalidOperation, ValueError):
                self.clp_total = None
        segments = (self.context + claim) if self.transaction == "837" else claim
        d = self.delims
        if self.rule_pool is not None and self.rule_pool.idle(self.rule_pool.CLAIM_IDLE_UNITS):
            self.rule_pool.add(self, segments, unplaced)  # the rules process has time for it
            return
        ctx = ClaimContext(
            file=self.name, transaction=self.transaction, claim_id=self.claim_id, segments=segments,
            component_sep=d.component, repetition_sep=d.repetition,
            isa_control=self.isa.isa13 if self.isa else None, gs_control=self.gs.gs06 if self.gs else None,
            st_control=self.st.st02 if self.st else None, payment_date=self.payment_date, unplaced=unplaced)
        for f in run_claim_rules(ctx, self.snip, self.show_values):
            self._file(f, "st")

    def _hl(self, elements: list[str]) -> None:
        self._hl_child(elements)
        self.hl_count += 1
        hl01 = elements[1] if len(elements) > 1 else ""
        if hl01 != str(self.hl_count):
            self.add(1, "hl_sequence", f"HL01 should be {self.hl_count} (HL segments are numbered from 1)",
                     segment_id="HL", element="HL01", element_pos=1, ik3="8", ik4="I12")
        parent = elements[2] if len(elements) > 2 else ""
        if parent:
            try:
                p = int(parent)
            except ValueError:
                p = -1
            # the stack is sorted (only the newest HL number is ever pushed), and HLs without a parent
            # (2000A) pile up on it in a big set: bisect rather than scan for the parent
            stack = self.hl_stack
            i = bisect_left(stack, p)
            if i < len(stack) and stack[i] == p:
                del stack[i + 1:]
            else:
                self.add(1, "hl_parent", "HL02 does not name an open parent HL", segment_id="HL",
                         element="HL02", element_pos=2, ik3="8", ik4="I12")
                stack.clear()
        self.hl_stack.append(self.hl_count)
        if 4 in self.snip:
            hl04 = elements[4] if len(elements) > 4 else ""
            self.hl_last = (elements[1] if len(elements) > 1 else "", hl04, self.seg_no, self.st_count)

    def _reported(self, seg_no: int, element: str) -> bool:
        """A finding on `element` of segment `seg_no` is filed already (looked up only to report)."""
        for f in reversed(self.result.findings):
            if f.segment_no is not None and f.segment_no < seg_no:
                return False
            if f.segment_no == seg_no and f.element == element:
                return True
        return False

    def _hl_child(self, elements: list[str] | None) -> None:
        """HL04 of the previous HL against this one (None: the set ends): HLs come parent first, so an HL
        whose HL04 says 1 (a child follows) must be the parent of the very next HL, and one that says 0
        must not be (SNIP 4, at the previous HL)."""
        last = self.hl_last
        if last is None:
            return
        self.hl_last = None
        hl01, hl04, seg_no, st_no = last
        if hl04 not in ("0", "1") or self._reported(seg_no, "HL04"):
            return  # a value the IG does not allow at that level is reported as such: one finding per cause
        parent = (elements[2] if len(elements) > 2 else "") if elements is not None else None
        if hl04 == "1" and parent != hl01:
            after = f"HL {elements[1] if len(elements) > 1 else ''} that follows has parent {parent or '(none)'}" \
                if elements is not None else "the transaction set ends"
            self.add(4, "hl_child_code", f"HL04 of HL {hl01} says 1 (a child level follows) but {after}",
                     segment_id="HL", element="HL04", element_pos=4, seg_no=seg_no, st_no=st_no, ik3="8",
                     ik4="I12")
        elif hl04 == "0" and parent == hl01:
            self.add(4, "hl_child_code", f"HL04 of HL {hl01} says 0 (no child level) but HL "
                     f"{elements[1] if len(elements) > 1 else ''} that follows is its child", segment_id="HL",
                     element="HL04", element_pos=4, seg_no=seg_no, st_no=st_no, ik3="8", ik4="I12")


#: the SNIP types of the COB rule book that `cob validate` asks it for (its SNIP 2 rule, the IG's repeat
#: limits, is the IG walk's `loop_repeat` here)
_BOOK_SNIP = frozenset({3, 4})


def run_claim_rules(ctx: ClaimContext, snip: frozenset[int], show_values: bool = False) -> list[Finding]:
    """SNIP 3-5 over one claim; findings get their segment's text with patient values masked. An 837P's
    SNIP 3 and 4 are the COB rule book's, asked once for both."""
    if 3 in snip and ctx.unplaced is not None:
        snip3.not_balanced(ctx)  # a sum over the segments that were placed would be false
        snip = snip - {3}
    if ctx.transaction == "837":
        cob = snip & _BOOK_SNIP
        if cob:
            claim_view.check_claim(ctx, cob)
        if 4 in snip:
            snip4.check_837(ctx)
    else:
        if 3 in snip:
            snip3.check_claim(ctx)
        if 4 in snip:
            snip4.check_claim(ctx)
    if 5 in snip:
        snip5.check_claim(ctx)
    if not ctx.findings:
        return []
    by_no = {item[2]: item[1] for item in ctx.segments}
    out = []
    for f in ctx.findings:
        elements = by_no.get(f.segment_no)
        if elements is not None and f.segment_text is None:
            f = replace(f, segment_text=mask_segment(elements, ctx.component_sep, show_values))
        out.append(f)
    return out
