"""Order items as the marketplace sends them: their statuses, a batch, webhook events, feedback.

The API takes and shows these shapes as they are; the order service applies them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    model_validator,
)

from models.money import Dollars
from models.wire import PATH_ID_PATTERN, WHOLE, ApiModel

MAX_BATCH = 5000
MAX_LISTED = 20
"""At most this many bad items are described when a batch is refused."""


class OrderStatus(StrEnum):
    """The marketplace's order item statuses."""

    PENDING = "pending"
    SUBMITTED_TO_PROVIDER = "submitted_to_provider"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    FAILED = "failed"


ACCEPTED_STATUSES = (
    OrderStatus.ACCEPTED,
    OrderStatus.SCHEDULED,
    OrderStatus.IN_PROGRESS,
    OrderStatus.COMPLETED,
    OrderStatus.ACTIVE,
)
"""The statuses in which the provider has taken the order: the metrics count them as accepted."""
FULFILLED_STATUSES = (OrderStatus.COMPLETED, OrderStatus.ACTIVE)
"""The statuses of an order the provider has delivered: the metrics count them as completed."""

ZIP_CODE = re.compile(r"([0-9]{5})(?:-[0-9]{4})?")


def _five_digit_zip(value: str) -> str:
    match = ZIP_CODE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a ZIP code: use 5 digits, or ZIP+4 like 12345-6789")
    return match.group(1)


PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""IDs: no control characters (PostgreSQL cannot store NUL in text)."""

ItemId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=PATH_ID_PATTERN,
        description="The marketplace's order item ID, unique among the provider's own items.",
    ),
]
Reference = Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE)]
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def _storable_time(value: datetime) -> datetime:
    """The time in UTC, if it is one an order can have."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"{value.isoformat()} is out of range: use a time from 1970 to 2999")
    return utc


Time = Annotated[
    AwareDatetime,
    AfterValidator(_storable_time),
    # The document promises the years whatever the offset: 1971-2998 (1970-2999 in UTC).
    Field(
        json_schema_extra={
            "pattern": r"^(197[1-9]|19[89][0-9]|2[0-8][0-9]{2}|29[0-8][0-9]|299[0-8])-"
        }
    ),
]
ZipCode = Annotated[
    str,
    AfterValidator(_five_digit_zip),
    Field(
        description="5 digits, or ZIP+4 (12345-6789); only the 5 digits are kept.",
        examples=["98101"],
        json_schema_extra={"pattern": rf"^\s*{ZIP_CODE.pattern}\s*$"},
    ),
]


class ServiceAddress(ApiModel):
    zip_code: ZipCode


class OrderShape(ApiModel):
    """The fields an order item has, on the way in and on the way out."""

    item_id: ItemId
    offer_id: Reference
    reseller_team_id: Reference
    service_address: ServiceAddress
    monthly_price: Dollars
    status: OrderStatus
    created_at: Time
    accepted_at: Time | None = Field(
        default=None,
        description="When the provider took the order; createdAt if omitted for an accepted "
        "status (accepted, scheduled, in_progress, completed, active).",
    )


class OrderItem(OrderShape):
    """An order item as the marketplace sends it."""

    updated_at: Time | None = Field(
        default=None,
        description="When the marketplace last changed the item. An item older than what is "
        "already stored is skipped as stale.",
    )

    @model_validator(mode="after")
    def _times_in_order(self) -> Self:
        for name, value in (("acceptedAt", self.accepted_at), ("updatedAt", self.updated_at)):
            if value is not None and value < self.created_at:
                raise ValueError(
                    f"{name} {value.isoformat()} is before createdAt {self.created_at.isoformat()}"
                )
        return self

    @property
    def accepted_time(self) -> datetime | None:
        """acceptedAt, or createdAt for an item in an accepted status that does not say when."""
        if self.accepted_at is None and self.status in ACCEPTED_STATUSES:
            return self.created_at
        return self.accepted_at

    @property
    def observed_at(self) -> datetime:
        """When the marketplace last changed the item: updatedAt, else the latest time it has."""
        return self.updated_at or max(self.created_at, self.accepted_at or self.created_at)


