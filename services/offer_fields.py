"""The fields of an offer as providers send them: IDs, names, audience and status, and the
rules between them that the OpenAPI document states for a new offer."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, WithJsonSchema
from pydantic.config import JsonDict

from models.offers import OfferStatus, Visibility
from models.program import Printable, Storable, Tier
from models.wire import PATH_ID_PATTERN

OfferId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:~-]*$",
        description="Letters, digits and . _ : ~ -; unique across the marketplace.",
    ),
]
OfferName = Annotated[str, Field(min_length=1, max_length=200), Printable]
InternalName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="The provider's own name: never shown to resellers.",
    ),
    Printable,
]
Category = Annotated[str, Field(min_length=1, max_length=100), Printable]
Description = Annotated[str, Field(max_length=5000), Storable]
StatusField = Annotated[
    OfferStatus,
    Field(description="active (seen by its audience), draft, paused or retired (seen by nobody)."),
]
NO_SLASH = r"^[^/]+$"
TEAM_ID_PATTERN = PATH_ID_PATTERN
"""A team ID as the OpenAPI document states it: no slash (NO_SLASH) and printable."""
TeamId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=NO_SLASH,
        json_schema_extra={"pattern": TEAM_ID_PATTERN},
    ),
    Printable,
]
AllowedResellers = Annotated[
    list[TeamId],
    Field(max_length=1000, description="The resellers a `selected` offer is shown to."),
]
MinTier = Annotated[
    Tier,
    WithJsonSchema(
        {"type": "string", "enum": ["silver", "gold", "preferred", "strategic"]}, mode="validation"
    ),
    Field(description='silver or gold ("preferred" and "strategic" also work)'),
]


def _only_for(visibility: Visibility, field: str, empty: JsonDict) -> JsonDict:
    return {
        "if": {"properties": {"visibility": {"const": visibility.value}}},
        "else": {"properties": {field: empty}},
    }


NO_EARLY_ACCESS: JsonDict = {
    "if": {"properties": {"visibility": {"const": Visibility.SELECTED.value}}},
    "then": {"properties": {"metadata": {"properties": {"earlyAccess": {"not": {"const": True}}}}}},
}
"""A `selected` offer has no early access: its audience is its list."""

AUDIENCE_RULES: JsonDict = {
    "allOf": [
        _only_for(Visibility.PREFERRED, "minTier", {"type": "null"}),
        _only_for(Visibility.SELECTED, "allowedResellers", {"maxItems": 0}),
        NO_EARLY_ACCESS,
    ]
}
"""What OfferAudience.check refuses, stated in the OpenAPI document for a new offer."""
