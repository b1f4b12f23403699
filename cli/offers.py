"""`partnerflow offers ...`: a provider's offers and who sees them, straight in the database."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from cli.support import console, program_database, valid
from models.offers import Visibility
from models.pricing import PartnerPrice
from services.offers import (
    NewOffer,
    OfferChange,
    OfferRecord,
    create_offer,
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
T = TypeVar("T")


def _with_session(call: Callable[[Session], T]) -> T:
    with program_database() as session:
        return call(session)


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
) -> None:
    """Create an offer for every reseller, for preferred partners, or for selected resellers."""
    new = valid(
        lambda: NewOffer.model_validate(
            {
                "offer_id": offer_id,
                "name": name,
                "monthly_price": price,
                "visibility": visibility,
                "min_tier": min_tier,
                "allowed_resellers": allow or [],
            }
        )
    )
    record = _with_session(lambda session: create_offer(session, provider_id, new))
    console.print(_table("created", [record]))


@offers_app.command("update")
def update(
    provider_id: Provider,
    offer_id: OfferIdArg,
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[Decimal | None, typer.Option()] = None,
    visibility: Annotated[Visibility | None, typer.Option()] = None,
    min_tier: MinTierOption = None,
    allow: AllowOption = None,
) -> None:
    """Change an offer; partners' access follows a new visibility at once."""
    fields = {
        "name": name,
        "monthly_price": price,
        "visibility": visibility,
        "min_tier": min_tier,
        "allowed_resellers": allow,
    }
    change = valid(
        lambda: OfferChange.model_validate({k: v for k, v in fields.items() if v is not None})
    )
    record = _with_session(lambda session: update_offer(session, provider_id, offer_id, change))
    console.print(_table("updated", [record]))


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
