"""The monthly newsletter: what each partner reads in it, and how a month's newsletter is named.

A provider that opts in sends, at the start of each month, one message to every partner on
its preferred list about the month just ended: the offers it could newly see, its own figures
against the month before, and a tip aimed at its weakest criterion. Each partner gets a
month's newsletter at most once (`newsletter/{provider}/{month}/{batch}/{team}`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from models.announcement import delivery_batch
from models.pricing import PartnerPrice
from models.program import Frozen

NEWSLETTER_PREFIX = "newsletter"
MAX_NEW_OFFERS = 20
"""The most new offers one newsletter lists (the newest first)."""
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class NewOffer(Frozen):
    """An offer the partner could newly see during the month, at the price it gets."""

    offer_id: str
    name: str
    category: str | None = None
    description: str | None = None
    price: PartnerPrice = Field(description="What the partner pays a month, and why.")


class Highlight(Frozen):
    """One figure of the partner's, this month against the month before."""

    name: str = Field(description="The metric: orders, revenue, acceptance_rate, ...")
    label: str
    before: str | None = Field(description="Last month's, formatted; none: nothing measured.")
    after: str | None = Field(description="This month's, formatted; none: nothing measured.")
    change: str | None = Field(
        description='As a person reads it: "+12%", "+3.0 points", "no change"; none where '
        "either month has nothing to compare."
    )
    improved: bool | None = Field(description="Better than the month before; none: unknown.")

    @property
    def text(self) -> str:
        """'orders: 18 → 24 (+33%)', or 'rating: no ratings yet → 4.8'."""
        shown = f"{self.label}: {self.before or 'none'} → {self.after or 'none'}"
        return f"{shown} ({self.change})" if self.change else shown


class Tip(Frozen):
    """Advice aimed at the partner's weakest criterion (of its tier, or of the next when it
    meets its own)."""

    criterion: str
    label: str
    tier: str = Field(description="The tier whose line it is.")
    text: str = Field(description="Where it stands: 'acceptance 86.0% < 90.0%'.")
    needs: str | None = Field(description="What reaching the line takes; none when met.")
    advice: str = Field(description="What to do about it, one or two sentences.")


class NewsletterNotice(Frozen):
    """What one partner's newsletter is made of."""

    month: str = Field(pattern=MONTH_PATTERN, description="The month it covers: 2026-11.")
    month_label: str = Field(description="As people read it: 'November 2026'.")
    new_offers: list[NewOffer] = Field(default_factory=list, max_length=MAX_NEW_OFFERS)
    highlights: list[Highlight] = Field(default_factory=list)
    tip: Tip | None = None


class NewsletterStatus(StrEnum):
    RECORDING = "recording"
    """A message for each partner is being put in the outbox."""
    SENDING = "sending"
    """Every message is recorded; they are being delivered."""
    SENT = "sent"
    """Every message was delivered, bounced or failed for good."""
    SKIPPED = "skipped"
    """The provider had opted out by the time the month's newsletter was due."""


class NewsletterRef(Frozen):
    """One month's newsletter of one provider, as the workflow and its activities name it."""

    provider_id: str
    month: str = Field(pattern=MONTH_PATTERN)


class NewsletterRequest(Frozen):
    """How the newsletter workflow is started: by the Schedule with no month (the run works out
    the month just ended from when it was due), or by hand for a given month."""

    provider_id: str
    month: str | None = Field(default=None, pattern=MONTH_PATTERN)


class NewsletterRecorded(Frozen):
    status: NewsletterStatus
    recipients: int = 0
    batches: list[str] = Field(default_factory=list)


class NewsletterOutcome(Frozen):
    month: str
    status: NewsletterStatus
    recipients: int = 0
    sent: int = 0
    refused: int = Field(default=0, description="Bounced or failed for good.")


def month_label(month: str) -> str:
    """'2026-11' → 'November 2026'."""
    return f"{datetime.strptime(month, '%Y-%m').replace(tzinfo=UTC):%B %Y}"


def month_before(at: datetime) -> str:
    """The month that ended last before `at`: on 1 December 2026, '2026-11'."""
    year, month = (at.year, at.month - 1) if at.month > 1 else (at.year - 1, 12)
    return f"{year}-{month:02d}"


def month_bounds(month: str) -> tuple[AwareDatetime, AwareDatetime]:
    """The month's first instant and the next month's (exclusive), in UTC."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else (start.replace(month=start.month + 1))
    )
    return start, end


def newsletter_key_prefix(provider_id: str, month: str) -> str:
    return f"{NEWSLETTER_PREFIX}/{provider_id}/{month}/"


def newsletter_batch_prefix(provider_id: str, month: str, batch: str) -> str:
    return f"{newsletter_key_prefix(provider_id, month)}{batch}/"


def newsletter_key(provider_id: str, month: str, reseller_team_id: str) -> str:
    """`newsletter/{provider}/{month}/{batch}/{team}`: one partner's newsletter, once."""
    return newsletter_batch_prefix(provider_id, month, delivery_batch(reseller_team_id)) + (
        reseller_team_id
    )


def newsletter_summary(provider_id: str, month: str) -> str:
    return f"newsletter of {provider_id} for {month_label(month)}"
