"""`partnerflow keys ...`: a provider's API keys: list them, create another, revoke one."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.support import console, print_keys, program_database, when

keys_app = typer.Typer(help="A provider's API keys: list, create, revoke.", no_args_is_help=True)

Provider = Annotated[str, typer.Argument(help="The provider, e.g. acme.")]


@keys_app.command("list")
def list_keys(provider_id: Provider) -> None:
    """The provider's keys: prefix, label, created, last used, revoked. Never the keys."""
    from services.keys import list_keys as listed

    with program_database() as session:
        keys = listed(session, provider_id)
    print_keys(f"API keys of {provider_id}", keys)


@keys_app.command("create")
def create(
    provider_id: Provider,
    label: Annotated[
        str | None, typer.Option(help="What the key is for, e.g. 'billing sync'.")
    ] = None,
) -> None:
    """Another API key for the provider, printed once; its other keys keep working."""
    from pydantic import TypeAdapter

    from cli.support import valid
    from models.reseller import ShortLine
    from services.keys import create_key

    if label is not None:
        label = valid(lambda: TypeAdapter(ShortLine).validate_python(label))
    with program_database() as session:
        issued = create_key(session, provider_id, label)
    console.print(f"key {issued.id}  {issued.label or ''}".rstrip(), highlight=False)
    console.print(f"API key   {issued.key}", soft_wrap=True, highlight=False)
    console.print("[dim]The key is shown once: keep it now. Send it as the x-api-key header.[/]")


@keys_app.command("revoke")
def revoke(
    provider_id: Provider,
    key_id: Annotated[int, typer.Argument(help="The key's ID, as `keys list` shows it.")],
) -> None:
    """Revoke one of the provider's keys: refused from the next request on. The provider's
    last active key is not revoked: create another first."""
    from services.keys import revoke_key

    with program_database() as session:
        revoked = revoke_key(session, provider_id, key_id)
    console.print(f"key {revoked.id} ({revoked.prefix}…) revoked at {when(revoked.revoked_at)}")
