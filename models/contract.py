"""Names the outside world sees: task queue, workflow IDs, search attributes, and the names of
activities, signals, updates and queries as histories and other services' calls carry them.

They are defined once here; operators type them into the Temporal UI and
other services build IDs with the helpers below.
"""

from __future__ import annotations

from enum import StrEnum

TASK_QUEUE = "partner-program"
MAX_CACHED_WORKFLOWS = 10_000
"""How many workflows a worker keeps in memory by default: a program of 10,000 partners,
about 0.12–0.14 MiB each (bench/README.md, issue 20)."""

PARTNER_WORKFLOW = "PartnerLifecycleWorkflow"
AGREEMENT_WORKFLOW = "ExclusiveAgreementWorkflow"
REVIEW_WORKFLOW = "ProgramReviewWorkflow"
MESSAGE_DELIVERY_WORKFLOW = "MessageDeliveryWorkflow"
PROGRAM_CHANGE_WORKFLOW = "ProgramChangeWorkflow"
OFFER_LAUNCH_WORKFLOW = "OfferLaunchWorkflow"
ANNOUNCEMENT_WORKFLOW = "AnnouncementWorkflow"
NEWSLETTER_WORKFLOW = "NewsletterWorkflow"


class Refusal(StrEnum):
    """The ApplicationError types a workflow refuses a provider's request with."""

    CONFLICT = "InvalidRequest"
    """The request does not fit the workflow's current state (the API's 409)."""
    INPUT = "InvalidInput"
    """A value in the request is out of its range (the API's 422)."""


_PARTNER_PREFIX = "partner"
_AGREEMENT_PREFIX = "agreement"


def _id_parts(**parts: str) -> list[str]:
    for label, value in parts.items():
        if not value or "/" in value:
            raise ValueError(f"{label} must be non-empty and contain no '/': {value!r}")
    return list(parts.values())


def partner_workflow_id(provider_id: str, reseller_team_id: str) -> str:
    """`partner/{provider_id}/{reseller_team_id}`, the partner's one workflow ID."""
    parts = _id_parts(provider_id=provider_id, reseller_team_id=reseller_team_id)
    return "/".join([_PARTNER_PREFIX, *parts])


def agreement_workflow_id(provider_id: str, agreement_id: str) -> str:
    """`agreement/{provider_id}/{agreement_id}`, one exclusive agreement's workflow ID."""
    parts = _id_parts(provider_id=provider_id, agreement_id=agreement_id)
    return "/".join([_AGREEMENT_PREFIX, *parts])


def delivery_workflow_id(idempotency_key: str) -> str:
    """`delivery/{idempotency_key}`: one message's delivery on its own (the key starts with the
    ID of the workflow that sent it)."""
    return f"delivery/{idempotency_key}"


def program_change_workflow_id(provider_id: str, version: int) -> str:
    """`program-change/{provider_id}/{version}`: one program change waiting for its date or
    announcing itself."""
    (provider,) = _id_parts(provider_id=provider_id)
    return f"program-change/{provider}/{version}"


def announcement_workflow_id(provider_id: str, announcement_id: str) -> str:
    """`announcement/{provider_id}/{announcement_id}`: one announcement waiting for its time or
    being delivered."""
    parts = _id_parts(provider_id=provider_id, announcement_id=announcement_id)
    return "/".join(["announcement", *parts])


def newsletter_workflow_id(provider_id: str, month: str) -> str:
    """`newsletter/{provider_id}/{month}`: one month's newsletter of a provider, sent once."""
    provider, period = _id_parts(provider_id=provider_id, month=month)
    return f"newsletter/{provider}/{period}"


def newsletter_schedule_id(provider_id: str) -> str:
    """`newsletter-schedule/{provider_id}`: the Schedule that sends the newsletter monthly."""
    (provider,) = _id_parts(provider_id=provider_id)
    return f"newsletter-schedule/{provider}"


def offer_launch_workflow_id(provider_id: str, offer_id: str) -> str:
    """`offer/{provider_id}/{offer_id}`: an early-access offer waiting for its public launch."""
    provider, offer = _id_parts(provider_id=provider_id, offer_id=offer_id)
    return f"offer/{provider}/{offer}"


def parse_partner_workflow_id(workflow_id: str) -> tuple[str, str]:
    """The (provider_id, reseller_team_id) of a partner workflow ID."""
    parts = workflow_id.split("/")
    if len(parts) != 3 or parts[0] != _PARTNER_PREFIX or not parts[1] or not parts[2]:
        raise ValueError(f"not a partner workflow ID: {workflow_id!r}")
    return parts[1], parts[2]


