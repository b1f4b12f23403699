"""The program change's shapes on the wire: an effective date on a change, the change waiting
for it, and what a change would do to the resellers on today's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pydantic import AwareDatetime, Field, field_validator

from api.views import ApiModel
from models.program_change import TOO_FAR, too_far


def aware(value: AwareDatetime | date | None) -> datetime | None:
    """A bare date means 00:00 UTC of that day."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


class Dated(ApiModel):
    """A change that may wait for a date."""

    effective_date: AwareDatetime | date | None = Field(
        default=None,
        description="Put the change in force on this date instead of now (a date means 00:00 "
        "UTC). Absent, or not in the future: now. At most two years ahead.",
    )

    @field_validator("effective_date")
    @classmethod
    def _within_reach(cls, value: AwareDatetime | date | None) -> AwareDatetime | date | None:
        at = aware(value)
        if at is not None and too_far(at, datetime.now(UTC)):
            raise ValueError(TOO_FAR)
        return value

    @property
    def effective_at(self) -> datetime | None:
        return aware(self.effective_date)


class Outcome(ApiModel):
    outcome: str = Field(description="promoted, demoted, at_risk, candidate, recovered, unchanged")
    standing: str
    status_after: str | None
    tier_after: str
    failed_criteria: list[str] = Field(description="Each criterion missed: value < threshold.")


class PreviewRowView(ApiModel):
    reseller_team_id: str
    status_before: str | None
    tier_before: str
    in_force: Outcome = Field(description="A review under the program in force, today.")
    changed_to: Outcome = Field(description="A review under the changed program, today.")


class PreviewView(ApiModel):
    """What the change would do on today's figures; nothing was written, signalled or sent."""

    version_in_force: int
    window_start: datetime
    window_end: datetime
    judged: int
    counts_in_force: dict[str, int] = Field(description="Resellers by outcome, program in force.")
    counts_changed_to: dict[str, int] = Field(description="Resellers by outcome, changed program.")
    affected: int = Field(description="Resellers whose outcome or tier the change would alter.")
    resellers: list[PreviewRowView] = Field(description="The first `limit` of them, by team ID.")
