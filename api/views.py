"""The API's JSON shapes: camelCase on the wire, as in the marketplace's own API."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

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


def page_of(
    session: Session,
    query: Select[Any],
    view: type[T],
    *,
    page: int,
    page_size: int,
) -> Page[T]:
    """One page of an ordered query's rows, each shown as `view`, with the total count."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.offset((page - 1) * page_size).limit(page_size))
    adapter = TypeAdapter(view)
    return Page[view](  # type: ignore[valid-type]
        items=[adapter.validate_python(row, from_attributes=True) for row in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


class Problem(ApiModel):
    """Every error: what went wrong, in words a person can act on."""

    detail: str
