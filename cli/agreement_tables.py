"""An exclusive agreement as the CLI prints it: its terms and standing, scorecards and events."""

from __future__ import annotations

from rich.table import Table

from cli.support import when
from models.agreement import AgreementState, AgreementTerms


def _scope(terms: AgreementTerms) -> str:
    scope = f"{terms.kind.value} · offer {terms.offer_id}"
    if terms.zip_codes:
        shown = ", ".join(terms.zip_codes[:12])
        more = len(terms.zip_codes) - 12
        scope += f"\nZIP codes {shown}" + (f" and {more} more" if more > 0 else "")
    return scope


def _requirements(terms: AgreementTerms) -> str:
    s = terms.standards
    parts = [f"{terms.min_monthly_orders}+ orders/month"]
    if s.min_completion_rate is not None:
        parts.append(f"completion ≥ {s.min_completion_rate:.0%}")
    if s.min_acceptance_rate is not None:
        parts.append(f"acceptance ≥ {s.min_acceptance_rate:.0%}")
    if s.min_rating is not None:
        parts.append(f"rating ≥ {s.min_rating:g}")
    if s.max_cancellation_rate is not None:
        parts.append(f"cancellation ≤ {s.max_cancellation_rate:.0%}")
    return ", ".join(parts)


def agreement_table(state: AgreementState) -> Table:
    terms = state.terms
    table = Table(
        title=f"agreement {state.agreement_id} of {state.provider_id}",
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", state.status.value)
    table.add_row("partner", state.reseller_team_id)
    table.add_row("scope", _scope(terms))
    table.add_row("terms", _requirements(terms))
    table.add_row(
        "term",
        f"{state.term_number}: {when(state.term_start)} to {when(state.term_end)} "
        f"({terms.term_months} months, reviewed {terms.review_period.value})",
    )
    if state.status.is_closed:
        table.add_row("ended", f"{when(state.ended_at)}: {state.end_reason}")
    else:
        table.add_row("next review", when(state.next_review_at))
    if state.cure_deadline:
        table.add_row("cure deadline", when(state.cure_deadline))
    table.add_row("breaches this term", str(state.breaches_in_term))
    if state.pending_terms:
        table.add_row("amended terms", f"{_requirements(state.pending_terms)} (from next period)")
    if state.renewal_confirmed_by:
        table.add_row("renewal", f"confirmed early by {state.renewal_confirmed_by}")
    if state.previous_offer:
        table.add_row("offer before", state.previous_offer.visibility.value)
    return table


def scorecards_table(state: AgreementState) -> Table:
    table = Table(title="scorecards", title_justify="left")
    for column in ("term · period", "from", "to", "result"):
        table.add_column(column, no_wrap=True)
    table.add_column("each term: actual against required")
    for card in state.scorecards:
        label = f"{card.term_number} · " + (
            "whole term" if card.kind.value == "term" else f"{card.kind.value} {card.period_number}"
        )
        table.add_row(
            label,
            when(card.period_start),
            when(card.period_end),
            "met" if card.met else "[red]missed[/]",
            "\n".join(line.describe() for line in card.lines),
        )
    return table


def events_table(state: AgreementState) -> Table:
    table = Table(title="history", title_justify="left")
    for column in ("#", "when", "event"):
        table.add_column(column, no_wrap=True)
    table.add_column("what, and who")
    for event in state.events:
        actor = event.actor.value + (f" {event.actor_id}" if event.actor_id else "")
        table.add_row(
            str(event.sequence),
            when(event.at),
            event.kind.value,
            f"{event.summary}\n[dim]by {actor}[/]",
        )
    return table
