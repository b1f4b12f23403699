"""The program database: providers, resellers, orders, offers, the preferred list and its logs.

One schema for SQLite (the embedded default) and PostgreSQL. Timestamps are
always timezone-aware UTC in Python, whatever the backend stores.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.message_schema import (
    Announcement,
    DeliverySettingsRow,
    MessageTemplateVersion,
    Newsletter,
    NewsletterSetting,
    Notification,
    PartnerContactRow,
    ResellerFeedback,
)
from models.orders import OrderStatus
from models.sql_types import Base, UTCDateTime, utcnow

__all__ = [
    "Agreement",
    "AgreementEventLogEntry",
    "AgreementScorecard",
    "Announcement",
    "ApiKey",
    "Base",
    "DeliverySettingsRow",
    "ExclusiveClaim",
    "MessageTemplateVersion",
    "Newsletter",
    "NewsletterSetting",
    "Notification",
    "Offer",
    "OfferAccess",
    "OfferBlock",
    "Order",
    "OrderEvent",
    "PartnerContactRow",
    "PartnerNote",
    "PreferredListEntry",
    "ProgramChangeRow",
    "ProgramReview",
    "ProgramVersion",
    "Provider",
    "Reseller",
    "ResellerFeedback",
    "ResellerKey",
    "ReviewSnapshot",
    "TransitionLogEntry",
    "utcnow",
]

ORDER_STATUSES = tuple(status.value for status in OrderStatus)


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    program: Mapped[dict[str, Any]] = mapped_column(JSON)
    program_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reseller(Base):
    __tablename__ = "resellers"

    team_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    region: Mapped[str | None] = mapped_column(String(100))


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    visibility: Mapped[str] = mapped_column(String(20))
    min_tier: Mapped[str | None] = mapped_column(String(20))
    monthly_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    category: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), server_default="active", default="active")
    """Only an `active` offer is seen by anyone."""
    internal_name: Mapped[str | None] = mapped_column(String(200))
    """The provider's own name for the offer: never shown to resellers."""
    description: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    """The offer's `metadata`: earlyAccess, publicLaunchDate, exclusiveUntil, ..."""
    tier_prices: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A price a month per tier (`{"gold": "89.00"}`), where the offer sets its own."""


class OfferAccess(Base):
    """A reseller's access to a non-public offer: granted for its tier, or listed as allowed."""

    __tablename__ = "offer_access"

    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfferBlock(Base):
    """A partner barred from one offer, or from all of a provider's offers (offer_id NULL)."""

    __tablename__ = "offer_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"))
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_offer_blocks_partner", "provider_id", "reseller_team_id"),)


class Order(Base):
    """An order item of the marketplace: one offer sold by one reseller at one service address.

    `id` is the marketplace's item ID, unique per provider: two providers may use the same one.
    """

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(100))
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"))
    zip_code: Mapped[str] = mapped_column(String(10))
    monthly_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        PrimaryKeyConstraint("provider_id", "id"),
        Index(
            "ix_orders_provider_reseller_created", "provider_id", "reseller_team_id", "created_at"
        ),
        Index("ix_orders_provider_created", "provider_id", "created_at"),
    )


class PreferredListEntry(Base):
    """The provider's preferred list as the partner workflows last wrote it."""

    __tablename__ = "preferred_list"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(300))
    partnership_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(20))
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grace_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TransitionLogEntry(Base):
    __tablename__ = "transition_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(300), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"))
    sequence: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    from_tier: Mapped[str] = mapped_column(String(20))
    to_tier: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(200))


class PartnerNote(Base):
    __tablename__ = "partner_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    visibility: Mapped[str] = mapped_column(String(20), server_default="internal")
    """`internal` (the provider's own) or `partner` (shown to the reseller in its portal)."""

    __table_args__ = (Index("ix_partner_notes_partner", "provider_id", "reseller_team_id"),)


