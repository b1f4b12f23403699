"""The order API's request bodies: a batch checked as a whole, and one webhook event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    RootModel,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from models.orders import MAX_BATCH, AnyOrderEvent, ItemProblems, OrderItem, refusal
from models.wire import ApiModel


def describe_error(error: ErrorDetails, skip: int = 0) -> str:
    """One pydantic error as `path: problem`, without the first `skip` parts of its path."""
    where = ".".join(str(part) for part in error["loc"][skip:])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _raw_item_id(raw: Sequence[Any], index: int) -> str | None:
    item = raw[index] if index < len(raw) else None
    if isinstance(item, Mapping):
        value = item.get("itemId", item.get("item_id"))
        if isinstance(value, str):
            return value
    return None


def _shape_problems(error: ValidationError, raw: Sequence[Any]) -> list[ItemProblems]:
    """pydantic's errors in the items of a batch, grouped by item."""
    by_index: dict[int, ItemProblems] = {}
    for detail in error.errors():
        loc = detail["loc"]
        if len(loc) < 2 or loc[0] != "orders" or not isinstance(loc[1], int):
            continue
        index = loc[1]
        if index not in by_index:
            by_index[index] = ItemProblems(index, _raw_item_id(raw, index))
        by_index[index].problems.append(describe_error(detail, skip=2))
    return [by_index[index] for index in sorted(by_index)]


class OrderBatch(ApiModel):
    """Order items to create or update. Checked as a whole: one bad item and nothing is stored."""

    orders: list[OrderItem] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="wrap")
    @classmethod
    def _one_readable_refusal(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Describe bad items as the service's own checks do: by index and itemId, a few at most."""
        raw = data.get("orders") if isinstance(data, Mapping) else None
        if isinstance(raw, list) and len(raw) > MAX_BATCH:
            raise PydanticCustomError(
                "batch_too_large",
                "a batch holds at most {limit} orders and this one has {count}: send it in parts",
                {"limit": MAX_BATCH, "count": len(raw)},
            )
        try:
            return handler(data)
        except ValidationError as error:
            problems = _shape_problems(error, raw) if isinstance(raw, list) else []
            if not problems:
                raise
            raise PydanticCustomError(
                "invalid_orders", "{detail}", {"detail": refusal(problems, len(raw or []))}
            ) from None


class WebhookEvent(RootModel[AnyOrderEvent]):
    """One of the marketplace's order webhook events, told apart by `type`."""
