"""A provider's partner program: tiers and the criteria that move partners between them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from models.wire import WHOLE, Whole

GRACE_PERIOD_MIN_DAYS = 30
GRACE_PERIOD_MAX_DAYS = 60
MAX_TIER_DISCOUNT = 90
"""The largest discount off list prices, in percent, a tier can be given."""


class Tier(StrEnum):
    """Partner tiers. The program documents call silver "preferred" and gold "strategic"."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"

    @classmethod
    def _missing_(cls, value: object) -> Tier | None:
        if isinstance(value, str):
            normalized = value.strip().lower()
            alias = {"preferred": "silver", "strategic": "gold"}.get(normalized, normalized)
            for member in cls:
                if member.value == alias:
                    return member
        return None

    @property
    def rank(self) -> int:
        return _TIER_ORDER.index(self)


_TIER_ORDER = (Tier.BRONZE, Tier.SILVER, Tier.GOLD)


def storable(value: str) -> str:
    """Text the program database can keep: PostgreSQL refuses a NUL character in text."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def printable(text: str) -> str:
    """A one-line name or ID: no control characters at all."""
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("must not contain control characters")
    return text


@dataclass(frozen=True)
class _Refuses:
    """A check on a string that the OpenAPI document states as the pattern it enforces, so that
    a client (or a generated one) knows before sending; the check's own message stays the
    error a provider reads."""

    check: Callable[[str], str]
    pattern: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        if found.get("type") == "string":
            found.setdefault("pattern", self.pattern)
        return found


Storable = _Refuses(storable, r"^[^\x00]*$")
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"
"""The pattern of storable text that is not all blank."""
Text = Annotated[str, Storable]
"""A string that any backend can store."""

Printable = _Refuses(printable, r"^[^\x00-\x1f\x7f]*$")


class Frozen(BaseModel):
    """Base for value objects: immutable, and unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def validate_grace_days(days: int) -> int:
    """The grace period in days, or a ValueError a provider can act on."""
    if not GRACE_PERIOD_MIN_DAYS <= days <= GRACE_PERIOD_MAX_DAYS:
        raise ValueError(
            f"grace period must be between {GRACE_PERIOD_MIN_DAYS} and "
            f"{GRACE_PERIOD_MAX_DAYS} days, got {days}"
        )
    return days


OrdersPerMonth = Annotated[float, Field(ge=0)]
Rate = Annotated[float, Field(ge=0, le=1)]
Rating = Annotated[float, Field(ge=0, le=5)]
Months = Annotated[int, Field(ge=0), WHOLE]
Revenue = Annotated[float, Field(ge=0)]
WindowDays = Annotated[int, Field(ge=7, le=730), WHOLE]
LapseDays = Annotated[int, Field(ge=1, le=365), WHOLE]
Version = Annotated[int, Field(ge=1), WHOLE]
Percent = Annotated[float, Field(ge=0, le=MAX_TIER_DISCOUNT)]
GraceDays = Annotated[
    Whole,
    AfterValidator(validate_grace_days),
    # A validator rather than ge/le, so that the refusal names the whole 30-60 range.
    Field(json_schema_extra={"minimum": GRACE_PERIOD_MIN_DAYS, "maximum": GRACE_PERIOD_MAX_DAYS}),
]
"""Setting types, shared by the settings and the patches that change them."""


class TierCriteria(Frozen):
    """What a reseller's metrics over the window must reach for a tier."""

    min_orders_per_month: OrdersPerMonth
    min_acceptance_rate: Rate
    min_completion_rate: Rate = 0
    min_rating: Rating
    min_tenure_months: Months
    min_revenue: Revenue = 0


SILVER_DEFAULTS = TierCriteria(
    min_orders_per_month=10,
    min_acceptance_rate=0.90,
    min_completion_rate=0.95,
    min_rating=4.5,
    min_tenure_months=3,
)
GOLD_DEFAULTS = TierCriteria(
    min_orders_per_month=50,
    min_acceptance_rate=0.95,
    min_completion_rate=0.95,
    min_rating=4.8,
    min_tenure_months=12,
    min_revenue=25_000,
)


class TierDiscounts(Frozen):
    """What each tier gets off an offer's list price, in percent, where the offer does not set
    a price of its own for the tier (models.pricing). Bronze always pays the list price."""

    silver: Percent = 0
    gold: Percent = 0

    def percent_for(self, tier: Tier) -> float:
        if tier is Tier.SILVER:
            return self.silver
        if tier is Tier.GOLD:
            return self.gold
        return 0


NO_DISCOUNTS = TierDiscounts()


UnratedRule = Literal["not_met", "without_rating"]
"""How a program judges a reseller no customer has rated yet: its rating criterion is not met
(the program documents' candidate query leaves unrated resellers out), or it is judged
without the rating criterion."""


class ProgramSettings(Frozen):
    """One provider's program: tiers, criteria, window, grace period, enrollment policy."""

    tiers: Literal["single", "three"] = "three"
    silver: TierCriteria = SILVER_DEFAULTS
    gold: TierCriteria = GOLD_DEFAULTS
    metrics_window_days: WindowDays = 90
    grace_period_days: GraceDays = Field(
        default=45,
        description="Days an at-risk partner keeps its benefits before removal (30-60).",
    )
    auto_enroll: bool = False
    candidate_lapse_days: LapseDays = 30
    issue_window_days: WindowDays = Field(
        default=90,
        description="Reported issues within this many days escalate the progressive response.",
    )
    unrated: UnratedRule = Field(
        default="not_met",
        description='A reseller with no ratings yet: "not_met" fails the rating criterion, '
        '"without_rating" judges it on the other criteria.',
    )
    tier_discounts: TierDiscounts = Field(
        default=NO_DISCOUNTS,
        description="Percent off list prices per tier (0-90), e.g. silver 5, gold 10; an "
        "offer's own price for a tier comes first.",
    )
    version: Version = 1

    @model_validator(mode="after")
    def _gold_is_above_silver(self) -> ProgramSettings:
        if (
            self.tiers == "three"
            and self.gold.min_orders_per_month < self.silver.min_orders_per_month
        ):
            raise ValueError("gold must require at least as many orders per month as silver")
        return self

    def criteria_for(self, tier: Tier) -> TierCriteria | None:
        """A tier's criteria; bronze has none, nor has gold in a single-tier program."""
        if tier is Tier.SILVER:
            return self.silver
        if tier is Tier.GOLD and self.tiers == "three":
            return self.gold
        return None

    @property
    def partner_tiers(self) -> tuple[Tier, ...]:
        """The tiers a partner on the preferred list can hold, lowest first."""
        return (Tier.SILVER, Tier.GOLD) if self.tiers == "three" else (Tier.SILVER,)
