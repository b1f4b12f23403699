"""A review's dry run: what the review of a period would decide, with nothing written or sent.

It reads what the review itself would read (the period's window, the program in
force, every reseller's orders and the provider's list) and decides through the
same function, so the review run afterwards on the same data decides the same.
A period already reviewed is previewed with the window and program version that
review recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from pydantic import AwareDatetime, Field
from sqlalchemy.orm import Session

from models.program import Frozen, ProgramSettings
from models.review import (
    ReviewCadence,
    ReviewPeriod,
    acts_on,
    audit_reason,
    review_id,
    window_text,
)
from models.schema import ProgramReview, Provider
from models.standing import Standing
from services.errors import NotFoundError
from services.reviews import SnapshotRecord
from store.assessment import Figures


class ReviewPreview(Frozen):
    """What the review of a period would decide for each reseller, and how many of each."""

    review_id: str = Field(description="The ID the review has, or would have, once run.")
    cadence: ReviewCadence
    period: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    window: str = Field(description="The metrics window, first and last day: the period.")
    program_version: int = Field(description="The program version the review would apply.")
    audit: bool = Field(
        description="The review would be a past-period audit: it would change nobody."
    )
    audit_reason: str | None = None
    already_reviewed: bool = Field(
        description="The period has been reviewed (or is under review): a run now would not "
        "decide again, and this preview applies that review's window and program version."
    )
    resellers: int = Field(description="Resellers the review would assess.")
    standings: dict[Standing, int] = Field(description="Resellers by the standing found.")
    partners: Sequence[SnapshotRecord]
    total: int = Field(description="Resellers matching the standing asked for, over all pages.")


def _plan(
    session: Session, provider_id: str, period: ReviewPeriod, now: datetime
) -> tuple[ProgramSettings, int, datetime, datetime, bool, bool]:
    """The program, version and window the review would apply, whether it would act, and
    whether it has been recorded already."""
    recorded = session.get(ProgramReview, review_id(provider_id, period))
    if recorded is not None and recorded.provider_id == provider_id:
        return (
            ProgramSettings.model_validate(recorded.program),
            recorded.program_version,
            recorded.window_start,
            recorded.window_end,
            acts_on(period, recorded.started_at),
            True,
        )
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError(f"no provider {provider_id!r}")
    program = ProgramSettings.model_validate(provider.program)
    return program, provider.program_version, period.start, period.end, acts_on(period, now), False


def preview_review(
    session: Session,
    provider_id: str,
    period: ReviewPeriod,
    now: datetime,
    *,
    standing: Standing | Sequence[Standing] | None = None,
    page: int = 1,
    page_size: int = 50,
) -> ReviewPreview:
    """The dry run of the review of `period` as if started at `now`: one page of the resellers
    (by team ID, of `standing` if given: one or several), with the counts of every standing."""
    program, version, start, end, acts, recorded = _plan(session, provider_id, period, now)
    rid = review_id(provider_id, period)
    judged = Figures(session, provider_id, start, end).judge(program, review_id=rid)
    counts = Counter(Standing(row["standing"]) for row in judged)
    wanted = (
        None
        if standing is None
        else {standing.value}
        if isinstance(standing, Standing)
        else {s.value for s in standing}
    )
    chosen = sorted(
        (row for row in judged if wanted is None or row["standing"] in wanted),
        key=lambda row: str(row["reseller_team_id"]),
    )
    first = (page - 1) * page_size
    return ReviewPreview(
        review_id=rid,
        cadence=period.cadence,
        period=period.label,
        window_start=start,
        window_end=end,
        window=window_text(start, end),
        program_version=version,
        audit=not acts,
        audit_reason=None if acts else audit_reason(period),
        already_reviewed=recorded,
        resellers=len(judged),
        standings=dict(sorted(counts.items())),
        partners=[
            SnapshotRecord.model_validate(
                {key: value for key, value in row.items() if key != "review_id"}
            )
            for row in chosen[first : first + page_size]
        ],
        total=len(chosen),
    )
