"""Who may see and steer the dashboard.

- **Bind**: the dashboard listens on 127.0.0.1 by default; :func:`check_bind` refuses any other
  address unless a token or basic-auth credentials are configured.
- **Authentication** (when configured): a bearer token (``Authorization: Bearer``, or the
  ``pgjobs_token`` cookie set by the login form) or HTTP basic auth.
- **CSRF**: every action is a POST carrying a ``csrf_token`` form field equal to the
  ``pgjobs_csrf`` cookie (random, ``SameSite=Strict``, ``HttpOnly``) set on the first page seen:
  another site can make a browser send the cookie, but cannot read it to fill in the field.
- **The HTTP API** (``/api/...``) uses its own bearer secret and no cookies, so no CSRF token.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from starlette.requests import Request

CSRF_COOKIE = "pgjobs_csrf"
TOKEN_COOKIE = "pgjobs_token"


class UnsafeBind(Exception):
    """A non-loopback address was asked for without authentication."""


@dataclass(frozen=True)
class Auth:
    """The dashboard's credentials; none at all means loopback only."""

    token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.token) or bool(self.basic_user)

    def allows(self, request: Request) -> bool:
        """Whether the request carries valid credentials (always, when none are configured)."""
        if not self.enabled:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if self.token:
            if scheme.lower() == "bearer" and _same(value.strip(), self.token):
                return True
            if _same(request.cookies.get(TOKEN_COOKIE, ""), self.token):
                return True
        if self.basic_user and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return _same(user, self.basic_user) & _same(password, self.basic_password or "")
        return False

    def allows_token(self, given: str) -> bool:
        """Whether ``given`` is the configured token (the login form's check)."""
        return bool(self.token) and _same(given, self.token or "")


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(given.encode(), expected.encode())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: Auth) -> None:
    """Refuse to listen beyond this machine without authentication."""
    if not is_loopback(host) and not auth.enabled:
        raise UnsafeBind(
            f"refusing to listen on {host}: beyond 127.0.0.1 the dashboard needs authentication; "
            "set --token (or $PGJOBS_DASHBOARD_TOKEN) or --basic-auth USER:PASSWORD "
            "(or $PGJOBS_DASHBOARD_BASIC_AUTH), or keep the default --host 127.0.0.1"
        )


def csrf_token(request: Request) -> str:
    """The request's CSRF token: its cookie's, or a new one (set on the response by the app)."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and len(token) >= 32:
        return token
    cached = getattr(request.state, "new_csrf", None)
    if cached is None:
        cached = secrets.token_urlsafe(32)
        request.state.new_csrf = cached
    return str(cached)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and bool(submitted) and _same(submitted or "", cookie)


def bearer_ok(request: Request, secret: str | None) -> bool:
    """The API's check: ``Authorization: Bearer <secret>``; no secret configured, no access."""
    if not secret:
        return False
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and _same(value.strip(), secret)
