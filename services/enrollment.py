"""Enrolling a reseller as a preferred partner: who may be enrolled, and when a provider must
say why. The API and the CLI both check here before they start the partner's workflow, so that
the rule, and what it tells a provider, is the same whichever way the enrollment comes."""

from __future__ import annotations

from datetime import UTC, datetime

from models.database import Database
from models.metrics import PartnerMetrics, failed
from models.partner import PartnerStatus
from models.program import ProgramSettings, Tier
from models.records import MetricsRequest
from models.schema import PreferredListEntry, Provider, Reseller
from models.standing import retention_check
from services.errors import ConflictError, InputError, NotFoundError
from store.metrics import partner_metrics


def override_problem(
    override: bool,
    notes: str | None,
    *,
    min_words: int = 1,
    override_name: str = "override",
    notes_name: str = "notes",
) -> str | None:
    """What is wrong with an override's reason, or None: an enrollment below the criteria is
    recorded on its transition with the reason, so an override must give one, of at least
    `min_words` words. The names are the request's: the API's fields, or the CLI's options."""
    if not override or len((notes or "").split()) >= min_words:
        return None
    words = f", in at least {min_words} words" if min_words > 1 else ""
    return (
        f"{override_name} needs the reason in {notes_name}{words}: why enroll this reseller "
        "below the tier's criteria"
    )


def require_reseller(db: Database, team_id: str) -> None:
    """An enrollment names a reseller the program database knows."""
    with db.transaction() as session:
        if session.get(Reseller, team_id) is None:
            raise InputError(f"unknown reseller {team_id!r}: no reseller has this team ID")


def program_and_metrics(
    db: Database, provider_id: str, reseller_team_id: str
) -> tuple[ProgramSettings, PartnerMetrics]:
    """The provider's program now, and the partner's metrics over its window."""
    with db.transaction() as session:
        provider = session.get(Provider, provider_id)
        if provider is None:
            raise NotFoundError(f"unknown provider {provider_id!r}")
        program = ProgramSettings.model_validate(provider.program)
    metrics = partner_metrics(
        db,
        MetricsRequest(
            provider_id=provider_id,
            reseller_team_id=reseller_team_id,
            as_of=datetime.now(UTC),
            window_days=program.metrics_window_days,
        ),
    )
    return program, metrics


def require_criteria_or_override(
    db: Database,
    provider_id: str,
    reseller_team_id: str,
    tier: Tier,
    *,
    override: bool,
    how_to_override: str,
) -> None:
    """Enrolling below the tier's criteria is a deliberate act: without `override` it is a
    ConflictError that lists what the reseller misses today, each criterion with its value and
    threshold, and ends with `how_to_override` (the API names its JSON fields, the CLI its
    options). A repeat of an enrollment already through passes, as it did the first time,
    whatever the metrics have done since."""
    if override:
        return
    with db.transaction() as session:
        entry = session.get(PreferredListEntry, (provider_id, reseller_team_id))
        if (
            entry is not None
            and PartnerStatus(entry.status).on_preferred_list
            and entry.tier == tier.value
        ):
            return
    program, metrics = program_and_metrics(db, provider_id, reseller_team_id)
    if tier not in program.partner_tiers:
        return  # the workflow refuses it, with its own reason
    missed = failed(retention_check(metrics, program, tier))
    if missed:
        listed = "; ".join(criterion.describe() for criterion in missed)
        raise ConflictError(
            f"{reseller_team_id} misses the {tier.value} criteria: {listed}. "
            f"To enroll it anyway, {how_to_override}"
        )
