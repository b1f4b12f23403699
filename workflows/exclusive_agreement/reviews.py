"""What the agreement's deadlines bring: the review of a period, the end of a cure period, the
end of a term. The rules decide; these score, record and tell, in the order of the history.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.exclusive_agreement import rules
from workflows.exclusive_agreement.effects import AgreementEffects
from workflows.exclusive_agreement.rules import missed

with workflow.unsafe.imports_passed_through():
    from models.agreement import (
        AgreementEventKind,
        AgreementState,
        AgreementStatus,
        ScorecardKind,
    )
    from models.notifications import NotificationKind
    from models.partner import ActorKind
    from models.summaries import day


async def review_period(s: AgreementState, effects: AgreementEffects) -> bool:
    """Score the period that has just ended; at term end, renew or expire. True: renewed."""
    if not await _partner_still_listed(s, effects):
        return False
    last = rules.is_last_period(s)
    card = await effects.scorecard(
        s, ScorecardKind.PERIOD, s.period_start, s.next_review_at, s.terms.min_monthly_orders
    )
    if card.met:
        await effects.event(
            s,
            AgreementEventKind.REVIEWED,
            f"period {card.period_number} of term {s.term_number} met every term",
            ActorKind.TIMER,
            "review-period",
        )
        await effects.notify(s, NotificationKind.EXCLUSIVE_REVIEW, scorecard=card)
    else:
        breach = rules.breach(s, card, workflow.now())
        s.breaches_in_term += 1
        if breach.ends_agreement is not None:
            await effects.end(
                s,
                AgreementStatus.TERMINATED,
                breach.ends_agreement,
                ActorKind.TIMER,
                "review-period",
                card,
            )
            return False
        if breach.cure_deadline is not None:
            s.status = AgreementStatus.IN_BREACH
            s.breach_at = workflow.now()
            s.cure_deadline = breach.cure_deadline
        await effects.event(
            s,
            AgreementEventKind.BREACH,
            f"breach in period {card.period_number} of term {s.term_number}: {missed(card)}"
            + (
                f"; cure period until {day(s.cure_deadline)}"
                if not last
                else "; the term ends now, so the renewal criteria decide"
            ),
            ActorKind.TIMER,
            "review-period",
        )
        await effects.notify(s, NotificationKind.EXCLUSIVE_BREACH, scorecard=card)
    if last:
        return await _end_term(s, effects)
    s.period_number += 1
    await _amendments_in_force(s, effects)
    return False


async def check_cure(s: AgreementState, effects: AgreementEffects) -> None:
    """The cure period is over: the orders placed during it decide."""
    assert s.breach_at is not None and s.cure_deadline is not None
    card = await effects.scorecard(
        s, ScorecardKind.CURE, s.breach_at, s.cure_deadline, s.terms.min_monthly_orders
    )
    failure = rules.cure_failure(s, card)
    if failure is not None:
        await effects.end(
            s, AgreementStatus.TERMINATED, failure, ActorKind.TIMER, "cure-period", card
        )
        return
    s.status = AgreementStatus.ACTIVE
    s.breach_at = None
    s.cure_deadline = None
    await effects.event(
        s,
        AgreementEventKind.CURED,
        "breach cured within the cure period",
        ActorKind.TIMER,
        "cure-period",
    )
    await effects.notify(s, NotificationKind.EXCLUSIVE_CURED, scorecard=card)


async def _end_term(s: AgreementState, effects: AgreementEffects) -> bool:
    """Score the whole term, then renew for another or expire. True: renewed."""
    card = await effects.scorecard(
        s, ScorecardKind.TERM, s.term_start, s.term_end, rules.renewal_minimum(s)
    )
    expiry = rules.expiry_reason(s, card)
    if expiry is not None:
        await effects.end(s, AgreementStatus.EXPIRED, expiry, ActorKind.TIMER, "term-end", card)
        return False
    confirmed = s.renewal_confirmed_by
    ended_term, next_end = s.term_number, rules.next_term_end(s)
    s.term_number += 1
    s.term_start, s.term_end = s.term_end, next_end
    s.period_number = 1
    s.breaches_in_term = 0
    s.status = AgreementStatus.ACTIVE
    s.breach_at = s.cure_deadline = None
    s.renewal_confirmed_by = None
    s.terms, s.pending_terms = s.pending_terms or s.terms, None
    why = f"confirmed early by {confirmed}" if confirmed else "met the renewal criteria"
    await effects.event(
        s,
        AgreementEventKind.RENEWED,
        f"term {ended_term} {why}; term {s.term_number} runs until {day(s.term_end)}",
        ActorKind.TIMER,
        "term-end",
    )
    if confirmed is None:
        await effects.notify(s, NotificationKind.EXCLUSIVE_RENEWED, reason=why, scorecard=card)
    return True


async def _amendments_in_force(s: AgreementState, effects: AgreementEffects) -> None:
    if s.pending_terms is None:
        return
    s.terms, s.pending_terms = s.pending_terms, None
    await effects.event(
        s,
        AgreementEventKind.AMENDMENT_IN_FORCE,
        f"amended terms in force from period {s.period_number} of term {s.term_number}",
        ActorKind.TIMER,
        "review-period",
    )


async def _partner_still_listed(s: AgreementState, effects: AgreementEffects) -> bool:
    listing = await effects.partner_listing(s)
    if listing.on_preferred_list:
        return True
    await effects.end(
        s,
        AgreementStatus.TERMINATED,
        f"{s.reseller_team_id} is no longer on the preferred list "
        f"({listing.status or 'not enrolled'})",
        ActorKind.TIMER,
        "review-period",
    )
    return False
