"""`/provider/program`: read and change the program's criteria, grace period and enrollment
policy; every change is validated whole and kept as a new version, in force now or from its
effective date, and may be previewed on today's figures first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import ProviderDep, Services, ServicesDep, SessionDep
from api.program_views import Dated, PreviewView
from api.views import ApiModel, ChangedBy, Page
from models.program import (
    GOLD_DEFAULTS,
    SILVER_DEFAULTS,
    GraceDays,
    LapseDays,
    Months,
    OrdersPerMonth,
    Percent,
    ProgramSettings,
    Rate,
    Rating,
    Revenue,
    TierCriteria,
    TierDiscounts,
    UnratedRule,
    WindowDays,
)
from models.wire import WHOLE, kept
from services import program
from services.program import ProgramChange, ProgramRecord, ProgramSaved, ScheduledChange
from services.program_preview import preview_change

router = APIRouter(prefix="/provider/program", tags=["program"])

# Criteria are stored as JSON, which has no infinity or NaN.
FINITE = ConfigDict(allow_inf_nan=False)


class CriteriaView(TierCriteria):
    """What a partner's metrics over the window must reach for a tier (rates are 0-1)."""

    model_config = ApiModel.model_config | FINITE


def _criteria(defaults: TierCriteria) -> CriteriaView:
    return CriteriaView.model_validate(defaults.model_dump())


class TierDiscountsView(TierDiscounts):
    """Percent off list prices per tier (0-90), where an offer sets no price of its own for
    the tier; a tier never pays more than the tier below it."""

    model_config = ApiModel.model_config | FINITE


class ProgramView(ProgramSettings):
    """The program's settings and their version. Fields left out of a PUT take the defaults."""

    model_config = ApiModel.model_config

    silver: CriteriaView = Field(default_factory=lambda: _criteria(SILVER_DEFAULTS))
    gold: CriteriaView = Field(default_factory=lambda: _criteria(GOLD_DEFAULTS))
    tier_discounts: TierDiscountsView = Field(
        default_factory=TierDiscountsView,
        description=ProgramSettings.model_fields["tier_discounts"].description,
    )

    @classmethod
    def of(cls, settings: ProgramSettings) -> ProgramView:
        return cls.model_validate(settings.model_dump())

    def settings(self) -> ProgramSettings:
        return ProgramSettings.model_validate(
            self.model_dump(include=set(ProgramSettings.model_fields))
        )


class ProgramBody(ProgramView):
    """New settings, whole. `version`, if given, is the version they were based on: a 409
    then says the program has changed since, instead of undoing another's change."""

    changed_by: ChangedBy = "api"

    def change(self) -> ProgramChange:
        based_on = self.version if "version" in self.model_fields_set else None
        return ProgramChange(
            settings=self.settings(), changed_by=self.changed_by, expected_version=based_on
        )


class CriteriaPatch(ApiModel):
    """Criteria to change; the ones left out keep their values."""

    model_config = ApiModel.model_config | FINITE

    min_orders_per_month: OrdersPerMonth | None = kept()
    min_acceptance_rate: Rate | None = kept()
    min_completion_rate: Rate | None = kept()
    min_rating: Rating | None = kept()
    min_tenure_months: Months | None = kept()
    min_revenue: Revenue | None = kept()


class TierDiscountsPatch(ApiModel):
    """Tier discounts to change; the tiers left out keep theirs."""

    model_config = ApiModel.model_config | FINITE

    silver: Percent | None = kept()
    gold: Percent | None = kept()