class Agreement(Base):
    """An exclusive agreement as its workflow last wrote it, and the offer as it was before."""

    __tablename__ = "agreements"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    agreement_uid: Mapped[str] = mapped_column(String(100))
    workflow_id: Mapped[str] = mapped_column(String(300))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"))
    zip_codes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    term_number: Mapped[int] = mapped_column(Integer, default=1)
    term_end: Mapped[datetime] = mapped_column(UTCDateTime)
    breaches_in_term: Mapped[int] = mapped_column(Integer, default=0)
    previous_visibility: Mapped[str] = mapped_column(String(20))
    previous_min_tier: Mapped[str | None] = mapped_column(String(20))
    previous_allowed: Mapped[list[str]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ExclusiveClaim(Base):
    """What an agreement in force holds exclusively: its offer, and each ZIP code of its region.

    The unique constraint is what refuses a second exclusive on the same offer
    or on an overlapping region, even when two are created at the same moment.
    """

    __tablename__ = "exclusive_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    claim: Mapped[str] = mapped_column(String(120))
    agreement_id: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("provider_id", "claim"),)


class AgreementScorecard(Base):
    __tablename__ = "agreement_scorecards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    agreement_id: Mapped[str] = mapped_column(String(200))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"))
    kind: Mapped[str] = mapped_column(String(20))
    term_number: Mapped[int] = mapped_column(Integer)
    period_number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    met: Mapped[bool] = mapped_column(Boolean)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_agreement_scorecards_agreement", "provider_id", "agreement_id"),)


class AgreementEventLogEntry(Base):
    __tablename__ = "agreement_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    agreement_id: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_agreement_events_agreement", "provider_id", "agreement_id"),)


class ApiKey(Base):
    """A provider's API key, kept only as a SHA-256 digest: the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    label: Mapped[str | None] = mapped_column(String(100))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ResellerKey(Base):
    """A reseller team's key to its portal and the `/reseller/` API, kept only as a SHA-256
    digest: the key itself is shown once, to the operator who issues it."""

    __tablename__ = "reseller_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProgramVersion(Base):
    """Each version of a provider's program settings, as it was put in force."""

    __tablename__ = "program_versions"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    program: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProgramChangeRow(Base):
    """A program change that waits for its effective date or announces itself: the settings it
    puts in force, the version it was based on, and where it stands."""

    __tablename__ = "program_changes"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    based_on: Mapped[int] = mapped_column(Integer)
    program: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OrderEvent(Base):
    """A marketplace webhook event already applied: a replay of it changes nothing."""

    __tablename__ = "order_events"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str] = mapped_column(String(100))
    """The item ID of one of the same provider's orders."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["provider_id", "order_id"], ["orders.provider_id", "orders.id"]),
    )


class ProgramReview(Base):
    """One program review: its period, the program version it applied, what it found."""

    __tablename__ = "program_reviews"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    cadence: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    program_version: Mapped[int] = mapped_column(Integer)
    program: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fan_out: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_program_reviews_provider_end", "provider_id", "window_end"),)


class ReviewSnapshot(Base):
    """One reseller at one review: its metrics, where it stood, and what the review decided."""

    __tablename__ = "review_snapshots"

    review_id: Mapped[str] = mapped_column(ForeignKey("program_reviews.id"), primary_key=True)
    reseller_team_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status_before: Mapped[str | None] = mapped_column(String(20))
    tier_before: Mapped[str] = mapped_column(String(20))
    standing: Mapped[str] = mapped_column(String(20))
    status_after: Mapped[str | None] = mapped_column(String(20))
    tier_after: Mapped[str] = mapped_column(String(20))
    total_orders: Mapped[int] = mapped_column(Integer)
    accepted_orders: Mapped[int] = mapped_column(Integer)
    decided_orders: Mapped[int] = mapped_column(Integer)
    fulfilled_orders: Mapped[int] = mapped_column(Integer)
    orders_per_month: Mapped[float]
    acceptance_rate: Mapped[float | None]
    completion_rate: Mapped[float | None]
    cancellation_rate: Mapped[float | None]
    average_rating: Mapped[float | None]
    rated_orders: Mapped[int] = mapped_column(Integer)
    average_order_value: Mapped[float | None]
    revenue: Mapped[float]
    month_over_month_growth: Mapped[float | None]
    tenure_months: Mapped[int] = mapped_column(Integer)
    failed_criteria: Mapped[str | None] = mapped_column(Text)
    signalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_review_snapshots_review_standing", "review_id", "standing"),)
