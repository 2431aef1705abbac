"""Who may read what: a users file that `qa users` writes and `qa serve --users` reads.

The file is TOML, one table per user:

    [users.alice]
    read = ["public/*", "reports/**"]    # globs relative to the documents folder; "*" is all
    write = ["public/*"]                 # where this user's uploads may land (none when empty)
    password = "scrypt$16384$8$1$<salt>$<hash>"
    [users.alice.tokens]
    "3f2a9c1d" = "sha256$<hash>"

Passwords are kept only as salted scrypt hashes, API tokens as SHA-256 hashes, and the file is
written readable by its owner alone. A token reads `qa_<id>_<secret>`: its id finds the one hash to
check. A password is short and chosen by a person, so a stolen file must be slow to guess at; a
token's secret is 240 random bits, which no number of fast hashes guesses, so its hash is fast to
check (no salt or key needed: no two tokens share a secret and nothing can be precomputed over
2**240). Files written before keep their tokens' scrypt hashes, which still work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from qa.core.access import Access

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before the standard library took it in
    import tomli as tomllib

# scrypt's cost: 16 MB and about 50 ms a check here, so a stolen file is slow to guess at.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_TOKEN = re.compile(r"^qa_([0-9a-f]{8})_([A-Za-z0-9_-]{20,100})$")
_TOKEN_ID = re.compile(r"^[0-9a-f]{8}$")
_HASH = re.compile(r"^scrypt\$[0-9]{1,10}\$[0-9]{1,3}\$[0-9]{1,3}\$[A-Za-z0-9+/]+={0,2}\$"
                   r"[A-Za-z0-9+/]+={0,2}$")
_TOKEN_HASH = re.compile(r"^sha256\$[0-9a-f]{64}$")  # a token's hash (older files: scrypt's)
_USER_KEYS = ("read", "write", "password", "tokens")
_UNREADABLE = (0, -1)  # the stamp of a users file that is missing or cannot be looked at

log = logging.getLogger(__name__)


class UsersFileError(ValueError):
    """The users file or a change to it is refused; the message says why."""


def hash_secret(secret: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            dklen=32)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def secret_matches(secret: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return kind == "scrypt" and hmac.compare_digest(got, expected)


def hash_token(token: str) -> str:
    return "sha256$" + hashlib.sha256(token.encode()).hexdigest()


@dataclass
class User:
    name: str
    read: list[str]
    write: list[str] = field(default_factory=list)
    password: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def access(self) -> Access:
        return Access(self.name, tuple(self.read), tuple(self.write))


@dataclass(frozen=True)
class TokenEntry:
    """The users file's entry for a presented token's id: whose it is and its stored hash."""

    token_id: str
    user: str
    stored: str

    @property
    def slow(self) -> bool:
        """An older file's scrypt hash: about 50 ms of CPU to check."""
        return not self.stored.startswith("sha256$")


def parse_globs(text: str) -> list[str]:
    return [checked_glob(glob) for glob in text.split(",") if glob.strip()]


def checked_glob(glob: str) -> str:
    """A folder glob without its surrounding space; UsersFileError if it is empty or leaves
    the documents folder."""
    glob = glob.strip()
    if not glob:
        raise UsersFileError("an empty glob: give a folder glob such as \"public/*\"")
    if glob.startswith("/") or ".." in glob.split("/"):
        raise UsersFileError(f"{glob!r}: a folder glob is relative to the documents folder "
                             "and stays inside it")
    return glob


def users_from(data: dict[str, object]) -> dict[str, User]:
    """The users of a parsed users file, checked strictly: a slip in editing it (a string
    where a list belongs, a misspelt key) is refused, never read as something else, since
    `read = "public/*"` taken as a list would be its letters, one of them "*" (everything)."""
    unknown = sorted(set(data) - {"users"})
    if unknown:
        raise UsersFileError(f"unknown table {unknown[0]!r}: a users file holds [users.NAME] "
                             "tables only")
    tables = data.get("users", {})
    if not isinstance(tables, dict):
        raise UsersFileError("users must be tables, one [users.NAME] for each user")
    return {name: _user_from(name, entry) for name, entry in tables.items()}


