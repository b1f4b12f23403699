"""`/provider/keys`: a provider lists, creates and revokes its own API keys; a revoked key is
refused by the very next request, another provider's key is not found, and the last active
key is kept so that the provider is never locked out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models.schema import ApiKey, utcnow
from tests.api.conftest import ProviderApi

KEYS = "/provider/keys"


def as_key(api: ProviderApi, key: str) -> ProviderApi:
    return ProviderApi(api.program, key, api.http)


async def test_a_provider_lists_creates_and_revokes_its_keys(acme: ProviderApi):
    listed = await acme.get(KEYS)
    assert listed.status_code == 200, listed.text
    [own] = listed.json()
    assert own["prefix"] == acme.key[:10] and own["current"] is True
    assert own["lastUsedAt"] is not None and own["revokedAt"] is None
    assert acme.key not in listed.text

    created = await acme.post(KEYS, {"label": "billing sync"})
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["label"] == "billing sync" and new["key"].startswith(new["prefix"])
    billing = as_key(acme, new["key"])
    assert (await billing.get("/provider/partners")).status_code == 200

    keys = (await acme.get(KEYS)).json()
    assert [(k["id"], k["current"]) for k in keys] == [(new["id"], False), (own["id"], True)]
    assert all("key" not in k for k in keys)

    revoked = await acme.delete(f"{KEYS}/{new['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revokedAt"] is not None
    refused = await billing.get("/provider/partners")
    assert (refused.status_code, refused.json()) == (401, {"detail": "unknown or revoked API key"})
    again = await acme.delete(f"{KEYS}/{new['id']}")  # already revoked: left as it is
    assert again.json()["revokedAt"] == revoked.json()["revokedAt"]
    assert (await acme.get(KEYS)).json()[-1]["id"] == new["id"]  # revoked ones last


async def test_the_last_active_key_is_not_revoked(acme: ProviderApi):
    [own] = (await acme.get(KEYS)).json()
    refused = await acme.delete(f"{KEYS}/{own['id']}")
    assert refused.status_code == 409, refused.text
    assert "last active key" in refused.json()["detail"]
    assert (await acme.get("/provider/partners")).status_code == 200

    spare = (await acme.post(KEYS, {})).json()
    dropped = await acme.delete(f"{KEYS}/{own['id']}")  # its own key, with a spare kept
    assert dropped.status_code == 200 and dropped.json()["current"] is True
    assert (await acme.get(KEYS)).status_code == 401
    spared = as_key(acme, spare["key"])
    assert (await spared.delete(f"{KEYS}/{spare['id']}")).status_code == 409


async def test_another_providers_key_is_not_found(acme: ProviderApi, globex: ProviderApi):
    [acmes] = (await acme.get(KEYS)).json()
    refused = await globex.delete(f"{KEYS}/{acmes['id']}")
    assert refused.status_code == 404
    assert refused.json() == {
        "detail": f"provider {globex.provider_id} has no API key {acmes['id']}"
    }
    missing = await globex.delete(f"{KEYS}/999999")
    assert missing.json()["detail"] == f"provider {globex.provider_id} has no API key 999999"
    assert [k["prefix"] for k in (await globex.get(KEYS)).json()] == [globex.key[:10]]
    assert (await acme.get(KEYS)).json()[0]["revokedAt"] is None


async def test_last_used_is_written_at_most_once_a_minute(acme: ProviderApi):
    def last_used(at: object = None) -> object:
        with acme.program.db.transaction() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == acme.key[:10])).one()
            if at is not None:
                row.last_used_at = at  # type: ignore[assignment]
            return row.last_used_at

    recent = utcnow().replace(microsecond=0) - timedelta(seconds=30)
    last_used(recent)
    assert (await acme.get("/provider/partners")).status_code == 200
    assert last_used() == recent
    stale = recent - timedelta(minutes=1)
    last_used(stale)
    assert (await acme.get("/provider/partners")).status_code == 200
    now = last_used()
    assert isinstance(now, type(stale)) and now > recent


async def test_a_label_is_one_short_line(acme: ProviderApi):
    for label in ("", "x" * 101, "two\nlines"):
        refused = await acme.post(KEYS, {"label": label})
        assert refused.status_code == 422 and "label" in refused.json()["detail"], refused.text
