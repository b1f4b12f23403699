"""Offers and who can see them."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from models.money import Dollars
from models.program import Frozen, Printable, Tier
from models.wire import WHOLE

MonthlyPrice = Annotated[
    Dollars,
    Field(description="In dollars, at most 2 decimals."),
    # Shown as a JSON number, as the marketplace's own API does; a string is accepted too.
    PlainSerializer(float, return_type=float, when_used="json"),
]
MAX_WHOLE = 2**53
"""The largest whole number a JSON reader in any language keeps exactly."""


class Visibility(StrEnum):
    PUBLIC = "public"
    PREFERRED = "preferred"
    SELECTED = "selected"


class AccessSource(StrEnum):
    """Why a reseller may see a non-public offer."""

    PREFERRED = "preferred"
    SELECTED = "selected"


class OfferAccessChange(Frozen):
    """The offer access a partner should have now; the activity makes the database match it.

    `tier` None means no preferred-offer access. Blocks are replaced by the
    given set, so repeating the same change is harmless.
    """

    provider_id: str
    reseller_team_id: str
    tier: Tier | None
    revoke_selected: bool = False
    blocked_offer_ids: list[str] = Field(default_factory=list)
    block_all: bool = False
    reason: str


class OfferAccessResult(Frozen):
    granted: list[str] = Field(default_factory=list)
    revoked: list[str] = Field(default_factory=list)
    blocked: list[str] = Field(default_factory=list)


class OfferStatus(StrEnum):
    """Where an offer stands in the provider's catalogue; only an `active` offer is seen."""

    ACTIVE = "active"
    """On sale: seen by its audience."""
    DRAFT = "draft"
    """Being prepared: seen by nobody yet."""
    PAUSED = "paused"
    """Off sale for a while: seen by nobody until made active again."""
    RETIRED = "retired"
    """Off sale for good: seen by nobody, and an early-access launch waiting for it is cancelled."""


MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_CHARS = 50
MAX_METADATA_TEXT_CHARS = 200
METADATA_KEY_PATTERN = r"^[A-Za-z0-9_.:-]+$"
MetadataText = Annotated[str, Field(max_length=MAX_METADATA_TEXT_CHARS), Printable]
MetadataValue = (
    MetadataText
    | Annotated[int, Field(ge=-MAX_WHOLE, le=MAX_WHOLE), WHOLE]
    | Annotated[float, Field(allow_inf_nan=False)]
    | bool
    | None
)
"""A provider's own metadata value: scalars only, so that 50 keys stay a few kilobytes."""
DateOrInstant = AwareDatetime | date
"""A calendar date (midnight UTC) or an instant with its offset."""


def instant(value: DateOrInstant) -> datetime:
    """The moment a date or an instant names: a date starts at midnight UTC."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


LAUNCHED_AT = "launchedAt"


class OfferMetadata(BaseModel):
    """An offer's `metadata`: the keys partnerflow acts on, checked, and the provider's own
    keys kept as given (at most 50 keys in all, each a short name with a scalar value)."""

    model_config = ConfigDict(
        frozen=True,
        extra="allow",
        alias_generator=to_camel,
        populate_by_name=True,
        json_schema_extra={
            "maxProperties": MAX_METADATA_KEYS,
            "propertyNames": {"maxLength": MAX_METADATA_KEY_CHARS, "pattern": METADATA_KEY_PATTERN},
        },
    )
    __pydantic_extra__: dict[str, MetadataValue] = Field(init=False)

    early_access: bool | None = Field(
        default=None,
        description="Preferred partners (of `minTier` and above) see the offer before "
        "`publicLaunchDate`, when it becomes public by itself.",
    )
    public_launch_date: DateOrInstant | None = Field(
        default=None, description="When an early-access offer becomes public (a date: 00:00 UTC)."
    )
    exclusive_until: DateOrInstant | None = None
    minimum_monthly_orders: Annotated[int, Field(ge=0, le=1_000_000), WHOLE] | None = None
    announce_launch: bool | None = Field(
        default=None,
        description="Whether the partners who gain the offer at its launch are told of it.",
    )
    launched_at: AwareDatetime | None = Field(
        default=None,
        description="When partnerflow made the early-access offer public; set by partnerflow "
        "alone (ignored in a request).",
    )

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if len(data) > MAX_METADATA_KEYS:
            raise ValueError(f"at most {MAX_METADATA_KEYS} keys, not {len(data)}")
        for key in data:
            if not isinstance(key, str) or not re.fullmatch(METADATA_KEY_PATTERN, key):
                raise ValueError(f"key {str(key)[:60]!r} must be letters, digits and _ . : - alone")
            if len(key) > MAX_METADATA_KEY_CHARS:
                raise ValueError(f"key {key[:20]}... is longer than {MAX_METADATA_KEY_CHARS}")
        return data

    @property
    def launch_at(self) -> datetime | None:
        """When an early-access offer becomes public, if it is one."""
        if self.early_access and self.public_launch_date is not None:
            return instant(self.public_launch_date)
        return None

    @property
    def launch_pending(self) -> bool:
        """Whether the offer waits for its public launch: early access not yet launched."""
        return self.launch_at is not None and self.launched_at is None

    def stored(self) -> dict[str, Any]:
        """As the `metadata` column keeps it: the keys given, in the request's spelling."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def merged(self, patch: OfferMetadata) -> OfferMetadata:
        """This metadata with `patch` laid over it key by key; a key set to null is removed.

        `launchedAt` is partnerflow's to set: a patch's is ignored, and a new launch date
        makes the offer wait for its launch again."""
        given = patch.model_dump(mode="json", by_alias=True, exclude_unset=True)
        given.pop(LAUNCHED_AT, None)
        laid = {
            key: value for key, value in {**self.stored(), **given}.items() if value is not None
        }
        merged = OfferMetadata.model_validate(laid)
        if merged.launch_at != self.launch_at:
            laid.pop(LAUNCHED_AT, None)
            merged = OfferMetadata.model_validate(laid)
        return merged

    def launched(self, at: datetime) -> dict[str, Any]:
        """As stored once the offer went public at its launch."""
        return {**self.stored(), LAUNCHED_AT: at.isoformat()}


