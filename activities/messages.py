"""The text of every message the program sends, rendered from the partner's actual data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from models.agreement import AgreementKind, Scorecard
from models.metrics import CriterionResult, PartnerMetrics
from models.notifications import AgreementNotice, NotificationContext, NotificationKind


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "n/a"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _metrics_lines(metrics: PartnerMetrics | None) -> list[str]:
    if metrics is None:
        return []
    rating = "no ratings yet" if metrics.average_rating is None else f"{metrics.average_rating:.2f}"
    return [
        f"Your orders from {_date(metrics.window_start)} to {_date(metrics.window_end)}:",
        f"  orders: {metrics.total_orders} ({metrics.orders_per_month:.1f}/month)",
        f"  acceptance: {_pct(metrics.acceptance_rate)}",
        f"  completion: {_pct(metrics.completion_rate)}",
        f"  customer rating: {rating}",
        f"  revenue: {metrics.revenue:,.2f}",
    ]


def _failed_lines(ctx: NotificationContext) -> list[str]:
    return [f"  - {c.describe()}" for c in ctx.failed_criteria]


def _checked(results: Sequence[CriterionResult]) -> list[str]:
    return [f"  {'met    ' if r.met else 'MISSED '} {r.describe()}" for r in results]


def _scope(notice: AgreementNotice) -> str:
    if notice.kind is AgreementKind.REGIONAL:
        zips = notice.zip_codes
        shown = ", ".join(zips[:20]) + (f" and {len(zips) - 20} more" if len(zips) > 20 else "")
        return f"offer {notice.offer_id} in ZIP codes {shown}"
    return f"offer {notice.offer_id}"


def _scorecard_lines(card: Scorecard | None) -> list[str]:
    if card is None:
        return []
    return [
        f"Scorecard for {_date(card.period_start)} to {_date(card.period_end)} "
        f"({card.metrics.total_orders} orders):",
        *_checked(card.lines),
    ]


def _render_agreement(
    kind: NotificationKind, ctx: NotificationContext, notice: AgreementNotice, reseller_name: str
) -> tuple[str, list[str]]:
    scope = _scope(notice)
    reason = [f"Why: {ctx.reason}"] if ctx.reason else []
    card = _scorecard_lines(notice.scorecard)
    match kind:
        case NotificationKind.EXCLUSIVE_GRANTED:
            return f"Exclusive agreement {notice.agreement_id} is in force", [
                f"{reseller_name}, you now hold the exclusive for {scope} until "
                f"{_date(notice.term_end)}.",
                "Keep to the agreed minimums and standards: each review period you will "
                "receive a scorecard.",
            ]
        case NotificationKind.EXCLUSIVE_REVIEW:
            return f"Exclusive {notice.agreement_id}: scorecard", [
                f"{reseller_name}, your exclusive for {scope} meets its terms.",
                *card,
            ]
        case NotificationKind.EXCLUSIVE_BREACH:
            return f"Action needed: exclusive {notice.agreement_id} is in breach", [
                f"{reseller_name}, your exclusive for {scope} did not meet its terms.",
                *card,
                f"Bring the missed terms back to standard by {_date(notice.cure_deadline)}, or "
                "the exclusive ends. A second breach in this term also ends it.",
            ]
        case NotificationKind.EXCLUSIVE_CURED:
            return f"Exclusive {notice.agreement_id}: breach cured", [
                f"{reseller_name}, your exclusive for {scope} meets its terms again.",
                *card,
            ]
        case NotificationKind.EXCLUSIVE_AMENDED:
            return f"Exclusive {notice.agreement_id}: terms amended", [
                f"{reseller_name}, the terms of your exclusive for {scope} have changed; the new "
                "terms apply from the next review period.",
                *reason,
            ]
        case NotificationKind.EXCLUSIVE_RENEWED:
            return f"Exclusive {notice.agreement_id} renewed until {_date(notice.term_end)}", [
                f"{reseller_name}, your exclusive for {scope} is renewed for term "
                f"{notice.term_number}, until {_date(notice.term_end)}.",
                *reason,
                *card,
            ]
        case _:
            expired = kind is NotificationKind.EXCLUSIVE_EXPIRED
            return f"Exclusive {notice.agreement_id} has {'expired' if expired else 'ended'}", [
                f"{reseller_name}, your exclusive for {scope} "
                + ("ended with its term." if expired else "has ended."),
                *reason,
                *card,
                "The offer is available to other partners again.",
            ]


def render(
    kind: NotificationKind, ctx: NotificationContext, *, provider_name: str, reseller_name: str
) -> tuple[str, str]:
    """The subject and body of one message."""
    subject: str
    lines: list[str]
    if ctx.agreement is not None:
        subject, lines = _render_agreement(kind, ctx, ctx.agreement, reseller_name)
        return subject, "\n".join(lines) + "\n"
    tier = ctx.tier.value
    reason = ctx.reason or ""
    match kind:
        case NotificationKind.WELCOME:
            subject = f"Welcome to the {provider_name} partner program ({tier})"
            lines = [
                f"Congratulations, {reseller_name}: you are now a {tier} partner "
                f"of {provider_name}.",
                "You can now see and sell the offers reserved for preferred partners.",
                *_metrics_lines(ctx.metrics),
            ]
        case NotificationKind.ENROLLMENT_SCHEDULED:
            subject = f"You join the {provider_name} partner program on {_date(ctx.effective_date)}"
            lines = [f"{reseller_name} becomes a {tier} partner on {_date(ctx.effective_date)}."]
        case NotificationKind.AT_RISK_WARNING:
            subject = f"Action needed: your {tier} status is at risk"
            lines = [
                f"{reseller_name}, your performance is below the {tier} standard.",
                *([f"Reason: {reason}"] if reason else []),
                *(["Criteria not met:", *_failed_lines(ctx)] if ctx.failed_criteria else []),
                f"You keep your benefits until {_date(ctx.grace_deadline)}. Bring these "
                "metrics back to standard by then, or you will be removed from the preferred list.",
            ]
        case NotificationKind.GRACE_CHANGED:
            subject = f"Your grace period now ends on {_date(ctx.grace_deadline)}"
            lines = [
                f"The deadline to recover your {tier} standing is now "
                f"{_date(ctx.grace_deadline)}. {reason}".rstrip()
            ]
        case NotificationKind.RECOVERED:
            subject = f"You are back in good standing as a {tier} partner"
            lines = [
                f"{reseller_name}, your metrics are back to standard.",
                *_metrics_lines(ctx.metrics),
            ]
        case NotificationKind.REMOVED:
            subject = f"You have been removed from the {provider_name} preferred list"
            lines = [
                f"{reseller_name}, you are no longer a preferred partner of {provider_name}.",
                f"Why: {reason}",
                *(["Criteria not met:", *_failed_lines(ctx)] if ctx.failed_criteria else []),
                "Your access to preferred offers has ended. To regain status, meet the "
                "program's criteria over a full review window; you will be considered again "
                "at the next program review.",
            ]
        case NotificationKind.PROMOTED | NotificationKind.DEMOTED:
            verb = "promoted" if kind is NotificationKind.PROMOTED else "moved"
            previous = ctx.previous_tier.value if ctx.previous_tier else "none"
            subject = f"Your partner tier is now {tier}"
            lines = [
                f"{reseller_name}, you have been {verb} from {previous} to {tier}.",
                f"Why: {reason}",
                *_failed_lines(ctx),
                *_metrics_lines(ctx.metrics),
            ]
        case NotificationKind.BLOCKED:
            scope = ", ".join(ctx.offer_ids) if ctx.offer_ids else f"all {provider_name} offers"
            subject = "Your access to offers has been blocked"
            lines = [f"{reseller_name}, your access to {scope} is blocked.", f"Why: {reason}"]
        case NotificationKind.UNBLOCKED:
            subject = "Your access to offers has been restored"
            lines = [f"{reseller_name}, your block has been lifted. {reason}".rstrip()]
        case NotificationKind.SCORECARD:
            subject = f"Your {provider_name} partner scorecard for {ctx.period}"
            if ctx.next_tier is None:
                ahead = [f"{tier} is the program's highest tier: keep these figures up."]
            else:
                ahead = [
                    f"What {ctx.next_tier.value} requires:",
                    *_checked(ctx.next_tier_criteria),
                ]
            lines = [
                f"{reseller_name}, you are a {tier} partner of {provider_name}.",
                *_metrics_lines(ctx.metrics),
                *ahead,
            ]
        case NotificationKind.CANDIDATE_NOTICE:
            subject = f"{reseller_name} qualifies for your preferred list"
            lines = [
                f"{reseller_name} meets the {tier} criteria and awaits your approval.",
                f"Why: {reason}",
                *_metrics_lines(ctx.metrics),
            ]
    return subject, "\n".join(lines) + "\n"