class ProgramPatch(ApiModel):
    """Settings to change; the rest keep their values, and the result is validated whole."""

    tiers: Literal["single", "three"] | None = kept()
    silver: CriteriaPatch | None = kept()
    gold: CriteriaPatch | None = kept()
    metrics_window_days: WindowDays | None = kept()
    grace_period_days: GraceDays | None = kept()
    auto_enroll: bool | None = kept()
    candidate_lapse_days: LapseDays | None = kept()
    issue_window_days: WindowDays | None = kept()
    unrated: UnratedRule | None = kept()
    tier_discounts: TierDiscountsPatch | None = kept()
    version: Annotated[int, Field(ge=1), WHOLE] | None = kept(
        "The version this change is based on."
    )
    changed_by: ChangedBy = "api"

    def applied_to(self, current: ProgramSettings) -> ProgramBody:
        """The current settings with this patch merged in, as a whole body to validate.

        Merged in camelCase, so that a refusal names the fields as the request did.
        """
        merged = _merge(
            ProgramView.of(current).model_dump(by_alias=True, exclude={"version"}),
            self.model_dump(
                by_alias=True,
                exclude_unset=True,
                exclude={"version", "changed_by", "effective_date"},
            ),
        )
        # Based on the version merged into, unless the client says otherwise: where the row
        # lock is missing (SQLite), a change that raced another is then a 409, not lost.
        based_on = self.version if self.version is not None else current.version
        return ProgramBody.model_validate(
            {**merged, "changedBy": self.changed_by, "version": based_on}
        )


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`base` with `patch` laid over it, objects merged key by key."""
    merged = dict(base)
    for key, value in patch.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged


class ProgramVersionView(ApiModel):
    version: int
    settings: ProgramView
    changed_by: str
    created_at: datetime


def _version_view(record: ProgramRecord) -> ProgramVersionView:
    return ProgramVersionView(
        version=record.version,
        settings=ProgramView.of(record.settings),
        changed_by=record.changed_by,
        created_at=record.created_at,
    )


class ProgramPut(ProgramBody, Dated):
    """New settings, whole, in force now or from `effectiveDate`."""


class ProgramPatchBody(ProgramPatch, Dated):
    """Settings to change, in force now or from `effectiveDate`."""


class ScheduledChangeView(ApiModel):
    """A change waiting for its effective date (or, once cancelled, what it was)."""

    version: int
    based_on: int = Field(description="The version in force when it was saved.")
    settings: ProgramView
    changed_by: str
    created_at: datetime
    effective_at: datetime
    status: str = Field(description="scheduled, applied, cancelled or superseded")


class ProgramState(ProgramView):
    """The program's settings. `status` and `effectiveAt` appear on the answer to a change that
    waits for its date (its settings are then the new ones, not yet in force);
    `scheduledChange`, on the program in force while a change waits."""

    status: Literal["scheduled"] | None = None
    effective_at: datetime | None = None
    scheduled_change: ScheduledChangeView | None = None


def _change_view(change: ScheduledChange) -> ScheduledChangeView:
    return ScheduledChangeView(
        version=change.version,
        based_on=change.based_on,
        settings=ProgramView.of(change.settings),
        changed_by=change.changed_by,
        created_at=change.created_at,
        effective_at=change.effective_at,
        status=change.status.value,
    )


def _state(settings: ProgramSettings, pending: ScheduledChange | None = None) -> ProgramState:
    return ProgramState.model_validate(
        {
            **ProgramView.of(settings).model_dump(),
            "scheduled_change": pending and _change_view(pending),
        }
    )


PROGRAM_ANSWER: dict[str, Any] = {"response_model_exclude_none": True}


@router.get("", summary="The program's settings now", **PROGRAM_ANSWER)
def get_program(provider: ProviderDep, db: SessionDep) -> ProgramState:
    """The program in force, and the change waiting for its date, if any."""
    return _state(
        program.current_program(db, provider).settings, program.pending_change(db, provider)
    )


def _save(
    svc: Services,
    provider: str,
    make_change: Callable[[Session], ProgramChange],
    effective_at: datetime | None,
) -> ProgramSaved:
    with svc.db.transaction() as session:
        return program.save_change(
            session,
            provider,
            make_change(session),
            effective_at=effective_at,
            now=datetime.now(UTC),
        )


async def _answer(svc: Services, provider: str, saved: ProgramSaved) -> ProgramState:
    """Start the change's workflow where it has a date to wait for or partners to tell."""
    await svc.program_changes.start_saved(svc.db, provider, saved)
    scheduled = saved.scheduled
    if scheduled is None:
        return _state(saved.current.settings)
    state = _state(scheduled.settings)
    return state.model_copy(update={"status": "scheduled", "effective_at": scheduled.effective_at})


