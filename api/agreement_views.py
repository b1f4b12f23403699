"""Exclusive agreements as the API shows them, and the bodies that create and steer them."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from api.partner_views import CriterionView, MetricsView
from api.views import ApiModel
from models.agreement import (
    AgreementEventKind,
    AgreementKind,
    AgreementStatus,
    ReviewPeriod,
    ScorecardKind,
)
from models.offers import Visibility
from models.partner import ActorKind
from models.program import Tier

AGREEMENT_ID = Field(min_length=1, max_length=200, pattern=r"^[^/\x00-\x1f\x7f]+$")


class StandardsBody(ApiModel):
    min_completion_rate: float | None = Field(default=0.95, ge=0, le=1)
    min_acceptance_rate: float | None = Field(default=None, ge=0, le=1)
    min_rating: float | None = Field(default=None, ge=1, le=5)
    max_cancellation_rate: float | None = Field(default=None, ge=0, le=1)


class RenewalBody(ApiModel):
    auto_renew: bool = True
    max_breaches: int = Field(default=0, ge=0, le=1)
    min_monthly_orders: int | None = Field(default=None, ge=0)


class TermsBody(ApiModel):
    """The terms; `models.agreement.AgreementTerms` checks them as a whole."""

    reseller_team_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/\x00-\x1f\x7f]+$")
    kind: AgreementKind
    offer_id: str = Field(min_length=1, max_length=100)
    zip_codes: list[str] = Field(default_factory=list, max_length=5000)
    min_monthly_orders: int = Field(ge=0)
    standards: StandardsBody = StandardsBody()
    term_months: int = Field(default=12, ge=1, le=120)
    review_period: ReviewPeriod = ReviewPeriod.QUARTERLY
    exclusive_until: AwareDatetime | None = None
    renewal: RenewalBody = RenewalBody()
    cure_period_days: int = Field(default=30, ge=7, le=90)


class CreateAgreementBody(TermsBody):
    agreement_id: str = AGREEMENT_ID
    requested_by: str = Field(default="api", min_length=1, max_length=200)
    request_id: str | None = Field(default=None, max_length=200)


class AmendBody(ApiModel):
    min_monthly_orders: int | None = Field(default=None, ge=0)
    standards: StandardsBody | None = None
    renewal: RenewalBody | None = None
    cure_period_days: int | None = Field(default=None, ge=7, le=90)
    exclusive_until: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=4000)
    requested_by: str = Field(default="api", min_length=1, max_length=200)
    request_id: str | None = Field(default=None, max_length=200)


class TerminateBody(ApiModel):
    reason: str = Field(min_length=1, max_length=4000)
    requested_by: str = Field(default="api", min_length=1, max_length=200)
    request_id: str | None = Field(default=None, max_length=200)


class RenewBody(ApiModel):
    reason: str | None = Field(default=None, max_length=4000)
    requested_by: str = Field(default="api", min_length=1, max_length=200)
    request_id: str | None = Field(default=None, max_length=200)


class OfferBeforeView(ApiModel):
    offer_id: str
    visibility: Visibility
    min_tier: Tier | None
    allowed_resellers: list[str]


class ScorecardView(ApiModel):
    sequence: int
    kind: ScorecardKind
    term_number: int
    period_number: int
    period_start: datetime
    period_end: datetime
    met: bool
    lines: list[CriterionView]
    metrics: MetricsView


class AgreementEventView(ApiModel):
    sequence: int
    at: datetime
    kind: AgreementEventKind
    status: AgreementStatus
    summary: str
    actor: ActorKind
    actor_id: str | None


class AgreementView(ApiModel):
    provider_id: str
    agreement_id: str
    reseller_team_id: str
    status: AgreementStatus
    terms: TermsBody
    pending_terms: TermsBody | None = Field(description="Amended terms, from the next period.")
    term_number: int
    term_start: datetime
    term_end: datetime = Field(description="exclusiveUntil of the current term.")
    next_review_at: datetime
    breaches_in_term: int
    cure_deadline: datetime | None
    renewal_confirmed_by: str | None
    previous_offer: OfferBeforeView | None
    scorecards: list[ScorecardView]
    events: list[AgreementEventView]
    ended_at: datetime | None
    end_reason: str | None


class AgreementListItem(ApiModel):
    agreement_id: str
    reseller_team_id: str
    kind: AgreementKind
    offer_id: str
    status: AgreementStatus
    term_number: int
    term_end: datetime
    breaches_in_term: int
    started_at: datetime
    ended_at: datetime | None
