"""Announcements: one message a provider sends an audience of its partners, now or at a time it
chooses (new services, pricing changes, service-area expansions, promotions, platform updates
and downtime, as the program documents name them).

The request is the provider's and untrusted: every part of it is bounded here. The workflow
carries only the announcement's IDs and counts; its audience and text stay in the database.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, model_validator

from models.feedback import FEEDBACK_TEXT_PATTERN
from models.partner import PartnerStatus
from models.program import Frozen, Printable, Storable, Tier
from models.reseller import LINE_PATTERN, OneLine
from models.wire import PATH_ID_PATTERN, ApiModel, kept

ANNOUNCEMENT_PREFIX = "announcement"
MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_LISTED = 10_000
"""The most partners an announcement may name one by one."""
LONGEST_WAIT = timedelta(days=366)
"""How far ahead an announcement may be scheduled: a year."""
TOO_FAR = "sendAt: must be at most one year ahead"
DELIVERY_SHARDS = 16
"""An announcement's messages are delivered in this many batches side by side; a partner's
batch follows from its team ID alone, so that a retried recording keys it the same."""


class AnnouncementKind(StrEnum):
    """What an announcement is about, as the program documents list them."""

    NEW_SERVICE = "new_service"
    PRICING_CHANGE = "pricing_change"
    SERVICE_AREA_EXPANSION = "service_area_expansion"
    PROMOTION = "promotion"
    PLATFORM_UPDATE = "platform_update"
    DOWNTIME = "downtime"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class AnnouncementStatus(StrEnum):
    SCHEDULED = "scheduled"
    """Waiting for its time (a durable timer); it can be cancelled until then."""
    RECORDING = "recording"
    """Its time came: a message for each partner of the audience is being put in the outbox."""
    SENDING = "sending"
    """Every message is recorded; they are being delivered."""
    SENT = "sent"
    """Every message was delivered, bounced or failed for good."""
    CANCELLED = "cancelled"
    """Cancelled before its time: nothing was sent."""


Id = Annotated[str, Field(min_length=1, max_length=100, pattern=PATH_ID_PATTERN)]
Subject = Annotated[
    str,
    Field(min_length=1, max_length=MAX_SUBJECT, json_schema_extra={"pattern": LINE_PATTERN}),
    OneLine,
]


def _text(text: str) -> str:
    # Checked here rather than by the pattern so that each refusal says which rule.
    if any((ord(char) < 32 and char not in "\t\n\r") or ord(char) == 127 for char in text):
        raise ValueError("must not contain control characters (tabs and line breaks are fine)")
    if all(ord(char) <= 32 for char in text):
        raise ValueError("must not be blank")
    return text


Body = Annotated[
    str,
    Field(min_length=1, max_length=MAX_BODY, json_schema_extra={"pattern": FEEDBACK_TEXT_PATTERN}),
    Storable,
    AfterValidator(_text),
]


class Audience(ApiModel):
    """Who receives an announcement: exactly one of `all` (every partner on the preferred
    list), `tiers` or `statuses` (of the provider's partners), `offerId` (the partners on the
    list who see that offer now) or `resellerTeamIds` (those of them that are the provider's
    partners, whatever their status)."""

    model_config = ApiModel.model_config | ConfigDict(
        json_schema_extra={"minProperties": 1, "maxProperties": 1}
    )

    all: Literal[True] | None = kept()
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=len(Tier))] | None = kept()
    statuses: (
        Annotated[list[PartnerStatus], Field(min_length=1, max_length=len(PartnerStatus))] | None
    ) = kept()
    offer_id: Id | None = kept()
    reseller_team_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_LISTED)] | None = (
        kept()
    )

    @model_validator(mode="after")
    def _one_form(self) -> Audience:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of all, tiers, statuses, offerId or resellerTeamIds")
        return self

    def stored(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def describe(self) -> str:
        if self.all:
            return "every partner on the list"
        if self.tiers:
            return "tiers " + ", ".join(tier.value for tier in self.tiers)
        if self.statuses:
            return "statuses " + ", ".join(status.value for status in self.statuses)
        if self.offer_id:
            return f"the partners who see {self.offer_id}"
        return f"{len(self.reseller_team_ids or [])} partners named"


class AnnouncementRequest(ApiModel):
    """An announcement to send now, or at `sendAt` (at most a year ahead; a past time is now)."""

    kind: AnnouncementKind
    subject: Subject = Field(description="One line, sent as written (never run as a template).")
    body: Body = Field(description="Plain text, sent as written (never run as a template).")
    audience: Audience
    send_at: AwareDatetime | None = None
    announcement_id: Id | None = Field(
        default=None, description="Made up when left out; the same ID again is a 409."
    )
    created_by: Annotated[str, Field(min_length=1, max_length=200), Printable] = "api"


class OfferAnnounce(ApiModel):
    """`announce` on an offer's create or change: tell the partners who see the offer, now.
    Left out, the kind follows from the change (a new or newly active offer: new_service; a
    new price: pricing_change) and the subject and body are written from the offer."""

    kind: AnnouncementKind | None = kept()
    subject: Subject | None = kept("One line; written from the offer when left out.")
    body: Body | None = kept("Plain text; written from the offer when left out.")


def too_far(at: datetime, now: datetime) -> bool:
    return at > now + LONGEST_WAIT


class AnnouncementRef(Frozen):
    """One announcement, as the workflow and its activities name it."""

    provider_id: str
    announcement_id: str


class AnnouncementStart(AnnouncementRef):
    send_at: AwareDatetime


class AnnouncementRecorded(Frozen):
    """What recording did: the announcement's status after it, how many partners have a
    message in the outbox, and the delivery batches that hold some."""

    status: AnnouncementStatus
    recipients: int = 0
    batches: list[str] = Field(default_factory=list, max_length=DELIVERY_SHARDS)


class AnnouncementSettled(Frozen):
    status: AnnouncementStatus


class AnnouncementOutcome(Frozen):
    status: AnnouncementStatus
    recipients: int = 0
    sent: int = 0
    refused: int = Field(default=0, description="Bounced or failed for good.")


def announcement_key_prefix(provider_id: str, announcement_id: str) -> str:
    return f"{ANNOUNCEMENT_PREFIX}/{provider_id}/{announcement_id}/"


def delivery_batch(reseller_team_id: str) -> str:
    """The batch a partner's message is delivered in: one hex digit of its team ID's hash."""
    return hashlib.sha256(reseller_team_id.encode()).hexdigest()[0]


def batch_prefix(provider_id: str, announcement_id: str, batch: str) -> str:
    return f"{announcement_key_prefix(provider_id, announcement_id)}{batch}/"


def announcement_key(provider_id: str, announcement_id: str, reseller_team_id: str) -> str:
    """`announcement/{provider}/{id}/{batch}/{team}`: one partner's message, once."""
    return batch_prefix(provider_id, announcement_id, delivery_batch(reseller_team_id)) + (
        reseller_team_id
    )


def announcement_summary(provider_id: str, announcement_id: str, send_at: datetime) -> str:
    return f"announcement {announcement_id} of {provider_id}, at {send_at:%Y-%m-%d %H:%M} UTC"
