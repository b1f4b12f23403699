"""The keys `make run` shows: the demo provider's API key and a demo reseller's portal key,
each issued once and kept in the local stack's state directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devstack.demo import DEMO_PROVIDER_ID
from models.database import Database
from services.providers import issue_key, provider_for_key
from services.reseller_keys import issue_reseller_key, reseller_for_key


def _kept_key(key_file: Path, valid: Callable[[str], bool], issue: Callable[[], str]) -> str:
    """The key kept in `key_file` while `valid` says it still works, else a new one `issue`d
    and kept there: keys are stored hashed, so the local stack keeps its own copy to show it
    on every run."""
    if key_file.exists():
        key = key_file.read_text().strip()
        if valid(key):
            return key
    key = issue()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


def demo_api_key(db: Database, key_file: Path) -> str:
    """The demo provider's API key for the local stack: issued once, kept in `key_file`."""

    def valid(key: str) -> bool:
        with db.transaction() as session:
            return provider_for_key(session, key) == DEMO_PROVIDER_ID

    def issue() -> str:
        with db.transaction() as session:
            return issue_key(session, DEMO_PROVIDER_ID)

    return _kept_key(key_file, valid, issue)


def demo_reseller_key(db: Database, key_file: Path, team_id: str) -> str:
    """A key to the reseller portal for one demo reseller team, kept in `key_file`."""

    def valid(key: str) -> bool:
        with db.transaction() as session:
            signed = reseller_for_key(session, key)
        return signed is not None and signed.reseller_team_id == team_id

    def issue() -> str:
        with db.transaction() as session:
            return issue_reseller_key(session, team_id, "make run demo").key

    return _kept_key(key_file, valid, issue)
