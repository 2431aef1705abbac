"""Sign-in for a served page (`qa serve --users FILE`): who each request comes from.

A request is someone's when it carries `Authorization: Bearer TOKEN` (a token `qa users token`
printed) or the cookie Gradio's login page set. The guard asks `admit` before anything else runs:
it names the user to the handlers in the `x-qa-user` header (any such header a client sends is
dropped first) and refuses with 401 whatever is not the login page's own. Gradio checks its login
cookie on its API routes, so a request signed with a token is also given a Gradio session of that
user's. Failed password sign-ins are counted per address, and refused for a while once there are
too many.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qa.users import EVERYONE, Access, UsersFile

USER_HEADER = "x-qa-user"
_USER_HEADER = USER_HEADER.encode()
LOGIN_ROUTE = "/login"

# What a browser needs before it has signed in: the page's shell, its assets and Gradio's login
# flow (Gradio answers /config with "auth required" until then), and /api/health for load
# balancers. Everything else needs a user.
_OPEN = re.compile(r"^(?:/|/config/?|/login/?|/logout|/favicon\.ico|/robots\.txt|/manifest\.json"
                   r"|/theme\.css|/pwa_icon(?:/[^/]*)?|/(?:svelte|static|assets)/.*"
                   r"|/gradio_api/(?:login_check|app_id|token|user)/?|/gradio_api/(?:theme\.css|startup-events)"
                   r"|/api/health)$")


@dataclass(frozen=True)
class Admission:
    """What the guard does with a request: pass it on (with these headers) or refuse it."""

    headers: list[tuple[bytes, bytes]]
    user: str | None
    refusal: str = ""
    status: int = 401


class FailedSignIns:
    """At most `allowed` failures per address in `window` seconds; then refusals until the
    oldest failure leaves the window."""

    def __init__(self, allowed: int = 5, window: float = 300.0) -> None:
        self.allowed, self.window = allowed, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds until `address` may try again (0 when it may now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(address)
            while failures and failures[0] < now - self.window:
                failures.popleft()
            if not failures:
                self._failures.pop(address, None)
                return 0.0
            return failures[0] + self.window - now if len(failures) >= self.allowed else 0.0

    def failed(self, address: str) -> None:
        with self._lock:
            self._failures.setdefault(address, deque()).append(time.monotonic())


class SignIn:
    def __init__(self, users: UsersFile, failures: FailedSignIns | None = None) -> None:
        self.users = users
        self.failures = failures or FailedSignIns()
        self._gradio: Any = None  # Gradio's app, once launched: its login sessions
        self._sessions: dict[str, str] = {}  # user -> the Gradio session made for their token
        self._export_key = secrets.token_bytes(16)

    def attach(self, gradio_app: Any) -> None:
        self._gradio = gradio_app

    def check_password(self, name: str, password: str) -> bool:
        """Gradio's login calls this."""
        return self.users.check_password(name, password)

    def admit(self, scope: Mapping[str, Any]) -> Admission:
        headers = [(key, value) for key, value in scope.get("headers", [])
                   if key != _USER_HEADER]
        if scope["path"].rstrip("/") == LOGIN_ROUTE:
            address = _address(scope)
            wait = self.failures.wait(address)
            if wait:
                return Admission(headers, None, f"too many failed sign-ins from {address}; try "
                                                f"again in {wait:.0f} s", 429)
        token = _bearer(headers)
        if token is not None:
            # Tokens are not counted: 180 random bits are not guessed, and a client with a
            # stale token must not lock its colleagues behind the same address out of the page.
            user = self.users.user_for_token(token)
            if user is None:
                return Admission(headers, None, "this API token is not valid (qa users token "
                                                "NAME --users FILE makes one)")
            headers = self._with_gradio_session(headers, user)
        else:
            user = self._cookie_user(headers)
        if user is None:
            if _OPEN.match(scope["path"]):
                return Admission(headers, None)
            return Admission(headers, None, "sign in first: send Authorization: Bearer TOKEN "
                                            "(qa users token NAME --users FILE), or sign in on "
                                            "the page")
        return Admission([*headers, (_USER_HEADER, user.encode())], user)

    def access(self, user: str | None) -> Access:
        return Access(None, (), ()) if user is None else self.users.access(user)

    def access_of(self, headers: Mapping[str, str]) -> Access:
        """The access of the user the guard named in a request's headers."""
        return self.access(headers.get(USER_HEADER))

    def export_tag(self, user: str | None) -> str:
        """A tag for a user's download names: the file route serves each user only their own."""
        if user is None:
            return ""
        return hmac.new(self._export_key, user.encode(), hashlib.sha256).hexdigest()[:12]

    def _cookie_user(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        app = self._gradio
        if app is None:
            return None
        names = (f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}")
        for name, value in _cookies(headers):
            if name in names:
                user = app.tokens.get(value)
                if user is not None:
                    return str(user)
        return None

    def _with_gradio_session(self, headers: list[tuple[bytes, bytes]], user: str
                             ) -> list[tuple[bytes, bytes]]:
        app = self._gradio
        if app is None:
            return headers
        session = self._sessions.get(user)
        if session is None or app.tokens.get(session) != user:
            session = self._sessions[user] = secrets.token_urlsafe(16)
            app.tokens[session] = user
        cookie = f"access-token-unsecure-{app.cookie_id}={session}".encode()
        return [*[(k, v) for k, v in headers if k != b"cookie"], (b"cookie", cookie)]


def _address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


def _cookies(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    found = []
    for key, value in headers:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, content = part.strip().partition("=")
                found.append((name, content))
    return found


def no_sign_in(headers: Mapping[str, str]) -> Access:
    """The access of every request on a server without sign-in."""
    return EVERYONE
