"""`partnerflow offers ...`: a provider's offers and who sees them, straight in the database
(`--announce` and an early-access launch also need Temporal and a worker: to tell the partners
who see the offer, and to make it public on its date)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from cli.support import console, program_database, program_db, run, valid
from clients.announcements import Announcements
from clients.connection import connect_temporal
from clients.offer_launches import OfferLaunches, launch_step
from models.announcement import AnnouncementKind, OfferAnnounce
from models.offers import OfferStatus, Visibility
from models.pricing import PartnerPrice
from runtime.settings import Settings
from services.announcements import AnnouncementRecord
from services.offer_announcements import NothingToAnnounce, announce_offer
from services.offers import (
    NewOffer,
    OfferChange,
    OfferRecord,
    create_offer,
    get_offer,
    list_offers,
    reseller_offers,
    update_offer,
)
from store.pricing import partner_prices

offers_app = typer.Typer(help="A provider's offers and who can see them.", no_args_is_help=True)

Provider = Annotated[str, typer.Argument(help="The provider, e.g. acme.")]
OfferIdArg = Annotated[str, typer.Argument(help="The offer, e.g. acme-fiber-gig.")]
MinTierOption = Annotated[
    str | None, typer.Option(help="With --visibility preferred: silver or gold.")
]
AllowOption = Annotated[
    list[str] | None,
    typer.Option("--allow", help="With --visibility selected: a reseller allowed (repeat)."),
]
AnnounceOption = Annotated[
    bool,
    typer.Option(
        "--announce",
        help="Tell the partners who see the offer, now (Temporal and a worker needed); implied "
        "by the other --announce-* options.",
    ),
]
AnnounceKindOption = Annotated[
    AnnouncementKind | None,
    typer.Option(help="What it is about; else new_service, or pricing_change for a new price."),
]
AnnounceSubjectOption = Annotated[
    str | None, typer.Option(help="One line; written from the offer if left out.")
]
AnnounceBodyOption = Annotated[
    str | None, typer.Option(help="Plain text; written from the offer if left out.")
]
CategoryOption = Annotated[str | None, typer.Option(help="e.g. internet, tv, security.")]
StatusOption = Annotated[
    OfferStatus | None, typer.Option(help="Only an active offer is seen by anyone.")
]
InternalNameOption = Annotated[
    str | None, typer.Option(help="The provider's own name for it: never shown to resellers.")
]
DescriptionOption = Annotated[str | None, typer.Option(help="What resellers read about it.")]
TierPriceOption = Annotated[
    Decimal | None,
    typer.Option(help="This tier's own monthly price (else the program's discount)."),
]
EarlyAccessOption = Annotated[
    bool | None,
    typer.Option(
        "--early-access/--no-early-access",
        help="Preferred partners (of --min-tier) see it until --public-launch-date.",
    ),
]
LaunchOption = Annotated[
    str | None,
    typer.Option(help="When an early-access offer becomes public: 2027-02-01, or a date-time."),
]
T = TypeVar("T")


def _details(
    category: str | None,
    status: OfferStatus | None,
    internal_name: str | None,
    description: str | None,
    silver_price: Decimal | None,
    gold_price: Decimal | None,
    early_access: bool | None,
    public_launch_date: str | None,
) -> dict[str, Any]:
    """The documents' offer fields given as options, as the API's body carries them."""
    tier_prices = {t: p for t, p in (("silver", silver_price), ("gold", gold_price)) if p}
    metadata = {
        k: v
        for k, v in (("early_access", early_access), ("public_launch_date", public_launch_date))
        if v is not None
    }
    fields = {
        "category": category,
        "status": status,
        "internal_name": internal_name,
        "description": description,
        "tier_prices": tier_prices or None,
        "metadata": metadata or None,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _with_session(call: Callable[[Session], T]) -> T:
    with program_database() as session:
        return call(session)


def _announce(
    asked: bool, kind: AnnouncementKind | None, subject: str | None, body: str | None
) -> OfferAnnounce | None:
    if not (asked or kind or subject or body):
        return None
    return valid(lambda: OfferAnnounce(kind=kind, subject=subject, body=body))


def _saved(
    provider_id: str,
    save: Callable[[Session], OfferRecord],
    announce: OfferAnnounce | None,
    *,
    changed: str | None = None,
) -> tuple[OfferRecord, AnnouncementRecord | None]:
    """The offer saved by `save`, and, if asked, its announcement recorded in the same
    transaction and its workflow started before that commits (Temporal unreachable: nothing
    is saved), and its early-access launch workflow made to match it the same way, as the
    API does. `changed`: the offer a change is about, read before it; Temporal is only called
    when there is an announcement or a launch to follow."""
    settings = Settings()
    with program_db() as db, db.transaction() as session:
        before = get_offer(session, provider_id, changed) if changed else None
        record = save(session)
        try:
            announcement = (
                announce_offer(
                    session, provider_id, record, announce, datetime.now(UTC), before=before
                )
                if announce is not None
                else None
            )
        except NothingToAnnounce as error:
            raise NothingToAnnounce(
                "--announce-kind", "--price, --silver-price, --gold-price"
            ) from error
        launch = launch_step(record, created=changed is None)
        if announcement is None and launch is None:
            return record, None

        async def start() -> None:
            client = await connect_temporal(settings)
            if announcement is not None:
                await Announcements(client, settings.task_queue).start(provider_id, announcement)
            await OfferLaunches(client, settings.task_queue).follow(
                provider_id, record, created=changed is None
            )

        run(start())
    return record, announcement


def _told(announcement: AnnouncementRecord | None) -> None:
    if announcement is not None:
        console.print(
            f"announcement {announcement.announcement_id} ({announcement.kind.label}) sent to "
            f"{announcement.audience.describe()}: workflow {announcement.workflow_id}",
            highlight=False,
            soft_wrap=True,
        )


def _table(title: str, offers: list[OfferRecord]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("offer", "name", "price", "visibility", "who sees it"):
        table.add_column(column)
    for offer in offers:
        if offer.agreement_id:
            audience = f"exclusive to {offer.exclusive_to} ({offer.agreement_id})"
        elif offer.visibility is Visibility.SELECTED:
            audience = ", ".join(offer.allowed_resellers) or "nobody yet"
        elif offer.visibility is Visibility.PREFERRED:
            audience = f"{offer.min_tier.value if offer.min_tier else 'silver'}+ partners"
        else:
            audience = "every reseller"
        table.add_row(
            offer.offer_id,
            offer.name,
            f"{offer.monthly_price:,.2f}",
            offer.visibility.value,
            audience,
        )
    return table


@offers_app.command("list")
def list_command(provider_id: Provider) -> None:
    """Every offer of the provider, and who sees it."""
    offers, total = _with_session(
        lambda session: list_offers(session, provider_id, page_size=10_000)
    )
    console.print(_table(f"offers of {provider_id}", offers))
    console.print(f"{total} offer(s)")


@offers_app.command("create")
def create(
    provider_id: Provider,
    offer_id: OfferIdArg,
    name: Annotated[str, typer.Option(help="What resellers see.")],
    price: Annotated[Decimal, typer.Option(help="The monthly price.")],
    visibility: Annotated[Visibility, typer.Option()] = Visibility.PUBLIC,
    min_tier: MinTierOption = None,
    allow: AllowOption = None,
    category: CategoryOption = None,
    status: StatusOption = None,
    internal_name: InternalNameOption = None,
    description: DescriptionOption = None,
    silver_price: TierPriceOption = None,
    gold_price: TierPriceOption = None,
    early_access: EarlyAccessOption = None,
    public_launch_date: LaunchOption = None,
    announce: AnnounceOption = False,
    announce_kind: AnnounceKindOption = None,
    announce_subject: AnnounceSubjectOption = None,
    announce_body: AnnounceBodyOption = None,
) -> None:
    """Create an offer for every reseller, for preferred partners, or for selected resellers;
    an early-access one launches by itself on its date (Temporal and a worker needed)."""
    details = _details(
        category,
        status,
        internal_name,
        description,
        silver_price,
        gold_price,
        early_access,
        public_launch_date,
    )
    new = valid(
        lambda: NewOffer.model_validate(
            {
                "offer_id": offer_id,
                "name": name,
                "monthly_price": price,
                "visibility": visibility,
                "min_tier": min_tier,
                "allowed_resellers": allow or [],
                **details,
            }
        )
    )
    told = _announce(announce, announce_kind, announce_subject, announce_body)
    record, announcement = _saved(
        provider_id, lambda session: create_offer(session, provider_id, new), told
    )
    console.print(_table("created", [record]))
    _told(announcement)


@offers_app.command("update")
def update(
    provider_id: Provider,
    offer_id: OfferIdArg,
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[Decimal | None, typer.Option()] = None,
    visibility: Annotated[Visibility | None, typer.Option()] = None,
    min_tier: MinTierOption = None,
    allow: AllowOption = None,
    category: CategoryOption = None,
    status: StatusOption = None,
    internal_name: InternalNameOption = None,
    description: DescriptionOption = None,
    silver_price: TierPriceOption = None,
    gold_price: TierPriceOption = None,
    early_access: EarlyAccessOption = None,
    public_launch_date: LaunchOption = None,
    announce: AnnounceOption = False,
    announce_kind: AnnounceKindOption = None,
    announce_subject: AnnounceSubjectOption = None,
    announce_body: AnnounceBodyOption = None,
) -> None:
    """Change an offer; partners' access follows a new visibility at once, and an early-access
    launch follows a new date (Temporal and a worker needed). Options left out keep their
    values; metadata is merged key by key."""
    fields = {
        "name": name,
        "monthly_price": price,
        "visibility": visibility,
        "min_tier": min_tier,
        "allowed_resellers": allow,
    }
    given = {k: v for k, v in fields.items() if v is not None} | _details(
        category,
        status,
        internal_name,
        description,
        silver_price,
        gold_price,
        early_access,
        public_launch_date,
    )
    told = _announce(announce, announce_kind, announce_subject, announce_body)
    change = valid(lambda: OfferChange.model_validate(given)) if given or told is None else None

    def save(session: Session) -> OfferRecord:
        if change is None:  # only announced, as the offer stands
            return get_offer(session, provider_id, offer_id)
        return update_offer(session, provider_id, offer_id, change)

    record, announcement = _saved(provider_id, save, told, changed=offer_id)
    console.print(_table("updated", [record]))
    _told(announcement)


@offers_app.command("visible")
def visible(
    provider_id: Provider,
    reseller_team_id: Annotated[str, typer.Argument(help="The reseller, e.g. team-maple.")],
) -> None:
    """The provider's offers this reseller can see right now, and the price its tier gets."""

    def seen(session: Session) -> tuple[list[OfferRecord], dict[str, PartnerPrice]]:
        offers = reseller_offers(session, provider_id, reseller_team_id)
        ids = [offer.offer_id for offer in offers]
        return offers, partner_prices(session, provider_id, reseller_team_id, ids)

    offers, prices = _with_session(seen)
    console.print(_table(f"what {reseller_team_id} sees of {provider_id}", offers))
    console.print(_prices_table(f"what {reseller_team_id} pays a month", offers, prices))


def _prices_table(title: str, offers: list[OfferRecord], prices: dict[str, PartnerPrice]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("offer", "list price", "its price", "why"):
        table.add_column(column)
    for offer in offers:
        price = prices[offer.offer_id]
        table.add_row(
            offer.offer_id,
            f"{price.list_price:,.2f}",
            f"{price.price:,.2f}",
            price.note or "the list price",
        )
    return table
