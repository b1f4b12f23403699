"""A provider's own message templates: saved as versions, checked before they are saved.

A template is parsed and rendered in the sandbox against representative data for
its kind (every optional variable present and absent) when it is saved, so that
one that fails is refused then, with its line and the error, and not when a
partner should have been told.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.database import Database
from models.metrics import failed, next_tier
from models.notifications import NotificationContext, NotificationKind
from models.program import Frozen, ProgramSettings, Storable, Text, Tier
from models.records import MetricsRequest
from models.schema import MessageTemplateVersion, PreferredListEntry, Provider
from models.standing import retention_check
from models.templates import MAX_TEMPLATE_CHARS, TemplatePart
from services.errors import ConflictError, InputError, NotFoundError
from services.resellers import own_reseller
from store.message_samples import SAMPLE_FACTS, sample_context, variants
from store.message_variables import message_variables
from store.messages import (
    TemplateOverride,
    current_override,
    default_source,
    message_facts,
    override_in_force,
    render_variables,
)
from store.metrics import partner_metrics
from store.template_budget import MAX_CHECK_SECONDS, time_budget
from store.template_engine import TemplateProblem

Source = Annotated[str, Field(max_length=MAX_TEMPLATE_CHARS), Storable] | None
"""A template's text: no longer than a provider may save, storable on any backend."""


class TemplateRecord(Frozen):
    """One saved version of a provider's template for a kind; no subject and no body is a
    reset to the shipped templates."""

    kind: NotificationKind
    version: int
    subject: str | None
    body: str | None
    changed_by: str
    created_at: datetime

    @property
    def in_force(self) -> bool:
        return self.subject is not None or self.body is not None


class TemplateChange(Frozen):
    """New templates for a kind; a part left out is the shipped one."""

    subject: Source = None
    body: Source = None
    changed_by: Text = Field(default="api", min_length=1, max_length=200)

    def source(self, part: TemplatePart) -> str | None:
        return self.subject if part is TemplatePart.SUBJECT else self.body


class Rendered(Frozen):
    subject: str
    body: str


def _record(row: MessageTemplateVersion) -> TemplateRecord:
    return TemplateRecord(
        kind=NotificationKind(row.kind),
        version=row.version,
        subject=row.subject,
        body=row.body,
        changed_by=row.changed_by,
        created_at=row.created_at,
    )


def _require_provider(session: Session, provider_id: str) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError(f"unknown provider {provider_id!r}")
    return provider


def parse_kind(value: str) -> NotificationKind:
    try:
        return NotificationKind(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in NotificationKind)
        raise NotFoundError(f"no message kind {value!r}; the kinds are {kinds}") from None


def current_template(
    session: Session, provider_id: str, kind: NotificationKind
) -> TemplateRecord | None:
    """The provider's latest version for `kind` (a reset included), if it ever saved one."""
    _require_provider(session, provider_id)
    row = current_override(session, provider_id, kind)
    return _record(row) if row is not None else None


def current_templates(session: Session, provider_id: str) -> dict[NotificationKind, TemplateRecord]:
    """The latest version of each kind the provider ever saved a template for."""
    _require_provider(session, provider_id)
    latest = (
        select(
            MessageTemplateVersion.kind,
            func.max(MessageTemplateVersion.version).label("version"),
        )
        .where(MessageTemplateVersion.provider_id == provider_id)
        .group_by(MessageTemplateVersion.kind)
        .subquery()
    )
    rows = session.scalars(
        select(MessageTemplateVersion)
        .join(
            latest,
            (MessageTemplateVersion.kind == latest.c.kind)
            & (MessageTemplateVersion.version == latest.c.version),
        )
        .where(MessageTemplateVersion.provider_id == provider_id)
    )
    return {NotificationKind(row.kind): _record(row) for row in rows}


def template_history(
    session: Session, provider_id: str, kind: NotificationKind
) -> list[TemplateRecord]:
    """Every version the provider saved for `kind`, newest first."""
    _require_provider(session, provider_id)
    rows = session.scalars(
        select(MessageTemplateVersion)
        .where(
            MessageTemplateVersion.provider_id == provider_id,
            MessageTemplateVersion.kind == kind.value,
        )
        .order_by(MessageTemplateVersion.version.desc())
    )
    return [_record(row) for row in rows]


def check_template(kind: NotificationKind, override: TemplateOverride) -> None:
    """Render `override` against the kind's representative data, every optional variable
    present and absent, within one time budget; an InputError names the part, the line and
    the error."""
    samples = variants(kind, message_variables(sample_context(kind), SAMPLE_FACTS))
    with time_budget(MAX_CHECK_SECONDS):
        for absent, variables in samples:
            try:
                render_variables(kind, variables, override, strict=True)
            except TemplateProblem as problem:
                when = f" (in a message without {', '.join(absent)})" if absent else ""
                raise InputError(
                    f"the {kind.value} template does not render: {problem}{when}"
                ) from None


