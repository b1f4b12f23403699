"""What a reseller tells a provider about its program, of the kinds the program documents ask
for: the services it needs, the ZIP codes with high demand, competitive offerings, process
improvements. Free text, with the structured fields a provider groups by (ZIP codes, a
service category)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

from models.agreement import ZIP_CODE
from models.program import Frozen, Storable
from models.reseller import ShortLine
from models.wire import PATH_ID_PATTERN

MAX_FEEDBACK_CHARS = 4000
MAX_FEEDBACK_ZIP_CODES = 50
FEEDBACK_LIMIT = 20
"""The most feedback one reseller sends one provider in FEEDBACK_WINDOW."""
FEEDBACK_WINDOW_HOURS = 24

FEEDBACK_TEXT_PATTERN = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)
"""Text that is not all blank, with no control characters but tabs and line breaks."""
ZIP_CODE_PATTERN = ZIP_CODE.pattern


class FeedbackKind(StrEnum):
    """The program documents' feedback loops: "what services they need, which ZIP codes have
    high demand, competitive offerings, process improvements"."""

    SERVICES_NEEDED = "services_needed"
    ZIP_DEMAND = "zip_demand"
    COMPETITIVE_OFFERING = "competitive_offering"
    PROCESS_IMPROVEMENT = "process_improvement"


def _multi_line(text: str) -> str:
    # Checked here rather than by FEEDBACK_TEXT_PATTERN so that each refusal says which rule.
    if any((ord(char) < 32 and char not in "\t\n\r") or ord(char) == 127 for char in text):
        raise ValueError("must not contain control characters (tabs and line breaks are fine)")
    if all(ord(char) <= 32 for char in text):
        raise ValueError("must not be blank")
    return text


FeedbackText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_FEEDBACK_CHARS,
        description="What the reseller has to say, in its own words.",
        json_schema_extra={"pattern": FEEDBACK_TEXT_PATTERN},
    ),
    Storable,
    AfterValidator(_multi_line),
]
ZipCode = Annotated[
    str, Field(min_length=5, max_length=5, json_schema_extra={"pattern": ZIP_CODE_PATTERN})
]
ProviderId = Annotated[str, Field(min_length=1, max_length=100, pattern=PATH_ID_PATTERN)]


def _kind_needs(kind: FeedbackKind, rule: JsonDict) -> JsonDict:
    return {"if": {"properties": {"kind": {"const": kind.value}}}, "then": rule}


KIND_RULES: JsonDict = {
    "allOf": [
        _kind_needs(
            FeedbackKind.ZIP_DEMAND,
            {"required": ["zipCodes"], "properties": {"zipCodes": {"minItems": 1}}},
        ),
        _kind_needs(
            FeedbackKind.SERVICES_NEEDED,
            {
                "required": ["serviceCategory"],
                "properties": {"serviceCategory": {"type": "string"}},
            },
        ),
    ]
}
"""What NewFeedback._fits_kind refuses, stated in the OpenAPI document (the API's names)."""


class NewFeedback(Frozen):
    """Feedback as a reseller sends it to one provider whose program it sees. Refused whole
    when any part does not fit."""

    model_config = ConfigDict(json_schema_extra=KIND_RULES)

    provider_id: ProviderId
    kind: FeedbackKind
    text: FeedbackText
    zip_codes: list[ZipCode] = Field(
        default_factory=list,
        max_length=MAX_FEEDBACK_ZIP_CODES,
        description="Five-digit ZIP codes; `zip_demand` names at least one. Kept sorted, once "
        "each.",
    )
    service_category: ShortLine | None = Field(
        default=None,
        description='The kind of service, e.g. "fiber internet"; `services_needed` names one.',
    )

    @field_validator("zip_codes")
    @classmethod
    def _zip_codes(cls, zip_codes: list[str]) -> list[str]:
        bad = [z for z in zip_codes if not (z.isascii() and ZIP_CODE.fullmatch(z))]
        if bad:
            raise ValueError(f"ZIP codes must have five digits: {', '.join(bad[:10])}")
        return sorted(set(zip_codes))

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind is FeedbackKind.ZIP_DEMAND and not self.zip_codes:
            raise ValueError(
                "zip_demand feedback names the ZIP codes in demand: give at least one in zipCodes"
            )
        if self.kind is FeedbackKind.SERVICES_NEEDED and self.service_category is None:
            raise ValueError(
                "services_needed feedback names the service needed: give serviceCategory "
                '(e.g. "fiber internet")'
            )
        return self


class FeedbackRecord(Frozen):
    """Feedback as it was kept, with the names of who sent it and to whom."""

    id: int
    provider_id: str
    provider_name: str
    reseller_team_id: str
    reseller_name: str
    kind: FeedbackKind
    service_category: str | None
    zip_codes: list[str]
    text: str
    created_at: datetime


class ZipDemand(Frozen):
    """One ZIP code as a provider's feedback names it: how often, by how many resellers."""

    zip_code: str
    mentions: int = Field(ge=1, description="Feedback naming the ZIP code.")
    resellers: int = Field(ge=1, description="Distinct resellers among them.")
    latest_at: datetime = Field(description="When the latest of them was sent.")