@router.put("", summary="Replace the program's settings", **PROGRAM_ANSWER)
async def put_program(body: ProgramPut, provider: ProviderDep, svc: ServicesDep) -> ProgramState:
    """Validated whole (a grace period of 30-60 days, gold at least silver, ...); a change
    makes a new version that the partners' workflows use from their next action, and the
    same settings again make none. With a future `effectiveDate` the version waits for that
    date (the answer says `"status": "scheduled"`), and a change that tightens the criteria
    is announced to the partners it would take below their tier. While a change waits, any
    other is refused (409): `DELETE /provider/program/scheduled` cancels it."""
    saved = await run_in_threadpool(
        _save, svc, provider, lambda session: body.change(), body.effective_at
    )
    return await _answer(svc, provider, saved)


@router.patch("", summary="Change some of the program's settings", **PROGRAM_ANSWER)
async def patch_program(
    body: ProgramPatchBody, provider: ProviderDep, svc: ServicesDep
) -> ProgramState:
    """The given settings are merged into the current ones (criteria key by key) and the
    result is validated and versioned as a PUT of it would be, `effectiveDate` too."""

    def change(session: Session) -> ProgramChange:
        current = program.current_program(session, provider, lock=True).settings
        return body.applied_to(current).change()

    saved = await run_in_threadpool(_save, svc, provider, change, body.effective_at)
    return await _answer(svc, provider, saved)


def _cancel(svc: Services, provider: str) -> ScheduledChange:
    with svc.db.transaction() as session:
        return program.cancel_scheduled(session, provider, datetime.now(UTC))


@router.delete("/scheduled", summary="Cancel the change waiting for its date")
async def cancel_scheduled(provider: ProviderDep, svc: ServicesDep) -> ScheduledChangeView:
    """The change is never put in force and its timer is cancelled; 404 if none waits.
    Partners already told of it are not told again."""
    cancelled = await run_in_threadpool(_cancel, svc, provider)
    await svc.program_changes.cancel(provider, cancelled.version)
    return _change_view(cancelled)


def _preview(svc: Services, provider: str, body: ProgramPatch, limit: int) -> PreviewView:
    with svc.db.transaction() as session:
        current = program.current_program(session, provider).settings
        changed = body.applied_to(current).settings()
        found = preview_change(session, provider, current, changed, datetime.now(UTC), limit=limit)
    return PreviewView.model_validate(found.model_dump())


@router.post("/preview", summary="What a change would do, on today's figures")
async def preview_program(
    body: ProgramPatch,
    provider: ProviderDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PreviewView:
    """The body is a PATCH's (the settings to change; the rest keep the program in force's).
    Every reseller is judged under the program in force and under the changed one, over the
    changed program's metrics window ending now, as a review would: the counts by outcome
    under each, and the resellers whose outcome or tier the change alters (the first `limit`
    by team ID) with the criteria each would miss. Nothing is written, signalled or sent."""
    return await run_in_threadpool(_preview, svc, provider, body, limit)


@router.get("/versions", summary="The program's versions, newest first")
def list_versions(
    provider: ProviderDep,
    db: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, alias="pageSize")] = 50,
) -> Page[ProgramVersionView]:
    records, total = program.program_history(db, provider, page=page, page_size=page_size)
    return Page[ProgramVersionView](
        items=[_version_view(record) for record in records],
        total=total,
        page=page,
        page_size=page_size,
    )
