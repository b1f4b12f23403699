"""The JSON shapes of partnerflow's API: camelCase on the wire, as in the marketplace's own API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic_core import core_schema

T = TypeVar("T")

PATH_ID_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
"""An ID that can stand in a URL path: no slash, no control character."""
MAX_ROW_ID = 2**31 - 1
"""The largest numbered row ID (a message, a key): PostgreSQL's INTEGER."""


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


def _whole_number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _WholeNumber:
    """Last in an `Annotated[int, Field(ge=..., le=...), WHOLE]`: an integer as JSON has it, 4 or
    4.0, but not "4", true or 4.5. Last, so that the range stays in the OpenAPI document."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        if inner["type"] == "int":
            inner = {**inner, "strict": True}
        return core_schema.no_info_before_validator_function(_whole_number, inner)


WHOLE = _WholeNumber()
Whole = Annotated[int, WHOLE]
"""An integer of any size, as WHOLE takes it."""


def _without_null(schema: dict[str, Any]) -> None:
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


def kept(description: str | None = None) -> Any:
    """A patch's field (typed `X | None`) that may be left out to keep its value but not be
    set to null: the OpenAPI document leaves null out, and the patch refuses one."""
    return Field(default=None, description=description, json_schema_extra=_without_null)


_PLACES = ("body", "query", "path", "header")


def _where(location: Sequence[Any], camel: bool) -> str:
    # Only the first part names the place: a field may be called `body` too.
    fields = location[1:] if location and location[0] in _PLACES else location
    parts = [to_camel(p) if camel and isinstance(p, str) else str(p) for p in fields]
    return ".".join(parts)


def _problem(error: Any, camel: bool) -> str:
    location = tuple(error.get("loc", ()))
    kind = error.get("type")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        at = location[1] if len(location) > 1 else "?"
        return f"the body is not valid JSON: {reason or 'it cannot be parsed'} (at character {at})"
    if kind == "missing" and location == ("body",):
        return "the request has no body: send a JSON object"
    where = _where(location, camel)
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def describe_errors(errors: Sequence[Any], *, camel: bool = False) -> str:
    """pydantic's errors as one readable line: `field: problem; field: problem`, the fields in
    camelCase for the API (`camel`), whichever model raised them."""
    return "; ".join(_problem(error, camel) for error in errors)
