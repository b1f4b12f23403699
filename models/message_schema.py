"""The program database's tables of messages: the outbox, how messages leave, the providers'
own templates, their announcements, and what resellers tell them. Part of models.schema,
which imports them: import them from there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.sql_types import Base, UTCDateTime, utcnow


class Notification(Base):
    """The outbox: one row per message, keyed so that a retried activity never sends twice."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"))
    recipient: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(2000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When a provider last asked for a bounced or failed message to be sent again: its
    tries run for two more days from then."""

    __table_args__ = (
        Index("ix_notifications_partner", "provider_id", "reseller_team_id"),
        Index("ix_notifications_provider_status", "provider_id", "status"),
    )


class DeliverySettingsRow(Base):
    """A provider's delivery channel and what it needs; no row means the log channel."""

    __tablename__ = "delivery_settings"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int] = mapped_column(Integer)
    smtp_security: Mapped[str] = mapped_column(String(20))
    smtp_username: Mapped[str | None] = mapped_column(String(320))
    smtp_password: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str | None] = mapped_column(String(320))
    provider_email: Mapped[str | None] = mapped_column(String(320))
    provider_webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PartnerContactRow(Base):
    """Where one provider's messages reach one partner."""

    __tablename__ = "partner_contacts"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MessageTemplateVersion(Base):
    """A provider's own template for one kind of message. Every save is a new version and the
    latest is in force; a version with neither subject nor body puts the shipped one back."""

    __tablename__ = "message_templates"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Announcement(Base):
    """A message a provider sends an audience of its partners, now or at `send_at`."""

    __tablename__ = "announcements"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ResellerFeedback(Base):
    """What a reseller told a provider: services needed, ZIP codes with demand, competitive
    offerings or process improvements."""

    __tablename__ = "reseller_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    reseller_team_id: Mapped[str] = mapped_column(ForeignKey("resellers.team_id"))
    kind: Mapped[str] = mapped_column(String(40))
    service_category: Mapped[str | None] = mapped_column(String(100))
    zip_codes: Mapped[list[str]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_reseller_feedback_provider_created", "provider_id", "created_at"),
        Index("ix_reseller_feedback_reseller_created", "reseller_team_id", "created_at"),
    )


class NewsletterSetting(Base):
    """A provider's choice of the monthly newsletter: sent while `enabled`."""

    __tablename__ = "newsletter_settings"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Newsletter(Base):
    """One month's newsletter of a provider: its messages are in the outbox under
    `newsletter/{provider}/{month}/`."""

    __tablename__ = "newsletters"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
