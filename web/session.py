"""Sign-in for the dashboard and the reseller's portal: a key, posted once, exchanged for a
session cookie. A provider signs in to the dashboard with its API key; a reseller team to its
portal (`/portal`) with its reseller key. Each kind of session has its own cookie and its own
signing salt (`SessionKind`), so that neither ever reads as the other.

The cookie is signed (itsdangerous, with keys derived from PARTNERFLOW_SECRET_KEY, the
server secret the program already has, so that rotating it works the same way), HttpOnly,
SameSite=Lax, Secure over HTTPS, and expires after SESSION_HOURS. It holds who signed in
(the provider, or the reseller team), the ID of the key signed in with (never the key) and
the session's CSRF token. Every request checks that the key is still active: revoking it
ends its sessions at once.
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
from services.reseller_keys import SignedResellerKey, reseller_key_is_active
from store.secret_box import HOW_TO_SET, SECRET_KEY_VARIABLE, configured_box
from web.context import PageError, web_services

SESSION_COOKIE = "partnerflow_session"
SIGN_IN_COOKIE = "partnerflow_sign_in"
"""A short-lived cookie whose token the sign-in form carries: no forged sign-in form either."""
SESSION_HOURS = 8
SESSION_SECONDS = SESSION_HOURS * 3600
SIGN_IN_SECONDS = 3600
CSRF_FIELD = "csrf"
PORTAL_SESSION_COOKIE = "partnerflow_portal_session"
PORTAL_SIGN_IN_COOKIE = "partnerflow_portal_sign_in"


@dataclass(frozen=True)
class SessionKind:
    """One kind of user's sessions: the cookies they live in, the salts they are signed with
    (a value signed for one kind never loads as another's), and where to sign in."""

    cookie: str
    salt: str
    sign_in_cookie: str
    sign_in_salt: str
    sign_in_path: str


PROVIDER = SessionKind(SESSION_COOKIE, "session", SIGN_IN_COOKIE, "sign-in", "/sign-in")
RESELLER = SessionKind(
    PORTAL_SESSION_COOKIE,
    "portal-session",
    PORTAL_SIGN_IN_COOKIE,
    "portal-sign-in",
    "/portal/sign-in",
)


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page of the session's kind."""

    def __init__(self, kind: SessionKind = PROVIDER) -> None:
        super().__init__(kind.sign_in_path)
        self.sign_in_path = kind.sign_in_path


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


@dataclass(frozen=True)
class PortalViewer:
    """The reseller team signed in to its portal, the key it signed in with, and the
    session's CSRF token."""

    reseller_team_id: str
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


def _start(request: Request, response: Response, kind: SessionKind, who: str, key: int) -> None:
    data = {"p": who, "k": key, "c": secrets.token_urlsafe(32)}
    value = _serializer(kind.salt).dumps(data)
    _set_cookie(request, response, kind.cookie, value, SESSION_SECONDS)
    response.delete_cookie(kind.sign_in_cookie, path="/")


def start_session(request: Request, response: Response, signed: SignedKey) -> None:
    _start(request, response, PROVIDER, signed.provider_id, signed.key_id)


def start_portal_session(request: Request, response: Response, signed: SignedResellerKey) -> None:
    _start(request, response, RESELLER, signed.reseller_team_id, signed.key_id)


def end_session(response: Response, kind: SessionKind = PROVIDER) -> None:
    response.delete_cookie(kind.cookie, path="/", httponly=True, samesite="lax")


def _loaded(value: str | None, salt: str, max_age: int) -> Any:
    if not value:
        return None
    try:
        return _serializer(salt).loads(value, max_age=max_age)
    except BadSignature:  # altered, signed with another key, or expired
        return None


def _session(request: Request, kind: SessionKind) -> tuple[str, int, str]:
    """Who a valid session of `kind` is for, its key's ID and its CSRF token."""
    data = _loaded(request.cookies.get(kind.cookie), kind.salt, SESSION_SECONDS)
    if not isinstance(data, dict):
        raise SignInNeeded(kind)
    try:
        return str(data["p"]), int(data["k"]), str(data["c"])
    except (KeyError, TypeError, ValueError):
        raise SignInNeeded(kind) from None


def viewer(request: Request) -> Viewer:
    """The signed-in provider (a dependency: FastAPI runs it in the thread pool, as it reads
    the database); SignInNeeded without a valid session or with a revoked key."""
    provider_id, key_id, token = _session(request, PROVIDER)
    with web_services(request).db.transaction() as session:
        if not key_is_active(session, SignedKey(provider_id=provider_id, key_id=key_id)):
            raise SignInNeeded(PROVIDER)
    return Viewer(provider_id=provider_id, key_id=key_id, csrf=token)


def portal_viewer(request: Request) -> PortalViewer:
    """The signed-in reseller team, as `viewer` finds the provider: SignInNeeded (to the
    portal's sign-in) without a valid portal session or with a revoked reseller key."""
    team_id, key_id, token = _session(request, RESELLER)
    signed = SignedResellerKey(reseller_team_id=team_id, key_id=key_id)
    with web_services(request).db.transaction() as session:
        if not reseller_key_is_active(session, signed):
            raise SignInNeeded(RESELLER)
    return PortalViewer(reseller_team_id=team_id, key_id=key_id, csrf=token)


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


def sign_in_token(request: Request, kind: SessionKind = PROVIDER) -> tuple[str, str | None]:
    """The sign-in form's token, and the cookie value to set when it is a new one (the one in
    the cookie is kept while it is valid)."""
    token = _loaded(request.cookies.get(kind.sign_in_cookie), kind.sign_in_salt, SIGN_IN_SECONDS)
    if isinstance(token, str):
        return token, None
    token = secrets.token_urlsafe(32)
    return token, _serializer(kind.sign_in_salt).dumps(token)


def remember_sign_in(
    request: Request, response: Response, cookie: str, kind: SessionKind = PROVIDER
) -> None:
    _set_cookie(request, response, kind.sign_in_cookie, cookie, SIGN_IN_SECONDS)


def check_sign_in_token(
    request: Request, form: dict[str, str], kind: SessionKind = PROVIDER
) -> None:
    cookie = request.cookies.get(kind.sign_in_cookie)
    expected = _loaded(cookie, kind.sign_in_salt, SIGN_IN_SECONDS)
    check_csrf(expected if isinstance(expected, str) else secrets.token_urlsafe(8), form)