class SearchAttribute(StrEnum):
    """Custom search attributes, registered by the dev stack and the compose file."""

    PROVIDER_ID = "ProviderId"
    RESELLER_TEAM_ID = "ResellerTeamId"
    PARTNER_STATUS = "PartnerStatus"
    PARTNER_TIER = "PartnerTier"
    GRACE_DEADLINE = "GraceDeadline"
    AGREEMENT_STATUS = "AgreementStatus"


KEYWORD_ATTRIBUTES = (
    SearchAttribute.PROVIDER_ID,
    SearchAttribute.RESELLER_TEAM_ID,
    SearchAttribute.PARTNER_STATUS,
    SearchAttribute.PARTNER_TIER,
    SearchAttribute.AGREEMENT_STATUS,
)
DATETIME_ATTRIBUTES = (SearchAttribute.GRACE_DEADLINE,)


class ActivityName(StrEnum):
    """Activity names as they appear in a workflow's history."""

    LOAD_PARTNER_CONTEXT = "load_partner_context"
    COMPUTE_PARTNER_METRICS = "compute_partner_metrics"
    RECORD_TRANSITION = "record_transition"
    RECORD_NOTE = "record_note"
    GRANT_PREFERRED_OFFERS = "grant_preferred_offers"
    REVOKE_OFFER_ACCESS = "revoke_offer_access"
    SEND_NOTIFICATION = "send_notification"
    RECORD_NOTIFICATION = "record_notification"
    DELIVER_NOTIFICATION = "deliver_notification"
    DELIVER_OUTBOX = "deliver_outbox"
    REQUEUE_NOTIFICATION = "requeue_notification"
    FIND_PARTNER_EXCLUSIVES = "find_partner_exclusives"
    GRANT_EXCLUSIVE = "grant_exclusive"
    END_EXCLUSIVE = "end_exclusive"
    CHECK_PARTNER_LISTING = "check_partner_listing"
    COMPUTE_AGREEMENT_METRICS = "compute_agreement_metrics"
    RECORD_SCORECARD = "record_scorecard"
    RECORD_AGREEMENT_EVENT = "record_agreement_event"
    ENROLL_PARTNER = "enroll_partner"
    RECORD_PARTNER_WRITES = "record_partner_writes"
    OPEN_REVIEW = "open_review"
    ASSESS_RESELLERS = "assess_resellers"
    WAKE_PARTNERS = "wake_partners"
    SEND_SCORECARDS = "send_scorecards"
    RECORD_SCORECARDS = "record_scorecards"
    WRITE_PROGRAM_REPORT = "write_program_report"
    RECORD_PROGRAM_NOTICES = "record_program_notices"
    APPLY_PROGRAM_CHANGE = "apply_program_change"
    LAUNCH_OFFER = "launch_offer"
    ANNOUNCE_LAUNCH = "announce_launch"
    RECORD_ANNOUNCEMENT = "record_announcement"
    SETTLE_ANNOUNCEMENT = "settle_announcement"
    RECORD_NEWSLETTER = "record_newsletter"
    SETTLE_NEWSLETTER = "settle_newsletter"


class SignalName(StrEnum):
    """Signal names as they appear in a workflow's history and in other services' calls."""

    REVIEW = "review"
    NOMINATE = "nominate"
    PARTNER_LEFT = "partner_left"
    PARTNER_BLOCKED = "partner_blocked"
    MOVE_LAUNCH = "move_launch"


class UpdateName(StrEnum):
    """Update names: the provider's requests to a partner's or an agreement's workflow."""

    ENROLL = "enroll"
    FLAG_AT_RISK = "flag_at_risk"
    CHANGE_GRACE_DEADLINE = "change_grace_deadline"
    CHANGE_TIER = "change_tier"
    BLOCK = "block"
    UNBLOCK = "unblock"
    REMOVE = "remove"
    ADD_NOTE = "add_note"
    REPORT_ISSUE = "report_issue"
    CREATE = "create"
    AMEND = "amend"
    TERMINATE = "terminate"
    RENEW_EARLY = "renew_early"


class QueryName(StrEnum):
    """Query names, as the Temporal UI's and CLI's query box takes them."""

    GET_STATE = "get_state"