def _user_from(name: str, entry: object) -> User:
    where = f"[users.{name}]"
    if not _NAME.match(name):
        raise UsersFileError(f"{where}: a user name is letters, digits and . _ @ - (at most 64)")
    if not isinstance(entry, dict):
        raise UsersFileError(f"{where}: must be a table (read = [...], write = [...], ...)")
    unknown = sorted(set(entry) - set(_USER_KEYS))
    if unknown:
        raise UsersFileError(f"{where} {unknown[0]}: unknown key (a user has "
                             f"{', '.join(_USER_KEYS)})")
    if "read" not in entry:  # also what a file cut short after a table's header looks like
        raise UsersFileError(f"{where}: no read = [...] (the folders this user may read)")
    read, write = _globs(where, "read", entry["read"]), _globs(where, "write", entry.get("write", []))
    password, tokens = entry.get("password", ""), entry.get("tokens", {})
    if not isinstance(password, str) or (password and not _HASH.match(password)):
        raise UsersFileError(f"{where} password: not a hash `qa users add` wrote; set it again "
                             f"with `qa users add {name} --folders ...`")
    if not isinstance(tokens, dict):
        raise UsersFileError(f"{where} tokens: must be a table of token id = hash")
    for token_id, stored in tokens.items():
        if not _TOKEN_ID.match(token_id) or not isinstance(stored, str) \
                or not (_HASH.match(stored) or _TOKEN_HASH.match(stored)):
            raise UsersFileError(f"{where} tokens.{token_id}: not a token `qa users token` "
                                 "wrote; remove it and make a new one")
    return User(name, read, write, password, dict(tokens))


def _globs(where: str, key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(glob, str) for glob in value):
        raise UsersFileError(f'{where} {key}: must be a list of globs in brackets, like {key} = '
                             f'["public/*"], not {type(value).__name__} {value!r}')
    try:
        return [checked_glob(glob) for glob in value]
    except UsersFileError as error:
        raise UsersFileError(f"{where} {key}: {error}") from None


