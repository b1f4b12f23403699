"""The marketplace's resellers as the marketplace registers them: one record per reseller, by
team ID, from a file (`partnerflow resellers import`) or the marketplace's own sync (`PUT
/marketplace/resellers`). Resellers are every provider's, so only the operator's tools and the
marketplace write them; providers search and read them.

A record is an upsert: a field left out keeps the value it has (a CSV's empty cell too), and
`null` clears an optional one. A new reseller needs its name.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, ValidationError, model_validator

from models.wire import PATH_ID_PATTERN, ApiModel, describe_errors, kept

MAX_SYNC_RECORDS = 5000
"""The most records one `PUT /marketplace/resellers` carries (about 2.5 MB at their longest)."""
MAX_IMPORT_ROWS = 20_000
"""The most rows `partnerflow resellers import` reads from one file."""
MAX_IMPORT_BYTES = 10 * 1024 * 1024
"""The largest file `partnerflow resellers import` reads."""
MAX_QUERY_LENGTH = 100
"""The longest search text of `GET /provider/resellers?q=`."""

TEAM_ID_PATTERN = PATH_ID_PATTERN
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"
"""One line of text that is not all blank."""
EMAIL_PATTERN = r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+$"
PHONE_PATTERN = r"^\+?[0-9][0-9 ().-]{2,49}$"


def _one_line(text: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("must not contain control characters")
    if all(ord(char) <= 32 for char in text):
        raise ValueError("must not be blank")
    return text


def _matching(pattern: str, problem: str) -> AfterValidator:
    """A check by `pattern` (stated in the OpenAPI document) whose refusal says `problem`."""

    def check(text: str) -> str:
        if re.fullmatch(pattern.strip("^$"), text) is None:
            raise ValueError(problem)
        return text

    return AfterValidator(check)


def _line(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length, json_schema_extra={"pattern": LINE_PATTERN})


OneLine = AfterValidator(_one_line)
TeamId = Annotated[str, Field(min_length=1, max_length=100, pattern=TEAM_ID_PATTERN)]
Name = Annotated[str, _line(200), OneLine]
ContactName = Annotated[str, _line(200), OneLine]
Region = Annotated[str, _line(100), OneLine]
ShortLine = Region
"""One line of at most 100 characters, not all blank: a region, an API key's label."""
Email = Annotated[
    str,
    Field(min_length=3, max_length=320, json_schema_extra={"pattern": EMAIL_PATTERN}),
    _matching(EMAIL_PATTERN, "must be an email address: name@domain, no spaces"),
]
Phone = Annotated[
    str,
    Field(min_length=3, max_length=50, json_schema_extra={"pattern": PHONE_PATTERN}),
    _matching(PHONE_PATTERN, "must be a phone number: digits, spaces, ( ) . - and a leading +"),
]

UPDATABLE = ("name", "email", "contact_name", "phone", "region", "joined_at")
"""The fields a record may set, as the resellers table names them."""


class ResellerRecord(ApiModel):
    """One reseller to add or update, by its team ID."""

    reseller_team_id: TeamId
    name: Name | None = kept("Required for a new reseller; left out, an existing one keeps its.")
    email: Email | None = Field(default=None, description="null clears it.")
    contact_name: ContactName | None = Field(
        default=None, description="Whom to talk to at the reseller; null clears it."
    )
    phone: Phone | None = Field(default=None, description="null clears it.")
    region: Region | None = Field(
        default=None, description="Free text, e.g. 'Pacific Northwest'; null clears it."
    )
    joined_at: AwareDatetime | date | None = Field(
        default=None,
        description="When it joined the marketplace (a date means 00:00 UTC); null clears it.",
    )

    @model_validator(mode="after")
    def _name_not_cleared(self) -> ResellerRecord:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name must not be null: a reseller keeps a name")
        return self

    def changes(self) -> dict[str, Any]:
        """The columns this record sets: only the fields it gives."""
        given = self.model_fields_set
        values = {name: getattr(self, name) for name in UPDATABLE if name in given}
        if isinstance(values.get("joined_at"), date) and not isinstance(
            values["joined_at"], datetime
        ):
            values["joined_at"] = datetime.combine(values["joined_at"], time(), tzinfo=UTC)
        return values


class RecordsRefused(ValueError):
    """A record that does not fit: nothing of its batch is written. Names the row (from 1)."""


def parse_records(rows: list[Any], *, limit: int) -> list[ResellerRecord]:
    """Every row as a record, or RecordsRefused naming the first row that does not fit and its
    field; a team ID given twice is refused too, as the rows would contradict each other."""
    if len(rows) > limit:
        raise RecordsRefused(f"{len(rows)} resellers is more than {limit}, the most at once")
    records: list[ResellerRecord] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise RecordsRefused(f"row {number}: must be an object with resellerTeamId and name")
        try:
            record = ResellerRecord.model_validate(row)
        except ValidationError as error:
            raise RecordsRefused(
                f"row {number}: {describe_errors(error.errors(), camel=True)}"
            ) from None
        first = seen.setdefault(record.reseller_team_id, number)
        if first != number:
            raise RecordsRefused(
                f"row {number}: resellerTeamId: {record.reseller_team_id} is already in row {first}"
            )
        records.append(record)
    return records
