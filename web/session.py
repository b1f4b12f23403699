"""The dashboard's sign-in: a provider API key, posted once, exchanged for a session cookie.

The cookie is signed (itsdangerous, with keys derived from PARTNERFLOW_SECRET_KEY, the
server secret the program already has, so that rotating it works the same way), HttpOnly,
SameSite=Lax, Secure over HTTPS, and expires after SESSION_HOURS. It holds the provider,
the ID of the key signed in with (never the key) and the session's CSRF token. Every
request checks that the key is still active: revoking it ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.dashboard import SignedKey, key_is_active
from store.secret_box import HOW_TO_SET, SECRET_KEY_VARIABLE, configured_box
from web.context import PageError, web_services

SESSION_COOKIE = "partnerflow_session"
SIGN_IN_COOKIE = "partnerflow_sign_in"
"""A short-lived cookie whose token the sign-in form carries: no forged sign-in form either."""
SESSION_HOURS = 8
SESSION_SECONDS = SESSION_HOURS * 3600
SIGN_IN_SECONDS = 3600
CSRF_FIELD = "csrf"


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class SessionsUnconfigured(PageError):
    def __init__(self) -> None:
        super().__init__(
            503,
            f"The dashboard signs its sessions with {SECRET_KEY_VARIABLE}, which is not set: "
            f"the operator must {HOW_TO_SET}.",
        )


def _signing_keys() -> list[bytes]:
    """One signing key per key in PARTNERFLOW_SECRET_KEY, the first (which encrypts) last, as
    itsdangerous signs with the last and accepts any. Derived, so that a session signature
    never uses the encryption key itself."""
    if configured_box() is None:  # also refuses a malformed value, saying which key is bad
        raise SessionsUnconfigured()
    parts = [part.strip() for part in os.environ[SECRET_KEY_VARIABLE].split(",") if part.strip()]
    derived = [
        hmac.new(part.encode(), b"partnerflow dashboard sessions", hashlib.sha256).digest()
        for part in parts
    ]
    return list(reversed(derived))


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_signing_keys(), salt=salt)


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: the provider, the key it signed in with, and the session's CSRF
    token, which every form carries."""

    provider_id: str
    key_id: int
    csrf: str


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def start_session(request: Request, response: Response, signed: SignedKey) -> None:
    data = {"p": signed.provider_id, "k": signed.key_id, "c": secrets.token_urlsafe(32)}
    value = _serializer("session").dumps(data)
    _set_cookie(request, response, SESSION_COOKIE, value, SESSION_SECONDS)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def _loaded(value: str | None, salt: str, max_age: int) -> Any:
    if not value:
        return None
    try:
        return _serializer(salt).loads(value, max_age=max_age)
    except BadSignature:  # altered, signed with another key, or expired
        return None


def viewer(request: Request) -> Viewer:
    """The signed-in provider (a dependency: FastAPI runs it in the thread pool, as it reads
    the database); SignInNeeded without a valid session or with a revoked key."""
    data = _loaded(request.cookies.get(SESSION_COOKIE), "session", SESSION_SECONDS)
    if not isinstance(data, dict):
        raise SignInNeeded()
    try:
        signed = SignedKey(provider_id=data["p"], key_id=data["k"])
        token = str(data["c"])
    except (KeyError, ValueError):
        raise SignInNeeded() from None
    with web_services(request).db.transaction() as session:
        if not key_is_active(session, signed):
            raise SignInNeeded()
    return Viewer(provider_id=signed.provider_id, key_id=signed.key_id, csrf=token)


def check_csrf(expected: str, form: dict[str, str]) -> None:
    """A POST whose form does not carry the session's token is refused: another site's page
    cannot act with the provider's session."""
    sent = form.get(CSRF_FIELD, "")
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PageError(
            403,
            "This form has expired or did not come from this dashboard (its security token "
            "does not match your session). Nothing was changed: open the page again and "
            "resend it.",
        )


def sign_in_token(request: Request) -> tuple[str, str | None]:
    """The sign-in form's token, and the cookie value to set when it is a new one (the one in
    the cookie is kept while it is valid)."""
    token = _loaded(request.cookies.get(SIGN_IN_COOKIE), "sign-in", SIGN_IN_SECONDS)
    if isinstance(token, str):
        return token, None
    token = secrets.token_urlsafe(32)
    return token, _serializer("sign-in").dumps(token)


def remember_sign_in(request: Request, response: Response, cookie: str) -> None:
    _set_cookie(request, response, SIGN_IN_COOKIE, cookie, SIGN_IN_SECONDS)


def check_sign_in_token(request: Request, form: dict[str, str]) -> None:
    expected = _loaded(request.cookies.get(SIGN_IN_COOKIE), "sign-in", SIGN_IN_SECONDS)
    check_csrf(expected if isinstance(expected, str) else secrets.token_urlsafe(8), form)