class UsersFile:
    """The users file on disk. Reads follow edits to the file (by its modification time), so
    `qa users add` and `qa users token` take effect on a running server without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._users: dict[str, User] = {}
        self._loaded = False  # once a good file was read, a bad one never replaces it
        # hash_token of an older scrypt-hashed token once checked -> its user
        self._known_tokens: dict[str, str] = {}

    # -- reading --------------------------------------------------------------------------
    def users(self) -> dict[str, User]:
        """The users as the file holds them; UsersFileError if it is missing or invalid. Once
        a good file was read (a running server), a missing, half-written or invalid one keeps
        the last good users in force, with a warning, rather than failing every request."""
        with self._lock:
            stamp = self._stamp()
            if stamp == self._seen:
                return self._users
            self._seen = stamp  # a bad file is warned about once, not on every request
            try:
                users = self._read()
            except UsersFileError as error:
                if not self._loaded:
                    self._seen = None
                    raise
                log.warning("%s; the users file as it was before stays in force", error)
                return self._users
            self._users, self._loaded = users, True
            self._known_tokens.clear()  # a removed token must stop working at once
            return self._users

    def _stamp(self) -> tuple[int, int]:
        try:
            info = self.path.stat()
        except OSError:
            return _UNREADABLE
        return info.st_mtime_ns, info.st_size

    def _read(self) -> dict[str, User]:
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsersFileError(f"{self.path}: no users file (make one with "
                                 "`qa users add NAME --folders GLOBS --users FILE`)") from None
        except OSError as error:
            raise UsersFileError(f"{self.path}: cannot be read ({error.strerror})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise UsersFileError(f"{self.path}: not a users file ({error})") from None
        try:
            return users_from(data)
        except UsersFileError as error:
            # tomllib gives no line for a value: the user's table and key name the place.
            raise UsersFileError(f"{self.path}: {error}") from None

    def warn_if_readable_by_others(self) -> str:
        mode = self.path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return (f"warning: {self.path} can be read by other accounts (mode "
                    f"{stat.S_IMODE(mode):o}); `chmod 600 {self.path}` keeps its hashes to you")
        return ""

    def check_password(self, name: str, password: str) -> bool:
        user = self.users().get(name)
        return bool(user and user.password and secret_matches(password, user.password))

    def user_for_token(self, token: str) -> str | None:
        """The user an API token belongs to, or None (may take a scrypt check: see
        `token_matches`)."""
        entry = self.token_entry(token)
        return entry.user if entry is not None and self.token_matches(entry, token) else None

    def token_entry(self, token: str) -> TokenEntry | None:
        """The file's entry for a token's id, before its secret is checked; None when the token
        is malformed or no user holds its id. Fast: a dictionary look-up."""
        match = _TOKEN.match(token)
        if not match:
            return None
        for user in self.users().values():
            stored = user.tokens.get(match.group(1))
            if isinstance(stored, str):
                return TokenEntry(match.group(1), user.name, stored)
        return None

    def token_known(self, entry: TokenEntry, token: str) -> bool:
        """Whether the token is right, when that is fast to tell: its SHA-256 against the stored
        one, or an older scrypt-hashed token this process has already checked. False otherwise
        (then `token_matches` may still say yes)."""
        fingerprint = hash_token(token)
        if not entry.slow:
            return hmac.compare_digest(fingerprint, entry.stored)
        with self._lock:
            return self._known_tokens.get(fingerprint) == entry.user

    def token_matches(self, entry: TokenEntry, token: str) -> bool:
        """Whether the token is right. An older scrypt hash takes one slow check (run it off an
        event loop); once right, the token is remembered by its SHA-256 (never in clear)."""
        if self.token_known(entry, token):
            return True
        if not entry.slow or not secret_matches(token, entry.stored):
            return False
        with self._lock:
            self._known_tokens[hash_token(token)] = entry.user
        return True

    def access(self, name: str) -> Access:
        user = self.users().get(name)
        # A user removed while signed in keeps a session but reads nothing from then on.
        return user.access() if user else Access(name, (), ())

    # -- writing (qa users ...) -----------------------------------------------------------
    def add(self, name: str, read: list[str], write: list[str], password: str) -> None:
        if not _NAME.match(name):
            raise UsersFileError(f"{name!r}: a user name is letters, digits and . _ @ - "
                                 "(at most 64)")
        if not password:
            raise UsersFileError("the password is empty")
        users = self._existing()
        kept = users.get(name)
        users[name] = User(name, read, write, hash_secret(password),
                           kept.tokens if kept else {})
        self._write(users)

    def remove(self, name: str) -> None:
        users = dict(self.users())
        if users.pop(name, None) is None:
            raise UsersFileError(f"{self.path}: no user {name!r}")
        self._write(users)

    def new_token(self, name: str) -> str:
        users = dict(self.users())
        if name not in users:
            raise UsersFileError(f"{self.path}: no user {name!r} (add them first)")
        token_id = secrets.token_hex(4)
        token = f"qa_{token_id}_{secrets.token_urlsafe(30)}"
        users[name].tokens[token_id] = hash_token(token)
        self._write(users)
        return token

    def _existing(self) -> dict[str, User]:
        return dict(self.users()) if self.path.exists() else {}

    def _write(self, users: dict[str, User]) -> None:
        data = {"users": {user.name: {"read": user.read, "write": user.write,
                                      "password": user.password, "tokens": user.tokens}
                          for user in users.values()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        # Created owner-only, so the hashes are never readable by others, not even for a moment.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            tomli_w.dump(data, out)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)
        if sys.platform != "win32":
            os.chmod(self.path, 0o600)
