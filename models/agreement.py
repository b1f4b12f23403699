"""Exclusive agreements: the terms a provider grants one partner, and how they are kept.

A regional exclusive covers a set of ZIP codes served through a region-specific
offer; a service exclusive covers one offer. Each review period the partner's
orders under the agreement are scored against the terms.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from models.metrics import CriterionResult, PartnerMetrics
from models.offers import Visibility
from models.partner import ActorKind, ProviderAction, ReasonedAction
from models.program import Frozen, Text, Tier

ZIP_CODE = re.compile(r"^\d{5}$")
MAX_ZIP_CODES = 5000
KEPT_IN_STATE = 100
"""Scorecards and events kept in the workflow state; the database keeps them all."""


class AgreementKind(StrEnum):
    REGIONAL = "regional"
    SERVICE = "service"


class ReviewPeriod(StrEnum):
    QUARTERLY = "quarterly"
    ANNUALLY = "annually"

    @property
    def months(self) -> int:
        return 3 if self is ReviewPeriod.QUARTERLY else 12


class AgreementStatus(StrEnum):
    """The `AgreementStatus` search attribute."""

    ACTIVE = "active"
    IN_BREACH = "in_breach"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    REFUSED = "refused"

    @property
    def is_closed(self) -> bool:
        return self in (
            AgreementStatus.EXPIRED,
            AgreementStatus.TERMINATED,
            AgreementStatus.REFUSED,
        )


class PerformanceStandards(Frozen):
    """What the partner's orders under the agreement must reach each review period.

    A standard left unset is not part of the contract.
    """

    min_completion_rate: float | None = Field(default=0.95, ge=0, le=1)
    min_acceptance_rate: float | None = Field(default=None, ge=0, le=1)
    min_rating: float | None = Field(default=None, ge=1, le=5)
    max_cancellation_rate: float | None = Field(default=None, ge=0, le=1)


class RenewalCriteria(Frozen):
    """What decides, at term end, between another term and expiry.

    The whole term's orders must meet the performance standards and the
    minimum monthly orders (the renewal's own minimum where set), with no more
    breaches in the term than allowed.
    """

    auto_renew: bool = Field(
        default=True, description="False: the agreement expires unless renewed early."
    )
    max_breaches: int = Field(
        default=0, ge=0, le=1, description="Breaches (cured) the term may have had and still renew."
    )
    min_monthly_orders: int | None = Field(default=None, ge=0)


class AgreementTerms(Frozen):
    """The contract. Refused as a whole when any part does not hold."""

    reseller_team_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/\x00]+$")
    kind: AgreementKind
    offer_id: Text = Field(min_length=1, max_length=100)
    zip_codes: list[str] = Field(default_factory=list, max_length=MAX_ZIP_CODES)
    min_monthly_orders: int = Field(ge=0)
    standards: PerformanceStandards = PerformanceStandards()
    term_months: int = Field(default=12, ge=1, le=120)
    review_period: ReviewPeriod = ReviewPeriod.QUARTERLY
    exclusive_until: AwareDatetime | None = Field(
        default=None, description="No term, first or renewed, runs past this date."
    )
    renewal: RenewalCriteria = RenewalCriteria()
    cure_period_days: int = Field(default=30, ge=7, le=90)

    @field_validator("zip_codes")
    @classmethod
    def _zip_codes(cls, zip_codes: list[str]) -> list[str]:
        cleaned = sorted({z.strip() for z in zip_codes})
        bad = [z for z in cleaned if not ZIP_CODE.match(z)]
        if bad:
            raise ValueError(f"ZIP codes must have five digits: {', '.join(bad[:10])}")
        return cleaned

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind is AgreementKind.REGIONAL and not self.zip_codes:
            raise ValueError("a regional exclusive needs the ZIP codes of its region")
        if self.kind is AgreementKind.SERVICE and self.zip_codes:
            raise ValueError(
                "a service exclusive covers the whole offer: leave zipCodes empty, or make "
                "the agreement regional"
            )
        months = self.review_period.months
        if months > self.term_months:
            raise ValueError(
                f"the review period ({self.review_period.value}, {months} months) is longer "
                f"than the term ({self.term_months} months)"
            )
        if self.term_months % months:
            raise ValueError(
                f"a term of {self.term_months} months is not a whole number of "
                f"{self.review_period.value} review periods"
            )
        shortest_period = months * 28
        if self.cure_period_days >= shortest_period:
            raise ValueError(
                f"the cure period ({self.cure_period_days} days) must end before the next "
                f"{self.review_period.value} review: at most {shortest_period - 1} days"
            )
        return self

    def amended(self, amendment: AgreementAmendment) -> AgreementTerms:
        """These terms with the amendment's fields in place, validated again as a whole."""
        return AgreementTerms.model_validate({**self.model_dump(), **amendment.changes})


AMENDABLE = (
    "min_monthly_orders",
    "standards",
    "renewal",
    "cure_period_days",
    "exclusive_until",
)


class AgreementRequest(ProviderAction):
    """Create an exclusive agreement."""

    terms: AgreementTerms


class AgreementAmendment(ProviderAction):
    """New terms that apply from the next review period; the parties and scope stay as they are.

    A field left out (None) keeps its current value.
    """

    min_monthly_orders: int | None = Field(default=None, ge=0)
    standards: PerformanceStandards | None = None
    renewal: RenewalCriteria | None = None
    cure_period_days: int | None = Field(default=None, ge=7, le=90)
    exclusive_until: AwareDatetime | None = None
    reason: Text | None = Field(default=None, max_length=4000)

    @property
    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in AMENDABLE if getattr(self, name) is not None}

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.changes:
            names = ", ".join(to_camel(name) for name in AMENDABLE)
            raise ValueError(f"an amendment changes at least one of: {names}")
        return self


