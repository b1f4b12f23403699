"""`/provider/keys`: the provider's API keys: list them, create another, revoke one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Security, status
from pydantic import Field

from api.deps import ProviderDep, SessionDep, api_key_header
from api.views import ApiModel, Problem
from models.reseller import ShortLine
from models.wire import MAX_ROW_ID
from services.keys import create_key, key_id_of, list_keys, revoke_key

router = APIRouter(prefix="/provider/keys", tags=["keys"])

KeyId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The key's ID, as listed.")]


class KeyView(ApiModel):
    id: int
    prefix: str = Field(description="The key's first characters, to tell it apart.")
    label: str | None
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When a request last came with it (kept to the minute)."
    )
    revoked_at: datetime | None
    current: bool = Field(description="Whether this request was made with it.")


class NewKeyView(KeyView):
    key: str = Field(description="The key itself: shown this once, keep it now.")


class NewKeyBody(ApiModel):
    label: ShortLine | None = Field(
        default=None, description="What the key is for, e.g. 'billing sync'."
    )


# Revoking comes first in the document, so that a fuzz of it meets the provider's one key
# before POST has made others (see tests/api/test_fuzz.py).


@router.delete(
    "/{key_id}",
    summary="Revoke an API key",
    responses={
        409: {
            "model": Problem,
            "description": "The provider's last active key: create another first.",
        }
    },
)
def revoke(
    key_id: KeyId,
    provider: ProviderDep,
    session: SessionDep,
    key: Annotated[str | None, Security(api_key_header)],
) -> KeyView:
    """The key is refused from the next request on. Another provider's key is not found; the
    key of this request may be revoked while the provider keeps another active key."""
    revoked = revoke_key(session, provider, key_id)
    current = key_id_of(session, key) if key else None
    return KeyView(**revoked.model_dump(), current=revoked.id == current)


@router.get("", summary="List the provider's API keys")
def list_provider_keys(
    provider: ProviderDep,
    session: SessionDep,
    key: Annotated[str | None, Security(api_key_header)],
) -> list[KeyView]:
    """Active keys first, then revoked ones; the newest first. Never the keys themselves."""
    current = key_id_of(session, key) if key else None
    return [
        KeyView(**info.model_dump(), current=info.id == current)
        for info in list_keys(session, provider)
    ]


@router.post(
    "",
    summary="Create another API key",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": Problem, "description": "The provider holds 20 active keys."}},
)
def create(body: NewKeyBody, provider: ProviderDep, session: SessionDep) -> NewKeyView:
    """A new key, shown once in `key`; the provider's other keys keep working."""
    issued = create_key(session, provider, body.label)
    return NewKeyView(**issued.model_dump(), current=False)
