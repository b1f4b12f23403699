"""What the agreement workflow writes to the program database, and what it reads back."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from models.agreement import (
    AgreementEvent,
    AgreementKind,
    AgreementStatus,
    AgreementTerms,
    OfferSnapshot,
    Scorecard,
)
from models.program import Frozen


class AgreementRef(Frozen):
    provider_id: str
    agreement_id: str
    agreement_uid: str


class ExclusiveGrant(AgreementRef):
    """Claim the offer (and ZIP codes) for the partner and make the offer `selected` for it."""

    workflow_id: str
    terms: AgreementTerms
    starts_at: AwareDatetime
    term_end: AwareDatetime


class GrantResult(Frozen):
    provider_name: str
    reseller_name: str
    previous_offer: OfferSnapshot = Field(description="The offer before the exclusive.")
    already_granted: bool = Field(description="True when a retry found the grant already made.")


class ExclusiveRelease(AgreementRef):
    """Give the offer its previous visibility back and release the agreement's claims."""

    status: AgreementStatus
    reason: str
    at: AwareDatetime


class ReleaseResult(Frozen):
    restored_visibility: str | None = Field(
        description="The visibility the offer got back; None when it was already released."
    )


class AgreementMetricsRequest(Frozen):
    """The partner's orders of the agreement's offer (and, regional, its ZIP codes) in a window."""

    provider_id: str
    reseller_team_id: str
    offer_id: str
    zip_codes: list[str] = Field(default_factory=list)
    window_start: AwareDatetime
    window_end: AwareDatetime


class ScorecardRecord(AgreementRef):
    reseller_team_id: str
    idempotency_key: str
    scorecard: Scorecard


class AgreementEventRecord(AgreementRef):
    """An event, and the agreement's row as it stands after it."""

    idempotency_key: str
    event: AgreementEvent
    terms: AgreementTerms
    term_number: int
    term_end: AwareDatetime
    breaches_in_term: int


class PartnerListing(Frozen):
    on_preferred_list: bool
    status: str | None = None


class HeldExclusive(Frozen):
    """One agreement in force that a partner holds, and the offer it makes `selected`."""

    workflow_id: str
    agreement_id: str
    kind: AgreementKind
    offer_id: str


class PartnerExclusives(Frozen):
    """A partner's agreements that are still in force.

    `workflow_ids` lists them all; `agreements` says which offer each holds (histories
    recorded before it was added have only the IDs, so both stay).
    """

    workflow_ids: list[str] = Field(default_factory=list)
    agreements: list[HeldExclusive] = Field(default_factory=list)
