"""Secrets at rest: providers' SMTP passwords and webhook signing secrets are encrypted
(Fernet: AES-128-CBC with an HMAC-SHA256) before they reach the program database.

PARTNERFLOW_SECRET_KEY holds one or more Fernet keys separated by commas: the first
encrypts, every one decrypts. A key is rotated by putting a new one first, running
`partnerflow secrets reencrypt`, then dropping the old one. A stored value is `fernet:`
followed by the token; a value without that prefix is plain text written before
encryption, read as it is and encrypted the next time it is written (or by `reencrypt`).
"""

from __future__ import annotations

import binascii
import logging
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SECRET_KEY_VARIABLE = "PARTNERFLOW_SECRET_KEY"
SEALED_PREFIX = "fernet:"
HOW_TO_SET = (
    f"set {SECRET_KEY_VARIABLE} for the API, the worker and the CLI to the same key, made with "
    "`partnerflow secrets new-key`"
)


class SecretKeyError(RuntimeError):
    """The secret key configuration does not let a secret be stored or read: the operator's
    to fix, not the provider's."""


class SecretKeyMissing(SecretKeyError):
    """No key is configured, and a secret has to be encrypted or decrypted."""


class SecretKeyInvalid(SecretKeyError):
    """PARTNERFLOW_SECRET_KEY is set, but not to Fernet keys."""


class SecretUnreadable(SecretKeyError):
    """A stored secret was encrypted with a key that PARTNERFLOW_SECRET_KEY no longer holds."""


def new_key() -> str:
    """A fresh Fernet key: 32 random bytes, URL-safe base64."""
    return Fernet.generate_key().decode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


@dataclass(frozen=True)
class SecretBox:
    """Encrypts with the first key, decrypts with any."""

    keys: tuple[Fernet, ...]

    @classmethod
    def parse(cls, value: str) -> SecretBox:
        """Keys from PARTNERFLOW_SECRET_KEY's value; a message that names the bad one (by its
        place, never its text) otherwise."""
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:
            raise SecretKeyInvalid(f"{SECRET_KEY_VARIABLE} holds no key: {HOW_TO_SET}")
        keys = []
        for place, part in enumerate(parts, start=1):
            try:
                keys.append(Fernet(part))
            except (ValueError, binascii.Error):
                raise SecretKeyInvalid(
                    f"key {place} of {len(parts)} in {SECRET_KEY_VARIABLE} is not a Fernet key "
                    f"(44 characters of URL-safe base64): {HOW_TO_SET}"
                ) from None
        return cls(tuple(keys))

    @property
    def _all(self) -> MultiFernet:
        return MultiFernet(list(self.keys))

    def seal(self, plain: str) -> str:
        """The value to store: encrypted with the first key."""
        return SEALED_PREFIX + self.keys[0].encrypt(plain.encode()).decode()

    def open(self, stored: str, what: str) -> str:
        """The secret in the clear; a legacy plain-text value is returned as it is. `what`
        names the secret in the error, e.g. "the SMTP password of provider acme"."""
        if not is_sealed(stored):
            return stored
        try:
            return self._all.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken:
            tried = "the key" if len(self.keys) == 1 else f"any of the {len(self.keys)} keys"
            raise SecretUnreadable(
                f"{what} cannot be decrypted with {tried} in {SECRET_KEY_VARIABLE}: it was "
                "encrypted with another key (or the stored value was altered). Put the key it "
                f"was encrypted with back in {SECRET_KEY_VARIABLE}, after the first one, or set "
                "the secret again"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Encrypted with the first key: `reencrypt` leaves it as it is."""
        if not is_sealed(stored):
            return False
        try:
            self.keys[0].decrypt(stored.removeprefix(SEALED_PREFIX).encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, stored: str, what: str) -> str:
        """The value encrypted with the first key, whether it was plain text or encrypted with
        any of the keys."""
        return self.seal(self.open(stored, what))


@lru_cache(maxsize=4)
def _parsed(value: str) -> SecretBox:
    return SecretBox.parse(value)


def configured_box() -> SecretBox | None:
    """The keys in PARTNERFLOW_SECRET_KEY, read at each call (so that a test or `partnerflow
    dev` can set it); None where it is unset or blank."""
    value = os.environ.get(SECRET_KEY_VARIABLE, "")
    return _parsed(value) if value.strip() else None


def required_box(doing: str) -> SecretBox:
    """The configured keys, or a refusal that says how to configure them; `doing` is what
    needs them, e.g. "store the SMTP password of provider acme"."""
    box = configured_box()
    if box is None:
        raise SecretKeyMissing(
            f"cannot {doing}: secrets are stored encrypted and no key is configured. The "
            f"operator must {HOW_TO_SET}"
        )
    return box


def key_status() -> tuple[bool, str]:
    """Whether a key is configured, and a line for a process's start log; a malformed
    PARTNERFLOW_SECRET_KEY raises SecretKeyInvalid, so a process refuses to start with it."""
    box = configured_box()
    if box is None:
        return False, (
            f"{SECRET_KEY_VARIABLE} is not set: providers' SMTP passwords and webhook secrets "
            f"can be neither stored nor, when encrypted, read; {HOW_TO_SET}"
        )
    count = len(box.keys)
    keys = "1 key" if count == 1 else f"{count} keys, the first encrypting"
    return True, f"stored secrets encrypted under {SECRET_KEY_VARIABLE} ({keys})"


def log_secret_key(log: logging.Logger) -> None:
    """Say at start whether stored secrets can be encrypted; a malformed key stops the start."""
    configured, line = key_status()
    log.log(logging.INFO if configured else logging.WARNING, line)
