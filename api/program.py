"""`/provider/program`: read and change the program's criteria, grace period and enrollment
policy; every change is validated whole and kept as a new version."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from api.deps import ProviderDep, SessionDep
from api.views import ApiModel, ChangedBy, Page
from models.program import (
    GOLD_DEFAULTS,
    SILVER_DEFAULTS,
    GraceDays,
    LapseDays,
    Months,
    OrdersPerMonth,
    ProgramSettings,
    Rate,
    Rating,
    Revenue,
    TierCriteria,
    UnratedRule,
    WindowDays,
)
from models.wire import WHOLE, kept
from services import program
from services.program import ProgramChange, ProgramRecord

router = APIRouter(prefix="/provider/program", tags=["program"])

# Criteria are stored as JSON, which has no infinity or NaN.
FINITE = ConfigDict(allow_inf_nan=False)


class CriteriaView(TierCriteria):
    """What a partner's metrics over the window must reach for a tier (rates are 0-1)."""

    model_config = ApiModel.model_config | FINITE


def _criteria(defaults: TierCriteria) -> CriteriaView:
    return CriteriaView.model_validate(defaults.model_dump())


class ProgramView(ProgramSettings):
    """The program's settings and their version. Fields left out of a PUT take the defaults."""

    model_config = ApiModel.model_config

    silver: CriteriaView = Field(default_factory=lambda: _criteria(SILVER_DEFAULTS))
    gold: CriteriaView = Field(default_factory=lambda: _criteria(GOLD_DEFAULTS))

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
            self.model_dump(by_alias=True, exclude_unset=True, exclude={"version", "changed_by"}),
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


@router.get("", summary="The program's settings now")
def get_program(provider: ProviderDep, db: SessionDep) -> ProgramView:
    return ProgramView.of(program.current_program(db, provider).settings)


@router.put("", summary="Replace the program's settings")
def put_program(body: ProgramBody, provider: ProviderDep, db: SessionDep) -> ProgramView:
    """Validated whole (a grace period of 30-60 days, gold at least silver, ...); a change
    makes a new version that the partners' workflows use from their next action, and the
    same settings again make none."""
    return ProgramView.of(program.change_program(db, provider, body.change()).current.settings)


@router.patch("", summary="Change some of the program's settings")
def patch_program(body: ProgramPatch, provider: ProviderDep, db: SessionDep) -> ProgramView:
    """The given settings are merged into the current ones (criteria key by key) and the
    result is validated and versioned as a PUT of it would be."""
    current = program.current_program(db, provider, lock=True).settings
    change = body.applied_to(current).change()
    return ProgramView.of(program.change_program(db, provider, change).current.settings)


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
