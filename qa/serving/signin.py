"""Sign-in for a served page (`qa serve --users FILE`): who each request comes from.

A request is someone's when it carries `Authorization: Bearer TOKEN` (a token `qa users token`
printed) or the cookie Gradio's login page set. The guard asks `admit` before anything else runs:
it names the user to the handlers in the `x-qa-user` header (any such header a client sends is
dropped first) and refuses with 401 whatever is not the login page's own. Gradio checks its login
cookie on its API routes, so a request signed with a token is also given a Gradio session of that
user's.

Guesses are limited: failed password sign-ins per address, and tokens with a real id but a wrong
secret per id and per address (a token whose id no one holds costs nothing to refuse and is not
counted, so a client with a removed token never locks its office out). Each attempt is counted
before it is checked, so concurrent guesses are checked at most up to the limit; then they are
refused for a while. The address is the connection's peer: uvicorn believes X-Forwarded-For only
from the proxies named in Settings.trusted_proxies (qa.serving.server). No check runs scrypt on the event
loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from qa.core.access import EVERYONE, Access
from qa.serving.users import TokenEntry, UsersFile, hash_token

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
    attempt: tuple[str, ...] = ()  # a password sign-in counted before its check: settle it


class FailedSignIns:
    """At most `allowed` failures per key (an address, a token id) in `window` seconds; then
    refusals until the oldest failure leaves the window. An attempt being checked counts as a
    failure until it is settled, so concurrent attempts never outnumber the limit."""

    def __init__(self, allowed: int = 5, window: float = 300.0) -> None:
        self.allowed, self.window = allowed, window
        self._failures: dict[str, deque[float]] = {}
        self._checking: Counter[str] = Counter()
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds until every key may try again (0 when they may now)."""
        with self._lock:
            return self._wait(keys)

    def reserve(self, *keys: str) -> float:
        """Count an attempt against every key before it is checked, and return 0; or, with no
        room under some key, count nothing and return the seconds to wait. Settle each 0."""
        with self._lock:
            wait = self._wait(keys)
            if not wait:
                self._checking.update(keys)
            return wait

    def settle(self, *keys: str, failed: bool) -> None:
        """The outcome of a reserved attempt: a failure stays counted, a success is dropped."""
        with self._lock:
            for key in keys:
                self._checking[key] -= 1
                if self._checking[key] <= 0:
                    del self._checking[key]
            if failed:
                self._record(keys)

    def failed(self, *keys: str) -> None:
        with self._lock:
            self._record(keys)

    def _record(self, keys: tuple[str, ...]) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def _wait(self, keys: tuple[str, ...]) -> float:
        now = time.monotonic()
        longest = 0.0
        for key in keys:
            failures = self._failures.get(key, deque())
            while failures and failures[0] < now - self.window:
                failures.popleft()
            if not failures:
                self._failures.pop(key, None)
            # How many failures must leave the window before one more attempt fits.
            excess = len(failures) + self._checking[key] - self.allowed
            if excess < 0:
                continue
            # When checks in progress fill the limit alone, their outcome is near.
            wait = failures[excess] + self.window - now if excess < len(failures) else 1.0
            longest = max(longest, wait, 0.001)
        return longest


