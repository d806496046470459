"""Closed X12 code lists the pipeline reasons about, as enums.

Open or external lists (CARC, RARC, place of service, states) stay strings; the validator checks them.
"""

from __future__ import annotations

from enum import Enum


class CasGroup(str, Enum):
    """CAS01 claim adjustment group code."""

    CONTRACTUAL = "CO"
    CORRECTION = "CR"  # 837 only; removed from the 5010 835
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    PATIENT = "PR"


class ClaimStatus(str, Enum):
    """CLP02 claim status code (835)."""

    PRIMARY = "1"
    SECONDARY = "2"
    TERTIARY = "3"
    DENIED = "4"
    PRIMARY_FORWARDED = "19"
    SECONDARY_FORWARDED = "20"
    TERTIARY_FORWARDED = "21"
    REVERSAL = "22"
    NOT_OUR_CLAIM = "23"
    PREDETERMINATION = "25"


class PayerSequence(str, Enum):
    """SBR01 payer responsibility sequence number code."""

    PRIMARY = "P"
    SECONDARY = "S"
    TERTIARY = "T"
    PAYER_4 = "A"
    PAYER_5 = "B"
    PAYER_6 = "C"
    PAYER_7 = "D"
    PAYER_8 = "E"
    PAYER_9 = "F"
    PAYER_10 = "G"
    PAYER_11 = "H"
    UNKNOWN = "U"

    @classmethod
    def for_rank(cls, rank: int) -> "PayerSequence":
        """1 -> P, 2 -> S, 3 -> T, 4 -> A ... 11 -> H."""
        return _SEQUENCES[rank - 1]

    @property
    def rank(self) -> int:
        return _SEQUENCE_RANKS[self]


#: the sequences in rank order, and each one's rank (listing an Enum's members is slow, and done per claim)
_SEQUENCES: tuple[PayerSequence, ...] = tuple(PayerSequence)
_SEQUENCE_RANKS: dict[PayerSequence, int] = {seq: rank for rank, seq in enumerate(_SEQUENCES, start=1)}


class ClaimFilingIndicator(str, Enum):
    """SBR09 claim filing indicator code (837P)."""

    OTHER_NON_FEDERAL = "11"
    PPO = "12"
    POS = "13"
    EPO = "14"
    INDEMNITY = "15"
    HMO_MEDICARE_RISK = "16"
    DENTAL_MAINTENANCE = "17"
    AUTOMOBILE_MEDICAL = "AM"
    BLUE_CROSS_BLUE_SHIELD = "BL"
    CHAMPUS = "CH"
    COMMERCIAL = "CI"
    DISABILITY = "DS"
    FEDERAL_EMPLOYEES = "FI"
    HMO = "HM"
    LIABILITY_MEDICAL = "LM"
    MEDICARE_PART_A = "MA"
    MEDICARE_PART_B = "MB"
    MEDICAID = "MC"
    OTHER_FEDERAL = "OF"
    TITLE_V = "TV"
    VETERANS_AFFAIRS = "VA"
    WORKERS_COMPENSATION = "WC"
    MUTUALLY_DEFINED = "ZZ"


class MedicareSecondaryType(str, Enum):
    """SBR05 insurance type code: why Medicare is not primary (MSP)."""

    WORKING_AGED = "12"
    ESRD = "13"
    NO_FAULT = "14"
    WORKERS_COMP = "15"
    PUBLIC_HEALTH_SERVICE = "16"
    BLACK_LUNG = "41"
    VETERANS = "42"
    DISABLED_LGHP = "43"
    LIABILITY = "47"


class IndividualRelationship(str, Enum):
    """SBR02 / PAT01 individual relationship code."""

    SPOUSE = "01"
    SELF = "18"
    CHILD = "19"
    EMPLOYEE = "20"
    UNKNOWN = "21"
    ORGAN_DONOR = "39"
    CADAVER_DONOR = "40"
    LIFE_PARTNER = "53"
    OTHER = "G8"
