"""Models shared by claims and remittances: parties (NM1 loops), envelope facts, source locations."""

from __future__ import annotations

from pydantic import Field
from typing import Optional

from .base import X12Model, Loop
from .segments import DMG, DTP, N3, N4, NM1, PER, PRV, REF


class Party(Loop):
    """An NM1 loop: 1000A/B, 2010AA-AC, 2010BA/BB, 2010CA, 2310A-F, 2330A-G, 2420A-H.

    `loop` names the IG loop, so one model serves every name loop and the writer knows where it goes.
    """

    loop: str
    name: NM1
    address: Optional[N3] = None
    location: Optional[N4] = None
    demographics: Optional[DMG] = None
    provider: Optional[PRV] = None
    dates: list[DTP] = Field(default_factory=list)
    refs: list[REF] = Field(default_factory=list)
    contacts: list[PER] = Field(default_factory=list)

    def loop_id(self) -> str:
        return self.loop

    @property
    def id(self) -> str | None:
        return self.name.id

    def ref(self, qualifier: str) -> str | None:
        for r in self.refs:
            if r.qualifier == qualifier:
                return r.value
        return None

    def date(self, qualifier: str) -> DTP | None:
        for d in self.dates:
            if d.qualifier == qualifier:
                return d
        return None


class Envelope(X12Model):
    """Where a claim or payment came from: interchange, group and transaction set identifiers."""

    file: Optional[str] = None
    sender_qualifier: str = ""
    sender_id: str = ""
    receiver_qualifier: str = ""
    receiver_id: str = ""
    interchange_control_number: str = ""
    usage: str = "P"
    group_sender: str = ""
    group_receiver: str = ""
    group_control_number: str = ""
    version: str = ""
    transaction_control_number: str = ""


class SourceLocation(X12Model):
    """File and segment number of the loop's first segment (for messages that point at the input)."""

    file: Optional[str] = None
    segment_no: Optional[int] = None
    st_segment_no: Optional[int] = None