class OrderView(OrderShape):
    """An order item as stored, with the customer's rating."""

    updated_at: AwareDatetime
    rating: int | None


@dataclass(frozen=True)
class ItemProblems:
    """What is wrong with one item of a batch."""

    index: int
    item_id: str | None
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        label = f"orders[{self.index}]"
        if self.item_id:
            label += f" (itemId {self.item_id})"
        return f"{label}: {', '.join(self.problems)}"


def refusal(problems: Sequence[ItemProblems], total: int) -> str:
    """Why a batch was refused: the first MAX_LISTED bad items, each with all that is wrong."""
    listed = "; ".join(p.describe() for p in problems[:MAX_LISTED])
    more = len(problems) - MAX_LISTED
    tail = f"; and {more} more" if more > 0 else ""
    return f"nothing was stored: {len(problems)} of {total} orders are wrong: {listed}{tail}"


class BatchResult(ApiModel):
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = Field(default=0, description="Already stored exactly so.")
    stale: int = Field(default=0, description="Older than what is stored (by updatedAt): skipped.")

    def __add__(self, other: BatchResult) -> BatchResult:
        """The counts of two batches together, as an import of many batches reports them."""
        return BatchResult(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in BatchResult.model_fields
            }
        )


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"
    DUPLICATE = "duplicate"


class _Event(ApiModel):
    event_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=PRINTABLE,
        description="Each event ID is applied once per provider.",
    )


class OrderCreated(_Event):
    type: Literal["order.created"]
    order: OrderItem
    occurred_at: Time | None = Field(
        default=None, description="Stands for the order's updatedAt where that is missing."
    )

    @property
    def item_id(self) -> str:
        return self.order.item_id

    @property
    def item(self) -> OrderItem:
        if self.order.updated_at is not None or self.occurred_at is None:
            return self.order
        return self.order.model_copy(update={"updated_at": self.occurred_at})


class _ItemEvent(_Event):
    item_id: ItemId
    occurred_at: Time


class OrderStatusChanged(_ItemEvent):
    type: Literal["order.status_changed"]
    previous_status: OrderStatus
    new_status: OrderStatus

    @model_validator(mode="after")
    def _a_change(self) -> Self:
        if self.previous_status == self.new_status:
            raise ValueError(f"previousStatus and newStatus are both {self.new_status.value}")
        return self


class _FinalEvent(_ItemEvent):
    """An event that names only the status the order ends in."""

    status: ClassVar[OrderStatus]


class OrderCancelled(_FinalEvent):
    type: Literal["order.cancelled"]
    status: ClassVar[OrderStatus] = OrderStatus.CANCELLED


class OrderCompleted(_FinalEvent):
    type: Literal["order.completed"]
    status: ClassVar[OrderStatus] = OrderStatus.COMPLETED


class OrderRejected(_FinalEvent):
    type: Literal["order.rejected"]
    status: ClassVar[OrderStatus] = OrderStatus.REJECTED


AnyOrderEvent = Annotated[
    OrderCreated | OrderStatusChanged | OrderCancelled | OrderCompleted | OrderRejected,
    Field(discriminator="type"),
]


class EventResult(ApiModel):
    event_id: str
    item_id: str
    applied: bool = Field(
        description="False when nothing was taken in: a replay of an event already applied "
        "(outcome duplicate), or an event older than the order's stored state (outcome stale)."
    )
    outcome: Outcome
    status: OrderStatus | None = Field(description="The order's status now.")


class Feedback(ApiModel):
    rating: Annotated[int, Field(ge=1, le=5), WHOLE] = Field(
        description="The customer's rating, 1 to 5."
    )
    comment: str | None = Field(
        default=None, max_length=4000, description="What the customer wrote, kept with the rating."
    )


class FeedbackResult(ApiModel):
    item_id: str
    rating: int