ShownMetadata = Annotated[
    OfferMetadata,
    # The keys given, without a null for each known key left out.
    PlainSerializer(OfferMetadata.stored, return_type=dict[str, Any], when_used="json"),
    WithJsonSchema(
        # One key more than a request may give: `launchedAt`, which partnerflow adds.
        {**OfferMetadata.model_json_schema(), "maxProperties": MAX_METADATA_KEYS + 1},
        mode="serialization",
    ),
]


class TierPrices(Frozen):
    """A price a month for partners of a tier, where the offer sets its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    silver: MonthlyPrice | None = None
    gold: MonthlyPrice | None = None

    def stored(self) -> dict[str, str]:
        return {tier: str(price) for tier, price in self.model_dump(exclude_none=True).items()}


ShownTierPrices = Annotated[
    TierPrices,
    # The tiers given, without a null for the other.
    PlainSerializer(
        lambda prices: prices.model_dump(mode="json", exclude_none=True),
        return_type=dict[str, float],
        when_used="json",
    ),
    WithJsonSchema(TierPrices.model_json_schema(), mode="serialization"),
]


class OfferLaunch(Frozen):
    """An early-access offer's launch: the offer, and when it becomes public."""

    provider_id: str
    offer_id: str
    launch_at: AwareDatetime


class LaunchStatus(StrEnum):
    LAUNCHED = "launched"
    """Made public now."""
    ALREADY_LAUNCHED = "already_launched"
    """Public already: a retry, or another run, did it."""
    MOVED = "moved"
    """Its date is now another one: the workflow waits for that one."""
    WITHDRAWN = "withdrawn"
    """No longer early access, retired or gone: nothing to do."""


class LaunchResult(Frozen):
    status: LaunchStatus
    launch_at: AwareDatetime | None = None
    """The launch date the database holds now (for MOVED)."""
    gained: list[str] = Field(default_factory=list)
    """The partners who could not see the offer before and can now (its provider's list)."""
    announce: bool = False
    """Whether the provider asked for the launch to be announced to them."""


class LaunchAnnouncement(Frozen):
    """A launched offer to announce to the partners who gained it."""

    provider_id: str
    offer_id: str
    launch_at: AwareDatetime
    reseller_team_ids: list[str]


class LaunchAnnounced(Frozen):
    announcement_id: str | None
    """None where nothing was announced (the offer is gone, or no longer seen)."""
    partners: int


MAX_ANNOUNCEMENT_ID = 100


def launch_announcement_id(offer_id: str, launch_at: datetime) -> str:
    """`launch-{date}-{offer_id}`: one announcement per launch, so a retry finds it made."""
    readable = f"launch-{launch_at:%Y%m%d}-{offer_id}"
    if len(readable) <= MAX_ANNOUNCEMENT_ID:
        return readable
    digest = hashlib.sha256(offer_id.encode()).hexdigest()[:12]
    return f"{readable[: MAX_ANNOUNCEMENT_ID - 13]}-{digest}"
