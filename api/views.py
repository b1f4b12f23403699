"""The API's JSON shapes: camelCase on the wire, as in the marketplace's own API."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import Field, TypeAdapter
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.program import Printable
from models.wire import ApiModel, Page

T = TypeVar("T")

__all__ = ["ApiModel", "ChangedBy", "Page", "Problem", "page_of"]

ChangedBy = Annotated[
    str,
    Field(min_length=1, max_length=200, description="Who the version history names."),
    Printable,
]


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