def save_template(
    session: Session, provider_id: str, kind: NotificationKind, change: TemplateChange
) -> TemplateRecord:
    """Check the templates, then put them in force as the kind's next version (the same
    templates again make no new version)."""
    if change.subject is None and change.body is None:
        raise InputError("give a subject, a body or both; to go back to the shipped ones, reset")
    _require_provider(session, provider_id)
    check_template(kind, TemplateOverride(subject=change.subject, body=change.body))
    current = current_override(session, provider_id, kind)
    if current is not None and (current.subject, current.body) == (change.subject, change.body):
        return _record(current)
    return _add_version(session, provider_id, kind, current, change)


def reset_template(
    session: Session, provider_id: str, kind: NotificationKind, changed_by: str = "api"
) -> TemplateRecord | None:
    """Put the shipped templates back in force for `kind`; the saved versions are kept."""
    _require_provider(session, provider_id)
    current = current_override(session, provider_id, kind)
    if current is None or (current.subject is None and current.body is None):
        return _record(current) if current is not None else None
    return _add_version(session, provider_id, kind, current, TemplateChange(changed_by=changed_by))


def _add_version(
    session: Session,
    provider_id: str,
    kind: NotificationKind,
    current: MessageTemplateVersion | None,
    change: TemplateChange,
) -> TemplateRecord:
    row = MessageTemplateVersion(
        provider_id=provider_id,
        kind=kind.value,
        version=(current.version if current else 0) + 1,
        subject=change.subject,
        body=change.body,
        changed_by=change.changed_by,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    try:
        session.flush()  # the primary key refuses a version that another save took meanwhile
    except IntegrityError as error:
        raise ConflictError(
            f"the {kind.value} template was changed by another request at the same moment: "
            "read it again and save your change on top of it"
        ) from error
    return _record(row)


def _partner_context(
    db: Database, provider_id: str, team_id: str, kind: NotificationKind, program: ProgramSettings
) -> NotificationContext:
    """The kind's sample context with the partner's actual tier, deadline, metrics and
    criteria in it."""
    with db.transaction() as session:
        listing = session.get(PreferredListEntry, (provider_id, team_id))
        tier = Tier(listing.tier) if listing and listing.tier != Tier.BRONZE else Tier.SILVER
        deadline = listing.grace_deadline if listing else None
    metrics = partner_metrics(
        db,
        MetricsRequest(
            provider_id=provider_id,
            reseller_team_id=team_id,
            as_of=datetime.now(UTC),
            window_days=program.metrics_window_days,
        ),
    )
    above = next_tier(tier, metrics, program)
    sample = sample_context(kind)
    return sample.model_copy(
        update={
            "tier": sample.tier if sample.tier is Tier.BRONZE else tier,
            "metrics": metrics,
            "failed_criteria": failed(retention_check(metrics, program, tier)),
            "grace_deadline": deadline or sample.grace_deadline,
            "next_tier": above[0] if above else None,
            "next_tier_criteria": above[1] if above else [],
        }
    )


def preview(
    db: Database,
    provider_id: str,
    kind: NotificationKind,
    draft: TemplateChange | None = None,
    reseller_team_id: str | None = None,
) -> Rendered:
    """The message as it would be rendered: from `draft`'s parts where given, else the
    templates in force, against sample data or, with `reseller_team_id`, that of one of the
    provider's own resellers (services.resellers: another's is not found)."""
    with db.transaction() as session:
        provider = _require_provider(session, provider_id)
        program = ProgramSettings.model_validate(provider.program)
        in_force = override_in_force(session, provider_id, kind)
        reseller = None
        if reseller_team_id:
            reseller = own_reseller(session, provider_id, reseller_team_id)
    override = TemplateOverride(
        subject=_draft_or(draft, in_force, TemplatePart.SUBJECT),
        body=_draft_or(draft, in_force, TemplatePart.BODY),
    )
    if reseller is None:
        context, facts = sample_context(kind), SAMPLE_FACTS
    else:
        context = _partner_context(db, provider_id, reseller.team_id, kind, program)
        with db.transaction() as session:
            facts = message_facts(session, provider_id, context.tier, provider.name, reseller.name)
    try:
        with time_budget(MAX_CHECK_SECONDS):
            subject, body = render_variables(
                kind, message_variables(context, facts), override, strict=True
            )
    except TemplateProblem as problem:
        raise InputError(f"the {kind.value} template does not render: {problem}") from None
    return Rendered(subject=subject, body=body)


def _draft_or(
    draft: TemplateChange | None, in_force: TemplateOverride | None, part: TemplatePart
) -> str | None:
    given = draft.source(part) if draft else None
    return given if given is not None else in_force.source(part) if in_force else None


def effective_source(
    record: TemplateRecord | None, kind: NotificationKind, part: TemplatePart
) -> tuple[str, bool]:
    """The template in force for one part, and whether it is the provider's own."""
    own = None
    if record is not None:
        own = record.subject if part is TemplatePart.SUBJECT else record.body
    return (own, True) if own is not None else (default_source(kind, part), False)
