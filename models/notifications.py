"""Messages the program sends to partners and providers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from models.metrics import CriterionResult, PartnerMetrics
from models.program import Frozen, Tier


class NotificationKind(StrEnum):
    WELCOME = "welcome"
    ENROLLMENT_SCHEDULED = "enrollment_scheduled"
    AT_RISK_WARNING = "at_risk_warning"
    GRACE_CHANGED = "grace_changed"
    RECOVERED = "recovered"
    REMOVED = "removed"
    PROMOTED = "promoted"
    DEMOTED = "demoted"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    CANDIDATE_NOTICE = "candidate_notice"


class Recipient(StrEnum):
    PARTNER = "partner"
    PROVIDER = "provider"


class NotificationContext(Frozen):
    """The facts a message is rendered from."""

    tier: Tier
    previous_tier: Tier | None = None
    reason: str | None = None
    effective_date: AwareDatetime | None = None
    grace_deadline: AwareDatetime | None = None
    failed_criteria: list[CriterionResult] = Field(default_factory=list)
    metrics: PartnerMetrics | None = None
    offer_ids: list[str] = Field(default_factory=list)


class NotificationRequest(Frozen):
    idempotency_key: str = Field(min_length=1, max_length=400)
    provider_id: str
    reseller_team_id: str
    kind: NotificationKind
    recipient: Recipient = Recipient.PARTNER
    context: NotificationContext


class NotificationReceipt(Frozen):
    notification_id: int
    idempotency_key: str
    channel: str
    subject: str
    status: str
    already_sent: bool = Field(description="True when a retry found the message already sent.")
