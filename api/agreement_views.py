"""Exclusive agreements as the API shows them, and the bodies that create and steer them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from api.partner_views import TEXT, CriterionView
from api.views import ApiModel
from models.agreement import (
    AMENDABLE,
    AgreementEventKind,
    AgreementKind,
    AgreementStatus,
    ReviewPeriod,
    ScorecardKind,
)
from models.metrics import MetricsView
from models.offers import Visibility
from models.partner import ActorKind
from models.program import Text, Tier
from models.wire import PATH_ID_PATTERN, WHOLE, kept

CURE_MAX_DAYS = 90
Count = Annotated[int, Field(ge=0), WHOLE]
CureDays = Annotated[int, Field(ge=7, le=CURE_MAX_DAYS), WHOLE]
AGREEMENT_ID = Field(min_length=1, max_length=200, pattern=PATH_ID_PATTERN)


class StandardsBody(ApiModel):
    min_completion_rate: float | None = Field(default=0.95, ge=0, le=1)
    min_acceptance_rate: float | None = Field(default=None, ge=0, le=1)
    min_rating: float | None = Field(default=None, ge=1, le=5)
    max_cancellation_rate: float | None = Field(default=None, ge=0, le=1)


class RenewalBody(ApiModel):
    auto_renew: bool = True
    max_breaches: Annotated[int, Field(ge=0, le=1), WHOLE] = 0
    min_monthly_orders: Count | None = None


def _annual(then: JsonDict, otherwise: JsonDict) -> JsonDict:
    annual: JsonDict = {
        "properties": {"reviewPeriod": {"const": ReviewPeriod.ANNUALLY.value}},
        "required": ["reviewPeriod"],
    }
    return {"if": annual, "then": then, "else": otherwise}


def _terms(months: int) -> JsonDict:
    return {
        "properties": {
            "termMonths": {"multipleOf": months},
            "curePeriodDays": {"maximum": min(CURE_MAX_DAYS, months * 28 - 1)},
        }
    }


def _zip_codes(kind: AgreementKind, rule: JsonDict, *, required: bool) -> JsonDict:
    then: JsonDict = {"properties": {"zipCodes": rule}}
    if required:
        then["required"] = ["zipCodes"]
    return {"if": {"properties": {"kind": {"const": kind.value}}}, "then": then}


TERMS_RULES: JsonDict = {
    "allOf": [
        _annual(_terms(ReviewPeriod.ANNUALLY.months), _terms(ReviewPeriod.QUARTERLY.months)),
        _zip_codes(AgreementKind.REGIONAL, {"minItems": 1}, required=True),
        _zip_codes(AgreementKind.SERVICE, {"maxItems": 0}, required=False),
    ]
}
"""What AgreementTerms checks across fields, stated in the OpenAPI document: a term is whole
review periods, the cure period ends before the next review, a regional exclusive has ZIP
codes and a service exclusive none."""


class TermsBody(ApiModel):
    """The terms; `models.agreement.AgreementTerms` checks them as a whole."""

    model_config = ApiModel.model_config | ConfigDict(json_schema_extra=TERMS_RULES)

    reseller_team_id: str = Field(min_length=1, max_length=200, pattern=PATH_ID_PATTERN)
    kind: AgreementKind
    offer_id: Text = Field(min_length=1, max_length=100)
    zip_codes: list[Annotated[str, Field(json_schema_extra={"pattern": r"^\s*[0-9]{5}\s*$"})]] = (
        Field(default_factory=list, max_length=5000)
    )
    min_monthly_orders: Count
    standards: StandardsBody = StandardsBody()
    term_months: Annotated[int, Field(ge=1, le=120), WHOLE] = 12
    review_period: ReviewPeriod = ReviewPeriod.QUARTERLY
    exclusive_until: AwareDatetime | None = None
    renewal: RenewalBody = RenewalBody()
    cure_period_days: CureDays = 30


class CreateAgreementBody(TermsBody):
    agreement_id: str = AGREEMENT_ID
    requested_by: Text = Field(default="api", min_length=1, max_length=200)
    request_id: Text | None = Field(default=None, max_length=200)


class AmendBody(ApiModel):
    model_config = ApiModel.model_config | ConfigDict(
        json_schema_extra={"anyOf": [{"required": [to_camel(name)]} for name in AMENDABLE]}
    )

    min_monthly_orders: Count | None = kept()
    standards: StandardsBody | None = kept()
    renewal: RenewalBody | None = kept()
    cure_period_days: CureDays | None = kept()
    exclusive_until: AwareDatetime | None = kept()
    reason: Text | None = Field(default=None, max_length=4000)
    requested_by: Text = Field(default="api", min_length=1, max_length=200)
    request_id: Text | None = Field(default=None, max_length=200)


class TerminateBody(ApiModel):
    reason: Text = TEXT
    requested_by: Text = Field(default="api", min_length=1, max_length=200)
    request_id: Text | None = Field(default=None, max_length=200)


class RenewBody(ApiModel):
    reason: Text | None = Field(default=None, max_length=4000)
    requested_by: Text = Field(default="api", min_length=1, max_length=200)
    request_id: Text | None = Field(default=None, max_length=200)


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
