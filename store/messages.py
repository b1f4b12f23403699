"""The text of every message the program sends: Jinja2 templates rendered from the partner's
actual data, the program's own (store/templates/) or the provider's override of them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models.notifications import NotificationContext, NotificationKind, NotificationRequest
from models.offers import Visibility
from models.pricing import tier_price
from models.program import ProgramSettings, Tier
from models.schema import MessageTemplateVersion, Offer, Provider
from models.templates import MAX_BODY_CHARS, MAX_SUBJECT_CHARS, TemplatePart
from store.message_variables import MessageFacts, PricedOffer, message_variables
from store.template_engine import (
    ENVIRONMENT,
    TemplateProblem,
    compile_untrusted,
    render_limited,
    shipped,
)

logger = logging.getLogger(__name__)

ACTIVE = "active"
"""The status of an offer anyone sees (models.schema.Offer.status)."""


@dataclass(frozen=True)
class TemplateOverride:
    """A provider's templates for one kind: a part left None is the shipped one."""

    subject: str | None = None
    body: str | None = None
    version: int = 0

    def source(self, part: TemplatePart) -> str | None:
        return self.subject if part is TemplatePart.SUBJECT else self.body


def template_name(kind: NotificationKind, part: TemplatePart) -> str:
    return f"{kind.value}.{part.value}.j2"


def default_source(kind: NotificationKind, part: TemplatePart) -> str:
    """The shipped template's text, as a provider would start an override from it."""
    assert ENVIRONMENT.loader is not None
    source, _, _ = ENVIRONMENT.loader.get_source(ENVIRONMENT, template_name(kind, part))
    return source


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _render_part(part: TemplatePart, template: Template, variables: Mapping[str, Any]) -> str:
    if part is TemplatePart.BODY:
        return render_limited(part, template, variables, MAX_BODY_CHARS)
    subject = _one_line(render_limited(part, template, variables, MAX_SUBJECT_CHARS * 4))
    if not subject:
        raise TemplateProblem(part, "renders an empty subject")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise TemplateProblem(
            part, f"renders a subject of {len(subject)} characters, at most {MAX_SUBJECT_CHARS}"
        )
    return subject


def render_variables(
    kind: NotificationKind,
    variables: Mapping[str, Any],
    override: TemplateOverride | None = None,
    *,
    strict: bool = False,
) -> tuple[str, str]:
    """Subject and body from `variables`. An override part that fails raises a TemplateProblem
    when `strict` (saving, previewing); otherwise the shipped part is used and it is logged,
    so that a partner is told whatever a provider's template does."""
    rendered: list[str] = []
    for part in (TemplatePart.SUBJECT, TemplatePart.BODY):
        source = override.source(part) if override else None
        if source is not None:
            try:
                rendered.append(_render_part(part, compile_untrusted(part, source), variables))
                continue
            except TemplateProblem as problem:
                if strict:
                    raise
                logger.warning(
                    "the provider's %s template (version %s) failed, the shipped one is used: %s",
                    kind.value,
                    override.version if override else None,
                    problem,
                )
        rendered.append(_render_part(part, shipped(template_name(kind, part)), variables))
    return rendered[0], rendered[1]


def render(
    kind: NotificationKind, ctx: NotificationContext, *, provider_name: str, reseller_name: str
) -> tuple[str, str]:
    """The subject and body of one message from the shipped templates."""
    facts = MessageFacts(provider_name=provider_name, reseller_name=reseller_name)
    return render_variables(kind, message_variables(ctx, facts))


def current_override(
    session: Session, provider_id: str, kind: NotificationKind
) -> MessageTemplateVersion | None:
    """The provider's latest saved version for `kind`, if it saved any."""
    return session.scalar(
        select(MessageTemplateVersion)
        .where(
            MessageTemplateVersion.provider_id == provider_id,
            MessageTemplateVersion.kind == kind.value,
        )
        .order_by(MessageTemplateVersion.version.desc())
        .limit(1)
    )


def override_in_force(
    session: Session, provider_id: str, kind: NotificationKind
) -> TemplateOverride | None:
    """The provider's templates for `kind`, or None where the shipped ones are in force."""
    row = current_override(session, provider_id, kind)
    if row is None or (row.subject is None and row.body is None):
        return None
    return TemplateOverride(subject=row.subject, body=row.body, version=row.version)


def tier_offers(
    session: Session, provider_id: str, tier: Tier, program: ProgramSettings | None = None
) -> list[PricedOffer]:
    """The provider's offers for preferred partners that `tier` unlocks, by name, each with
    the price a partner of `tier` gets under `program` (models.pricing)."""
    if tier is Tier.BRONZE:
        return []
    unlocked = [t.value for t in Tier if 0 < t.rank <= tier.rank]
    offers = session.scalars(
        select(Offer)
        .where(
            Offer.provider_id == provider_id,
            Offer.visibility == Visibility.PREFERRED.value,
            Offer.status == ACTIVE,
            or_(Offer.min_tier.is_(None), Offer.min_tier.in_(unlocked)),
        )
        .order_by(Offer.name)
    )
    discounts = program.tier_discounts if program else None
    return [
        PricedOffer(
            name=offer.name,
            price=tier_price(
                offer.monthly_price, tier, tier_prices=offer.tier_prices, discounts=discounts
            ),
        )
        for offer in offers
    ]


def message_facts(
    session: Session, provider_id: str, tier: Tier, provider_name: str, reseller_name: str
) -> MessageFacts:
    """The names, the program and the tier's offers at the tier's prices, as the database
    has them now."""
    provider = session.get(Provider, provider_id)
    program = ProgramSettings.model_validate(provider.program) if provider else None
    offers = tier_offers(session, provider_id, tier, program)
    return MessageFacts(
        provider_name=provider_name,
        reseller_name=reseller_name,
        program=program,
        tier_offers=[offer.name for offer in offers],
        tier_offer_prices=offers,
    )


def render_message(
    session: Session, request: NotificationRequest, provider_name: str, reseller_name: str
) -> tuple[str, str]:
    """The subject and body of one message, through the provider's templates where it has its
    own for this kind, from the partner's data and the program as they are now."""
    facts = message_facts(
        session, request.provider_id, request.context.tier, provider_name, reseller_name
    )
    return render_variables(
        request.kind,
        message_variables(request.context, facts),
        override_in_force(session, request.provider_id, request.kind),
    )