class TerminationRequest(ReasonedAction):
    """End the exclusive now."""


class EarlyRenewal(ProviderAction):
    """Renew now for another term after this one, whatever the renewal criteria find."""

    reason: Text | None = Field(default=None, max_length=4000)


class PartnerLeft(Frozen):
    """The partner left the preferred list, so its exclusives end."""

    reason: str


class PartnerBlocked(Frozen):
    """The partner was blocked from this agreement's offer (or from every offer), so the
    exclusive ends: an offer `selected` for a partner that may not see it is seen by nobody."""

    reason: str
    offer_ids: list[str] = Field(
        default_factory=list, description="The offers of the block; empty: every offer."
    )

    def covers(self, offer_id: str) -> bool:
        return not self.offer_ids or offer_id in self.offer_ids


class OfferSnapshot(Frozen):
    """An offer's visibility before the exclusive, restored when it ends."""

    offer_id: str
    visibility: Visibility
    min_tier: Tier | None = None
    allowed_resellers: list[str] = Field(default_factory=list)


class ScorecardKind(StrEnum):
    PERIOD = "period"
    CURE = "cure"
    TERM = "term"


class Scorecard(Frozen):
    """Each term of the agreement: required, actual, met or not, over one period."""

    sequence: int
    kind: ScorecardKind
    term_number: int
    period_number: int = Field(description="1-based within the term; 0 for a term scorecard.")
    period_start: AwareDatetime
    period_end: AwareDatetime
    lines: list[CriterionResult]
    met: bool
    metrics: PartnerMetrics


class AgreementEventKind(StrEnum):
    CREATED = "created"
    REVIEWED = "reviewed"
    BREACH = "breach"
    CURED = "cured"
    AMENDED = "amended"
    AMENDMENT_IN_FORCE = "amendment_in_force"
    RENEWAL_CONFIRMED = "renewal_confirmed"
    RENEWED = "renewed"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class AgreementEvent(Frozen):
    sequence: int
    at: AwareDatetime
    kind: AgreementEventKind
    status: AgreementStatus
    summary: str
    actor: ActorKind
    actor_id: str | None = None


class AgreementState(BaseModel):
    """Everything the agreement workflow knows; carried into each renewed term."""

    provider_id: str
    agreement_id: str
    agreement_uid: str = Field(
        description="Stable across renewals (continue-as-new); keys the side effects."
    )
    reseller_team_id: str
    terms: AgreementTerms
    pending_terms: AgreementTerms | None = Field(
        default=None, description="Amended terms that apply from the next review period."
    )
    status: AgreementStatus = AgreementStatus.ACTIVE
    created_at: AwareDatetime
    term_number: int = 1
    term_start: AwareDatetime
    term_end: AwareDatetime
    period_number: int = 1
    breaches_in_term: int = 0
    breach_at: AwareDatetime | None = None
    cure_deadline: AwareDatetime | None = None
    renewal_confirmed_by: str | None = None
    previous_offer: OfferSnapshot | None = None
    scorecards: list[Scorecard] = Field(default_factory=list)
    events: list[AgreementEvent] = Field(default_factory=list)
    ended_at: AwareDatetime | None = None
    end_reason: str | None = None
    sequence: int = 0
    undelivered: list[str] = Field(
        default_factory=list,
        description="Outbox keys a term was still delivering when the agreement renewed.",
    )

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def idempotency_key(self, workflow_id: str, event: str, sequence: int) -> str:
        return f"{workflow_id}/{self.agreement_uid}/{sequence}/{event}"

    @property
    def period_start(self) -> datetime:
        return add_months(
            self.term_start, (self.period_number - 1) * self.terms.review_period.months
        )

    @property
    def next_review_at(self) -> datetime:
        return add_months(self.term_start, self.period_number * self.terms.review_period.months)

    @property
    def periods_in_term(self) -> int:
        return self.terms.term_months // self.terms.review_period.months


class AgreementWorkflowInput(Frozen):
    provider_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    agreement_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    state: AgreementState | None = None


def add_months(start: datetime, months: int) -> datetime:
    """The same day and time `months` later, on the month's last day where it is shorter."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def score(
    metrics: PartnerMetrics, min_monthly_orders: int, standards: PerformanceStandards
) -> list[CriterionResult]:
    """Each term of the agreement against the partner's orders under it.

    A missing rate (no orders to measure) is a miss; a missing rating (no
    customer rated an order) is not, as in the program's own criteria.
    """
    checks: list[tuple[str, str, float | None, float | None, bool, bool]] = [
        (
            "orders_per_month",
            "orders/month",
            float(min_monthly_orders),
            metrics.orders_per_month,
            False,
            False,
        ),
        (
            "completion_rate",
            "completion",
            standards.min_completion_rate,
            metrics.completion_rate,
            False,
            False,
        ),
        (
            "acceptance_rate",
            "acceptance",
            standards.min_acceptance_rate,
            metrics.acceptance_rate,
            False,
            False,
        ),
        ("average_rating", "rating", standards.min_rating, metrics.average_rating, True, False),
        (
            "cancellation_rate",
            "cancellation",
            standards.max_cancellation_rate,
            metrics.cancellation_rate,
            False,
            True,
        ),
    ]
    lines = []
    for name, label, required, actual, missing_is_met, at_most in checks:
        if required is None or (name == "orders_per_month" and required <= 0):
            continue
        if actual is None:
            met = missing_is_met
        else:
            met = actual <= required if at_most else actual >= required
        lines.append(
            CriterionResult(
                name=name, label=label, required=required, actual=actual, met=met, at_most=at_most
            )
        )
    return lines