class SignIn:
    def __init__(self, users: UsersFile, failures: FailedSignIns | None = None) -> None:
        self.users = users
        self.failures = failures or FailedSignIns()
        self._gradio: Any = None  # Gradio's app, once launched: its login sessions
        self._sessions: dict[str, str] = {}  # user -> the Gradio session made for their token
        self._export_key = secrets.token_bytes(16)
        # hash_token of a token whose scrypt check is running -> its outcome
        self._slow_checks: dict[str, asyncio.Future[bool]] = {}

    def attach(self, gradio_app: Any) -> None:
        self._gradio = gradio_app

    async def check_password(self, name: str, password: str) -> bool:
        """Gradio's login awaits this; scrypt runs in a thread, so the server keeps answering."""
        return await anyio.to_thread.run_sync(self.users.check_password, name, password)

    async def admit(self, scope: Mapping[str, Any]) -> Admission:
        """What to do with a request. A password sign-in (POST /login) is let through with an
        attempt reserved (`Admission.attempt`): the caller settles it by the login's answer."""
        headers = [(key, value) for key, value in scope.get("headers", [])
                   if key != _USER_HEADER]
        address = _address(scope)
        attempt: tuple[str, ...] = ()
        if scope["path"].rstrip("/") == LOGIN_ROUTE:
            signing_in = scope.get("method") == "POST"
            wait = self.failures.reserve(address) if signing_in else self.failures.wait(address)
            if wait:
                return Admission(headers, None, f"too many failed sign-ins from {address}; try "
                                                f"again in {wait:.0f} s", 429)
            attempt = (address,) if signing_in else ()
        token = _bearer(headers)
        if token is not None:
            user, refusal, status = await self._token_user(token, address)
            if user is None:
                self._settle(attempt, failed=True)
                return Admission(headers, None, refusal, status)
            headers = self._with_gradio_session(headers, user)
        else:
            user = self._cookie_user(headers)
        if user is None:
            if _OPEN.match(scope["path"]):
                return Admission(headers, None, attempt=attempt)
            self._settle(attempt, failed=True)
            return Admission(headers, None, "sign in first: send Authorization: Bearer TOKEN "
                                            "(qa users token NAME --users FILE), or sign in on "
                                            "the page")
        return Admission([*headers, (_USER_HEADER, user.encode())], user, attempt=attempt)

    def _settle(self, attempt: tuple[str, ...], failed: bool) -> None:
        if attempt:
            self.failures.settle(*attempt, failed=failed)

    async def _token_user(self, token: str, address: str) -> tuple[str | None, str, int]:
        """The token's user, or None with the refusal and its status."""
        invalid = "this API token is not valid (qa users token NAME --users FILE makes one)"
        entry = self.users.token_entry(token)
        if entry is None:
            return None, invalid, 401
        keys = (f"token {entry.token_id}", f"token from {address}")
        wait = self.failures.wait(*keys)
        if wait:
            return None, (f"too many wrong secrets for this token or from {address}; try again "
                          f"in {wait:.0f} s"), 429
        if self.users.token_known(entry, token):
            return entry.user, "", 200
        if not entry.slow:  # the SHA-256 told already: a wrong secret
            self.failures.failed(*keys)
            return None, invalid, 401
        right = await self._slow_check(entry, token, keys)
        if right is None:
            return None, f"too many token checks from {address} at once; try again in 1 s", 429
        return (entry.user, "", 200) if right else (None, invalid, 401)

    async def _slow_check(self, entry: TokenEntry, token: str, keys: tuple[str, ...]
                          ) -> bool | None:
        """An older file's scrypt-hashed token, checked in a thread, counted before it runs
        (None: no room to count it now). The same token sent again meanwhile waits for that one
        check, so a busy client's first requests are not taken for guesses."""
        fingerprint = hash_token(token)
        pending = self._slow_checks.get(fingerprint)
        if pending is not None:
            return await asyncio.shield(pending)
        if self.failures.reserve(*keys):
            return None
        pending = self._slow_checks[fingerprint] = asyncio.get_running_loop().create_future()
        right = False
        try:
            right = await anyio.to_thread.run_sync(self.users.token_matches, entry, token)
        finally:
            self.failures.settle(*keys, failed=not right)
            del self._slow_checks[fingerprint]
            pending.set_result(right)
        return right

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


def trusted_proxies(listed: str) -> str:
    """Settings.trusted_proxies checked, as uvicorn's FORWARDED_ALLOW_IPS takes it; a clear
    error for anything but addresses and networks (uvicorn would quietly match it as a name)."""
    proxies = [proxy.strip() for proxy in listed.split(",") if proxy.strip()]
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(f"trusted proxy {proxy!r} is not an IP address or network (e.g. "
                             "127.0.0.1 or 10.0.0.0/8)") from None
    return ",".join(proxies)


def no_sign_in(headers: Mapping[str, str]) -> Access:
    """The access of every request on a server without sign-in."""
    return EVERYONE
