"""Messages the program sends to partners and providers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from models.agreement import AgreementKind, AgreementStatus, Scorecard
from models.announcement import AnnouncementKind
from models.metrics import CriterionResult, PartnerMetrics
from models.newsletter import NewsletterNotice
from models.partner import IssueSeverity
from models.pricing import PartnerPrice
from models.program import Frozen, Tier
from models.program_change import ThresholdChange


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
    SCORECARD = "scorecard"
    EXCLUSIVE_GRANTED = "exclusive_granted"
    EXCLUSIVE_REVIEW = "exclusive_review"
    EXCLUSIVE_BREACH = "exclusive_breach"
    EXCLUSIVE_CURED = "exclusive_cured"
    EXCLUSIVE_AMENDED = "exclusive_amended"
    EXCLUSIVE_RENEWED = "exclusive_renewed"
    EXCLUSIVE_EXPIRED = "exclusive_expired"
    EXCLUSIVE_TERMINATED = "exclusive_terminated"
    FRIENDLY_NOTICE = "friendly_notice"
    FORMAL_NOTICE = "formal_notice"
    EXCLUSIVE_ENDED_NOTICE = "exclusive_ended_notice"
    PROGRAM_CHANGE_NOTICE = "program_change_notice"
    ANNOUNCEMENT = "announcement"
    NEWSLETTER = "newsletter"


class Recipient(StrEnum):
    PARTNER = "partner"
    PROVIDER = "provider"


class AgreementNotice(Frozen):
    """The exclusive agreement a message is about."""

    agreement_id: str
    kind: AgreementKind
    offer_id: str
    zip_codes: list[str] = Field(default_factory=list)
    term_number: int
    term_end: AwareDatetime
    cure_deadline: AwareDatetime | None = None
    scorecard: Scorecard | None = None
    ended_as: AgreementStatus | None = Field(
        default=None, description="How an agreement that has ended ended: expired or terminated."
    )


class EarlierIssue(Frozen):
    at: AwareDatetime
    reason: str


class IssueNotice(Frozen):
    """A problem the provider reported, and where it stands in the progressive response."""

    reason: str
    severity: IssueSeverity
    reported_at: AwareDatetime
    earlier: list[EarlierIssue] = Field(
        default_factory=list, description="The other issues reported within the window."
    )
    window_days: int
    escalates_until: AwareDatetime = Field(
        description="Until when another issue escalates the response (this one's date + window)."
    )


class AnnouncedOffer(Frozen):
    """The offer an announcement is about (its audience is the partners who see it), at the
    price the recipient's tier gets."""

    name: str
    price: PartnerPrice


class AnnouncementNotice(Frozen):
    """A provider's announcement: its own text, carried as data and never run as a template."""

    kind: AnnouncementKind
    subject: str
    body: str
    offer: AnnouncedOffer | None = None


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
    agreement: AgreementNotice | None = None
    next_tier: Tier | None = None
    next_tier_criteria: list[CriterionResult] = Field(default_factory=list)
    period: str | None = None
    issue: IssueNotice | None = None
    enrolled_below_criteria: bool = Field(
        default=False,
        description="The provider enrolled the partner below its tier's criteria, on purpose.",
    )
    program_changes: list[ThresholdChange] = Field(
        default_factory=list, description="A program change's thresholds, old and new."
    )
    announcement: AnnouncementNotice | None = None
    newsletter: NewsletterNotice | None = None


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
    already_sent: bool = Field(description="True when a retry found the message already settled.")
    address: str | None = None
    error: str | None = Field(default=None, description="The last delivery error, if any.")
