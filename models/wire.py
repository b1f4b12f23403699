"""The JSON shapes of partnerflow's API: camelCase on the wire, as in the marketplace's own API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class ApiModel(BaseModel):
    """Requests refuse unknown fields; both `resellerTeamId` and `reseller_team_id` are accepted."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", from_attributes=True
    )


class Page(ApiModel, Generic[T]):
    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)


def _where(location: Sequence[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


def describe_errors(errors: Sequence[Any]) -> str:
    """pydantic's errors as one readable line: `field: problem; field: problem`."""
    lines = []
    for error in errors:
        where = _where(error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
