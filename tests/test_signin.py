"""Serving a team: the users file, sign-in, API tokens, and each user's folders enforced on every
route of a live `qa serve --users FILE --mcp` over a folder with public/ and hr/."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import secrets
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import click
import httpx
import pytest
import tomli_w
from click.testing import CliRunner
from conftest import REPO, free_port, serving
from starlette.types import Receive, Scope, Send

import qa.serving.users
from benchmarks.load import call, run_load
from qa.cli import main, serve_options
from qa.core.access import Access, glob_pattern
from qa.core.settings import Settings
from qa.library import QA
from qa.serving.guard import RouteGuard
from qa.serving.handlers import add_files
from qa.serving.signin import Admission, FailedSignIns, SignIn, trusted_proxies
from qa.serving.users import UsersFile, UsersFileError, hash_secret, hash_token

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

# Each file holds one fact; the hr/ ones must never reach a user limited to public/.
PUBLIC = {
    "public/harbour.txt": ("Harbour depot note", "The harbour depot in Plymouth is managed by "
                           "Colette Moreau and opens at seven in the morning on weekdays."),
    "public/ferries.md": ("# Ferry timetable", "The winter ferry to Roscoff leaves the harbour "
                          "at nine and returns at six, except on public holidays."),
    "public/notes/canteen.txt": ("Canteen", "The depot canteen serves soup from noon; staff "
                                 "pay with their badge at the harbour office."),
}
HR = {
    "hr/salaries.txt": ("Salary review", "The salary review for the harbour depot staff "
                        "concluded that wages rise by four percent in March."),
    "hr/complaints/moreau.txt": ("Complaint file", "A complaint about the harbour depot "
                                 "manager's rota was settled by mediation in October."),
}
HR_QUESTION = "By how much do the harbour depot staff's wages rise?"
HR_FACT = "four percent"
# Links planted in public/ to what is in hr/: a file and a folder.
LINKS = {"public/link.txt": "../hr/salaries.txt", "public/hr-files": "../hr"}
PASSWORDS = {"alice": "alice-pass-1", "boss": "boss-pass-2", "reader": "reader-pass-3",
             "bob": "bob-pass-4"}
BOB_READS = {"public/harbour.txt", "public/ferries.md"}  # public/*: not public/notes/


def write_folder(docs: Path) -> None:
    for name, (title, text) in {**PUBLIC, **HR}.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    for name, target in LINKS.items():
        (docs / name).symlink_to(target)


def add_user(users: Path, name: str, folders: str, write: str = "") -> None:
    arguments = ["users", "add", name, "--folders", folders, "--users", str(users),
                 "--password-stdin", *(["--write", write] if write else [])]
    outcome = CliRunner().invoke(main, arguments, input=PASSWORDS[name] + "\n")
    assert outcome.exit_code == 0, outcome.output


def new_token(users: Path, name: str) -> str:
    outcome = CliRunner().invoke(main, ["users", "token", name, "--users", str(users)])
    assert outcome.exit_code == 0, outcome.output
    return outcome.output.strip()


# -- the users file ----------------------------------------------------------------------

def test_users_file_keeps_only_hashes_owner_only(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "alice", "public/*")
    token = new_token(users, "alice")
    text = users.read_text()
    assert PASSWORDS["alice"] not in text and token not in text and token.split("_", 2)[2] not in text
    # The password salted and slow, the 240-bit token fast: nothing guesses 2**240.
    assert text.count("scrypt$") == 1 and text.count(f'"{hash_token(token)}"') == 1
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    listed = UsersFile(users)
    assert listed.check_password("alice", PASSWORDS["alice"])
    assert not listed.check_password("alice", "wrong") and not listed.check_password("eve", "x")
    assert listed.user_for_token(token) == "alice"
    assert listed.user_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert listed.user_for_token("qa_00000000_" + "x" * 40) is None
    assert listed.warn_if_readable_by_others() == ""
    os.chmod(users, 0o644)
    assert "chmod 600" in listed.warn_if_readable_by_others()


def with_scrypt_token(users: Path, name: str) -> str:
    """A token as files written before kept it: a salted scrypt hash."""
    token_id = secrets.token_hex(4)
    token = f"qa_{token_id}_{secrets.token_urlsafe(30)}"
    text = users.read_text()
    heading = f"[users.{name}.tokens]"
    line = f'{token_id} = "{hash_secret(token)}"'
    text = text.replace(heading, f"{heading}\n{line}") if heading in text \
        else f"{text}\n{heading}\n{line}\n"
    users.write_text(text)
    return token


def test_tokens_hashed_with_scrypt_before_still_work(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "alice", "public/*")
    token = with_scrypt_token(users, "alice")
    listed = UsersFile(users)
    entry = listed.token_entry(token)
    assert entry is not None and entry.slow and not listed.token_known(entry, token)
    assert listed.user_for_token(token) == "alice"
    assert listed.token_known(entry, token)  # checked once, then known by its SHA-256
    assert listed.user_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_removing_a_user_stops_their_token_at_once(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "alice", "public/*")
    token = new_token(users, "alice")
    running = UsersFile(users)
    assert running.user_for_token(token) == "alice"  # now remembered by its hash
    outcome = CliRunner().invoke(main, ["users", "remove", "alice", "--users", str(users)])
    assert outcome.exit_code == 0, outcome.output
    assert running.user_for_token(token) is None
    listing = CliRunner().invoke(main, ["users", "list", "--users", str(users)])
    assert "alice" not in listing.output


@pytest.mark.parametrize(("arguments", "message"), [
    (["add", "bad name", "--folders", "*", "--password-stdin"], "a user name is"),
    (["add", "alice", "--folders", "../etc/*", "--password-stdin"], "stays inside it"),
    (["add", "alice", "--folders", " , ", "--password-stdin"], "at least one glob"),
    (["token", "nobody"], "no users file"),
    (["remove", "nobody"], "no users file"),
])
def test_users_command_refuses_bad_input(tmp_path: Path, arguments: list[str],
                                         message: str) -> None:
    outcome = CliRunner().invoke(main, ["users", *arguments, "--users",
                                        str(tmp_path / "users.toml")], input="pw\n")
    assert outcome.exit_code != 0 and message in outcome.output, outcome.output


def edited(path: Path, user: str, key: str, value: object) -> str:
    """The users file's text with one key of one user's table set by hand to `value`, as a
    person editing the file might (tomli_w writes whatever type it is given)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["users"][user][key] = value
    return tomli_w.dumps(data)


def users_file_with(path: Path, key: str, value: object) -> Path:
    """A users file `qa users add` made for bob (public/*) and alice, then bob's `key` set by
    hand to `value` (None: the file cut short inside bob's table, as if half-written)."""
    add_user(path, "bob", "public/*")
    add_user(path, "alice", "public/**")
    text = path.read_text(encoding="utf-8")
    text = (text[:text.index("[users.bob]") + len('[users.bob]\nread = [\n    "pub')]
            if value is None else edited(path, "bob", key, value))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("key", "value", "message"), [
    ("read", "public/*", 'read: must be a list of globs in brackets, like read = ["public/*"]'),
    ("read", ["public/*", 3], "read: must be a list of globs"),
    ("read", ["/etc/*"], "stays inside it"),
    ("read", ["public/../hr/*"], "stays inside it"),
    ("read", [" "], "an empty glob"),
    ("write", "public/*", "write: must be a list of globs"),
    ("reads", ["*"], "reads: unknown key"),
    ("password", "hunter2", "password: not a hash"),
    ("tokens", {"zz": "x"}, "tokens.zz: not a token"),
    ("tokens", "qa_12345678_x", "tokens: must be a table"),
    ("read", None, "not a users file"),  # half-written: cut off inside a list
])
def test_the_users_file_is_read_strictly(tmp_path: Path, key: str, value: object,
                                         message: str) -> None:
    users = users_file_with(tmp_path / "users.toml", key, value)
    with pytest.raises(UsersFileError) as refused:
        UsersFile(users).users()
    assert message in str(refused.value) and str(users) in str(refused.value), refused.value
    if value is not None:
        assert "[users.bob]" in str(refused.value)


def test_a_users_file_spoilt_while_running_keeps_the_last_good_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "bob", "public/*")
    token = new_token(path, "bob")
    running = UsersFile(path)
    assert running.access("bob").read == ("public/*",)
    good = path.read_text(encoding="utf-8")
    path.write_text(edited(path, "bob", "read", "public/*"), encoding="utf-8")
    assert running.access("bob").read == ("public/*",)
    assert not running.access("bob").may_read("hr/salaries.txt")
    assert running.user_for_token(token) == "bob"
    assert "stays in force" in caplog.text and "[users.bob] read" in caplog.text
    path.unlink()  # an editor that writes a new file in place of the old
    assert running.user_for_token(token) == "bob"
    path.write_text(good.replace("public/*", "public/**"), encoding="utf-8")
    assert running.access("bob").read == ("public/**",)  # a good edit takes effect at once


@pytest.mark.slow  # takes long (starts a qa process)
def test_serve_refuses_an_invalid_users_file_at_start(tmp_path: Path) -> None:
    users = users_file_with(tmp_path / "users.toml", "read", "public/*")
    docs = tmp_path / "docs"
    write_folder(docs)
    outcome = subprocess.run(
        [sys.executable, "app.py", "--docs", str(docs), "--index", str(tmp_path / "index"),
         "--users", str(users), "--port", str(free_port())],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert outcome.returncode == 1, outcome.stderr
    assert f"qa: error: {users}: [users.bob] read: must be a list of globs" in outcome.stderr
    assert "Traceback" not in outcome.stderr and not (tmp_path / "index").exists()


@pytest.mark.parametrize(("glob", "source", "matches"), [
    ("*", "hr/complaints/moreau.txt", True),
    ("public/*", "public/harbour.txt", True),
    ("public/*", "public/notes/canteen.txt", False),
    ("public/**", "public/notes/canteen.txt", True),
    ("public", "public/notes/canteen.txt", True),
    ("public", "publicity.txt", False),
    ("**/*.md", "public/ferries.md", True),
    ("hr/*", "public/hr/x.txt", False),
])
def test_folder_globs(glob: str, source: str, matches: bool) -> None:
    assert bool(glob_pattern(glob).fullmatch(source)) is matches


def test_failed_sign_ins_are_limited_per_address() -> None:
    limit = FailedSignIns(allowed=3, window=60)
    for _ in range(3):
        assert limit.wait("10.0.0.1") == 0
        limit.failed("10.0.0.1")
    assert limit.wait("10.0.0.1") > 50 and limit.wait("10.0.0.2") == 0


def request(token: str | None = None, address: str = "10.0.0.1", path: str = "/api/documents",
            method: str = "GET") -> dict[str, Any]:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return {"type": "http", "path": path, "method": method, "headers": headers,
            "client": (address, 40000)}


async def admitted(signin: SignIn, scope: dict[str, Any]) -> Admission:
    admission = signin.admit(scope)  # awaited when the check runs off the event loop
    return await admission if inspect.isawaitable(admission) else admission


def test_a_real_token_id_with_wrong_secrets_is_refused_after_the_limit(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "alice", "public/*")
    add_user(users, "boss", "*")
    add_user(users, "reader", "public")
    token, boss, reader = (new_token(users, name) for name in ("alice", "boss", "reader"))
    signin = SignIn(UsersFile(users), FailedSignIns(allowed=5, window=60))

    def wrong(token: str) -> str:
        return token[:-1] + ("A" if token[-1] != "A" else "B")

    async def guesses() -> list[int]:
        # Tokens no one holds cost a look-up and are not counted: a client with a removed
        # token never locks its office out.
        for n in range(8):
            gone = await admitted(signin, request(f"qa_0000000{n}_" + "x" * 40))
            assert gone.status == 401 and gone.refusal
        assert (await admitted(signin, request(boss))).user == "boss"
        statuses = [(await admitted(signin, request(wrong(token), f"10.0.1.{n}"))).status
                    for n in range(7)]
        # Locked by its id, whatever the address, even with the right secret; an address that
        # guessed five times is locked for tokens (its colleagues too), not for the login page.
        right = await admitted(signin, request(token, "10.0.2.1"))
        assert right.status == 429 and "too many wrong secrets" in right.refusal
        for _ in range(5):
            assert (await admitted(signin, request(wrong(reader), "10.0.3.1"))).status == 401
        from_guesser = await admitted(signin, request(boss, "10.0.3.1"))
        assert from_guesser.status == 429, from_guesser
        assert (await admitted(signin, request(None, "10.0.3.1", "/login", "POST"))).status != 429
        assert (await admitted(signin, request(boss, "10.0.4.1"))).user == "boss"
        return statuses

    assert asyncio.run(guesses()) == [401] * 5 + [429] * 2


def test_slow_checks_run_off_the_event_loop(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "alice", "public/*")
    token = with_scrypt_token(users, "alice")  # an older file's token: one scrypt to check
    signin = SignIn(UsersFile(users))
    threads: list[int] = []
    scrypt_check = qa.serving.users.secret_matches

    def recorded(secret: str, stored: str) -> bool:
        threads.append(threading.get_ident())
        return scrypt_check(secret, stored)

    monkeypatch.setattr(qa.serving.users, "secret_matches", recorded)

    async def sign_ins() -> int:
        wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert (await admitted(signin, request(wrong))).status == 401
        assert (await admitted(signin, request(token))).user == "alice"
        checked = signin.check_password("alice", PASSWORDS["alice"])
        assert (await checked if inspect.isawaitable(checked) else checked) is True
        return threading.get_ident()

    event_loop = asyncio.run(sign_ins())
    # Each scrypt (wrong token, right token, password) ran, and none on the event loop, where
    # it would stall every other request (8 guessing clients took /api/health to 649 ms).
    assert len(threads) == 3 and event_loop not in threads, threads


def test_a_busy_client_with_an_older_token_costs_one_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "alice", "public/*")
    token = with_scrypt_token(users, "alice")
    signin = SignIn(UsersFile(users), FailedSignIns(allowed=5, window=60))
    checks: list[str] = []
    scrypt_check = qa.serving.users.secret_matches

    def counted(secret: str, stored: str) -> bool:
        checks.append(secret)
        return scrypt_check(secret, stored)

    monkeypatch.setattr(qa.serving.users, "secret_matches", counted)

    async def at_once() -> list[str | None]:
        admissions = await asyncio.gather(*(signin.admit(request(token)) for _ in range(20)))
        return [admission.user for admission in admissions]

    # Twenty requests before the first check ends are one check, not twenty guesses (the
    # limit of five would refuse fifteen of them).
    assert asyncio.run(at_once()) == ["alice"] * 20 and len(checks) == 1


def test_concurrent_wrong_passwords_are_checked_at_most_up_to_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "alice", "public/*")
    signin = SignIn(UsersFile(users), FailedSignIns(allowed=5, window=60))
    checked: list[str] = []
    check = signin.users.check_password

    def counted(name: str, password: str) -> bool:
        checked.append(password)
        return check(name, password)

    monkeypatch.setattr(signin.users, "check_password", counted)

    async def login(scope: Scope, receive: Receive, send: Send) -> None:
        # As Gradio's /login: the form is read (the request yields to others), then checked.
        await asyncio.sleep(0.05)
        form = parse_qs((await receive())["body"].decode())
        right = signin.check_password(form["username"][0], form["password"][0])
        right = await right if inspect.isawaitable(right) else right
        await send({"type": "http.response.start", "status": 200 if right else 400,
                    "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = RouteGuard(login, served_files=lambda: [], uploads_allowed=False, signin=signin)

    async def attempt(n: int) -> int:
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": f"username=alice&password=guess{n}".encode()}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await guard(request(None, "10.0.0.9", "/login", "POST"), receive, send)
        return statuses[0]

    async def at_once() -> list[int]:
        return list(await asyncio.gather(*(attempt(n) for n in range(50))))

    statuses = asyncio.run(at_once())
    assert len(checked) == 5, f"{len(checked)} of 50 concurrent guesses were checked"
    assert sorted(statuses) == [400] * 5 + [429] * 45


def test_trusted_proxies_must_be_addresses() -> None:
    assert trusted_proxies(" 127.0.0.1, 10.0.0.0/8 ,") == "127.0.0.1,10.0.0.0/8"
    assert trusted_proxies("") == ""
    with pytest.raises(ValueError, match="is not an IP address"):
        trusted_proxies("proxy.example")


def test_serving_beyond_loopback_needs_users_or_no_auth(tmp_path: Path) -> None:
    with pytest.raises(click.UsageError, match="--users FILE"):
        serve_options("0.0.0.0", 7860, False, False, False)
    assert serve_options("0.0.0.0", 7860, False, False, False, no_auth=True).users is None
    signed = serve_options("0.0.0.0", 7860, False, False, False, users=tmp_path / "u.toml")
    assert signed.users == tmp_path / "u.toml" and signed.uploads
    assert serve_options("127.0.0.1", 7860, False, False, False).users is None


# -- the library: what a user may read -----------------------------------------------------

@pytest.fixture(scope="module")
def team_qa(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> QA:
    docs = tmp_path_factory.mktemp("team-docs")
    write_folder(docs)
    settings = Settings(docs_dir=docs, index_dir=tmp_path_factory.mktemp("team-index"))
    return QA.open(settings, embedder=embedder)


def test_search_filters_before_ranking(team_qa: QA) -> None:
    public_only = Access("alice", ("public/*", "public/**"), ())
    everything = team_qa.search(HR_QUESTION, k=5)
    assert everything.hits[0].passage.source == "hr/salaries.txt"
    limited = team_qa.search(HR_QUESTION, k=3, access=public_only)
    # k hits, every one readable: the filter ran before ranking, not on the top 3 afterwards.
    assert [h.passage.source.startswith("public/") for h in limited.hits] == [True] * 3
    nothing = team_qa.search(HR_QUESTION, k=3, access=Access("eve", (), ()))
    assert nothing.hits == [] and "yours to read" in nothing.notices[0]
    asked_for_hr = team_qa.search(HR_QUESTION, k=3, sources=["hr/salaries.txt"],
                                  access=public_only)
    assert all(h.passage.source.startswith("public/") for h in asked_for_hr.hits)
    assert {d.source for d in team_qa.documents(public_only)} == set(PUBLIC)
    assert team_qa.document_path("hr/salaries.txt", public_only) is None
    assert team_qa.document_path("public/harbour.txt", public_only) is not None


def test_a_link_in_a_readable_folder_reads_as_where_it_leads(team_qa: QA) -> None:
    bob = Access("bob", ("public/*",), ())
    hits = team_qa.search(HR_QUESTION, k=5, access=bob).hits
    assert hits and {h.passage.source for h in hits} <= BOB_READS
    assert all(HR_FACT not in h.passage.text for h in hits)
    assert {d.source for d in team_qa.documents(bob)} == BOB_READS
    assert team_qa.document_path("public/link.txt", bob) is None
    assert team_qa.document("public/link.txt", bob) is None
    # Indexed once, under the name where it really is; the link is named as skipped.
    assert "public/link.txt" not in team_qa.sources()
    assert team_qa.document_path("hr/salaries.txt") is not None
    assert team_qa.last_report is not None
    skipped = {skip.source: skip.reason for skip in team_qa.last_report.skipped}
    assert skipped["public/link.txt"].startswith("symlink to hr/salaries.txt"), skipped
    # A linked folder is not followed at all.
    assert not any(source.startswith("public/hr-files") for source in team_qa.sources())


def test_a_file_swapped_for_a_link_after_indexing_is_not_served(tiny_encoder: Any,
                                                                  tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_folder(docs)
    qa = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)
    bob = Access("bob", ("public/*",), ())
    assert qa.document_path("public/harbour.txt", bob) is not None
    (docs / "public/harbour.txt").unlink()
    (docs / "public/harbour.txt").symlink_to("../hr/salaries.txt")  # the index does not know yet
    assert qa.document_path("public/harbour.txt", bob) is None
    assert qa.document_path("public/harbour.txt") is None  # for everyone: not its own file


# -- the live server -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`qa serve --users FILE --mcp` over public/ and hr/: alice reads public/** and may upload
    to public/uploads/; boss reads and writes everything; reader reads public/ only; bob reads
    public/* (the files right in public/, among them a link to hr/salaries.txt)."""
    docs = tmp_path_factory.mktemp("served-team")
    write_folder(docs)
    users = tmp_path_factory.mktemp("users") / "users.toml"
    add_user(users, "alice", "public/**", write="public/uploads/*")
    add_user(users, "boss", "*", write="*")
    add_user(users, "reader", "public")
    add_user(users, "bob", "public/*")
    tokens = {name: new_token(users, name) for name in PASSWORDS}
    environment = {**os.environ, "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio"))}
    with serving(["--docs", str(docs), "--index", str(tmp_path_factory.mktemp("index")),
                  "--users", str(users), "--mcp"], environment) as url:
        yield {"url": url, "tokens": tokens, "docs": docs, "users": users}


def signed(server: dict[str, Any], name: str | None, token: str | None = None) -> httpx.Client:
    token = token or (server["tokens"][name] if name else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server["url"], timeout=60, headers=headers)


def rest_sources(http: httpx.Client) -> set[str]:
    answer = http.get("/api/search", params={"q": HR_QUESTION, "k": 5})
    assert answer.status_code == 200, answer.text
    return {hit["source"] for hit in answer.json()["hits"]}


def mcp_search(server: dict[str, Any], token: str | None) -> Any:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def ask() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(headers=headers, timeout=60) as client, \
                streamable_http_client(server["url"] + "gradio_api/mcp/",
                                       http_client=client) as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            outcome = await session.call_tool("search", {"question": HR_QUESTION, "k": 5})
            return json.loads("".join(p.text for p in outcome.content if hasattr(p, "text")))

    return asyncio.run(ask())


@pytest.mark.parametrize("token", [None, "qa_00000000_" + "w" * 40, "not-a-token"])
def test_no_token_or_a_wrong_one_is_401_everywhere(team_server: dict[str, Any],
                                                   token: str | None) -> None:
    with signed(team_server, None, token) as http:
        for method, route, body in [
                ("GET", "/api/search?q=wages", None),
                ("POST", "/api/search", {"question": "wages"}),
                ("GET", "/api/documents", None),
                ("POST", "/gradio_api/call/search", {"data": ["wages", 5, None, None]}),
                ("POST", "/gradio_api/mcp/", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                ("GET", "/qa/documents/hr/salaries.txt", None),
                ("GET", "/qa/pages/hr/salaries.txt?page=1&width=1400", None),
                ("POST", "/gradio_api/queue/join", {"data": [], "fn_index": 0}),
                ("GET", "/gradio_api/info", None)]:
            answer = http.request(method, route, json=body)
            assert answer.status_code == 401, (route, answer.status_code, answer.text)
            assert "wages" not in answer.text.replace(route, "")
        # Open to load balancers, which carry no token (and then count nothing); a wrong token
        # is refused there too.
        health = http.get("/api/health")
        assert health.status_code == (200 if token is None else 401)
        if token is None:
            assert health.json()["status"] == "ok" and health.json()["documents"] == 0


def test_a_public_user_gets_nothing_from_hr_on_any_route(team_server: dict[str, Any]) -> None:
    with signed(team_server, "alice") as http:
        assert rest_sources(http) and all(s.startswith("public/") for s in rest_sources(http))
        posted = http.post("/api/search", json={"question": HR_QUESTION, "k": 5}).json()
        assert all(hit["source"].startswith("public/") for hit in posted["hits"])
        listed = http.get("/api/documents").json()["documents"]
        assert {d["source"] for d in listed} == set(PUBLIC)
        assert http.get("/api/health").json()["documents"] == len(PUBLIC)
        refused = http.get("/api/search", params={"q": HR_QUESTION,
                                                  "documents": "hr/salaries.txt"})
        assert refused.status_code == 422 and "not indexed" in refused.json()["error"]
        assert http.get("/qa/documents/hr/salaries.txt").status_code == 404
        assert http.get("/qa/documents/public/harbour.txt").status_code == 200
        upload = http.post("/gradio_api/upload", files={"files": ("a.txt", b"hello")})
        assert upload.status_code == 200  # alice may write to public/uploads/
        answer = call(http, "search", [HR_QUESTION, 5, None, None])[0]
        assert answer["hits"] and all(h["source"].startswith("public/") for h in answer["hits"])
        outputs = call(http, "ask", [HR_QUESTION, 5, "hybrid", [], False, False])
        assert "hr/" not in outputs[0] and "four percent" not in outputs[0]
    found = mcp_search(team_server, team_server["tokens"]["alice"])
    assert found["hits"] and all(h["source"].startswith("public/") for h in found["hits"])


def test_a_user_with_everything_reads_hr(team_server: dict[str, Any]) -> None:
    with signed(team_server, "boss") as http:
        assert "hr/salaries.txt" in rest_sources(http)
        assert http.get("/qa/documents/hr/salaries.txt").status_code == 200
        assert call(http, "search", [HR_QUESTION, 1, None, None])[0]["hits"][0]["source"] \
            == "hr/salaries.txt"
    with signed(team_server, "reader") as http:  # reads public/, writes nowhere
        upload = http.post("/gradio_api/upload", files={"files": ("a.txt", b"hello")})
        assert upload.status_code == 403 and "no write permission" in upload.text
        assert http.get("/qa/documents/hr/salaries.txt").status_code == 404
    assert mcp_search(team_server, team_server["tokens"]["boss"])["hits"][0]["source"] \
        == "hr/salaries.txt"


def test_each_readers_rest_searches_are_their_own_history(team_server: dict[str, Any]
                                                          ) -> None:
    asked = [f"harbour ferries {secrets.token_hex(4)}" for _ in range(2)]
    with signed(team_server, "reader") as http:
        assert http.delete("/api/history").status_code == 200  # whatever other tests asked
        for question in asked:
            assert http.get("/api/search", params={"q": question}).status_code == 200
        kept = http.get("/api/history").json()
        assert kept["user"] == "reader"
        assert [entry["question"] for entry in kept["questions"]] == asked[::-1]
    with signed(team_server, "boss") as http:
        assert http.post("/api/search", json={"question": "wages"}).status_code == 200
        questions = [entry["question"] for entry in http.get("/api/history").json()["questions"]]
        assert questions[0] == "wages" and not set(asked) & set(questions)
    with signed(team_server, "reader") as http:
        assert http.delete("/api/history").json() == {"cleared": 2}
        assert http.get("/api/history").json()["questions"] == []
    with signed(team_server, None) as http:
        assert http.get("/api/history").status_code == 401


def test_a_link_in_a_readable_folder_opens_nothing_beyond_it(team_server: dict[str, Any]
                                                             ) -> None:
    with signed(team_server, "bob") as http:  # bob reads public/*, where link.txt -> hr/
        answer = http.get("/api/search", params={"q": HR_QUESTION, "k": 5})
        assert answer.status_code == 200 and HR_FACT not in answer.text, answer.text
        assert {hit["source"] for hit in answer.json()["hits"]} <= BOB_READS
        for route in ["/qa/documents/public/link.txt", "/qa/documents/public/hr-files/salaries.txt",
                      "/qa/pages/public/link.txt?page=1&width=800"]:
            assert http.get(route).status_code == 404, route
        assert http.get("/qa/documents/public/harbour.txt").status_code == 200
        assert {d["source"] for d in http.get("/api/documents").json()["documents"]} == BOB_READS
        assert http.get("/api/health").json()["documents"] == len(BOB_READS)
        called = call(http, "search", [HR_QUESTION, 5, None, None])[0]
        assert {h["source"] for h in called["hits"]} <= BOB_READS
        outputs = call(http, "ask", [HR_QUESTION, 5, "hybrid", [], False, False])
        assert HR_FACT not in outputs[0] and "link.txt" not in outputs[0]
    found = mcp_search(team_server, team_server["tokens"]["bob"])
    assert found["hits"] and {h["source"] for h in found["hits"]} <= BOB_READS


def test_a_users_file_spoilt_while_serving_keeps_the_last_good_one(
        team_server: dict[str, Any]) -> None:
    users: Path = team_server["users"]
    good = users.read_text(encoding="utf-8")
    start = good.index("[users.bob]")
    spoilt = {"string read": edited(users, "bob", "read", "public/*"),
              "half-written": good[:start + len('[users.bob]\nread = [\n    "pub')]}
    try:
        for what, text in spoilt.items():
            users.write_text(text, encoding="utf-8")
            for name in ("bob", "alice"):
                with signed(team_server, name) as http:
                    answer = http.get("/api/search", params={"q": HR_QUESTION, "k": 5})
                    assert answer.status_code == 200, (what, name, answer.text)
                    assert HR_FACT not in answer.text, (what, name)
                    assert http.get("/qa/documents/hr/salaries.txt").status_code == 404
            with signed(team_server, "boss") as http:
                assert http.get("/api/health").json()["documents"] == len(PUBLIC) + len(HR)
    finally:
        users.write_text(good, encoding="utf-8")


def test_the_page_signs_in_with_gradio_login(team_server: dict[str, Any]) -> None:
    with httpx.Client(base_url=team_server["url"], timeout=60) as http:
        shell = http.get("/")
        assert shell.status_code == 200 and '"auth_required":true' in shell.text.replace(" ", "")
        assert http.get("/config").status_code == 401
        assert http.post("/login", data={"username": "alice",
                                         "password": "wrong"}).status_code == 400
        assert http.post("/login", data={"username": "alice", "password":
                                         PASSWORDS["alice"]}).status_code == 200
        assert "components" in http.get("/config").json()  # the cookie signs the page in
        answer = call(http, "search", [HR_QUESTION, 5, None, None])[0]
        assert answer["hits"] and all(h["source"].startswith("public/") for h in answer["hits"])
        outputs = call(http, "ask", [HR_QUESTION, 3, "hybrid", [], False, False])
        for download in outputs[3]:  # alice's downloads are hers alone
            path = urlparse(download["url"]).path
            assert http.get(path).status_code == 200
            with signed(team_server, "boss") as other:
                assert other.get(path).status_code == 403


def test_uploads_need_write_permission_and_land_in_the_users_folder(
        tiny_encoder: Any, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_folder(docs)
    qa = QA.open(Settings(docs_dir=docs, index_dir=tmp_path / "index"), embedder=tiny_encoder)

    def upload(access: Access, name: str) -> list[str]:
        copy = tmp_path / "gradio" / name  # Gradio's copy of the upload: always removed
        copy.parent.mkdir(exist_ok=True)
        copy.write_text("Lighthouse\n\nThe lighthouse keeper at the harbour is Yann Le Goff, "
                        "who lights the lamp at dusk every evening.", encoding="utf-8")
        lines = add_files(qa, [copy], access=access)
        assert not copy.exists()
        return lines

    reader = Access("reader", ("public/**",), ())
    assert "no write permission" in upload(reader, "a.txt")[0]
    assert not (docs / "a.txt").exists() and not (docs / "public/a.txt").exists()
    writer = Access("alice", ("public/**",), ("public/uploads/*",))
    assert "added public/uploads/lighthouse.txt" in upload(writer, "lighthouse.txt")
    assert (docs / "public/uploads/lighthouse.txt").is_file()
    found = qa.search("Who keeps the lighthouse?", k=1, access=writer).hits[0]
    assert found.passage.source == "public/uploads/lighthouse.txt"
    only_pdfs = Access("carol", ("*",), ("public/uploads/*.pdf",))
    assert "not yours to write" in upload(only_pdfs, "keeper.txt")[0]
    through_a_link = Access("bob", ("public/*",), ("public/hr-files/*",))  # -> ../hr
    assert "public/hr-files is a link" in upload(through_a_link, "keeper.txt")[0]
    assert not (docs / "hr/keeper.txt").exists()


@pytest.mark.browser
def test_the_page_in_a_browser_signs_in_and_shows_only_the_users_folders(
        team_server: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS, ask, shoot

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        tab.goto(team_server["url"])
        tab.locator("input[type=password]").wait_for(timeout=30_000)
        tab.locator("input:not([type=password])").first.fill("alice")
        tab.locator("input[type=password]").fill(PASSWORDS["alice"])
        tab.locator("input[type=password]").press("Enter")
        status = tab.locator("#qa-status")
        tab.wait_for_function("document.querySelector('#qa-status')?.innerText.includes("
                              "'documents')", timeout=60_000)
        assert f"{len(PUBLIC)} documents" in status.inner_text()
        assert "Signed in as alice" in tab.locator("#qa-user").inner_text()
        # alice may not rebuild (that needs write on every folder); she may upload to
        # public/uploads/, so the upload panel is there.
        assert tab.get_by_role("button", name="Rebuild index").count() == 0
        assert tab.get_by_text("Add documents").count() == 1
        ask(tab, HR_QUESTION)
        tab.wait_for_selector(".qa-hit", timeout=60_000)
        sources = [hit.get_attribute("data-source") for hit in tab.locator(".qa-hit").all()]
        assert sources and all(str(s).startswith("public/") for s in sources), sources
        assert "four percent" not in tab.content()
        shoot(tab, "signed-in")
        browser.close()


@pytest.mark.parametrize("route", ["rest", "search"])
def test_load_with_tokens_has_no_failed_answer(team_server: dict[str, Any], route: str) -> None:
    figures = run_load(team_server["url"], clients=20, seconds=8, route=route,
                       token=team_server["tokens"]["alice"])
    assert figures["requests"] > 0 and figures["failures"] == 0 and figures["wrong"] == 0, \
        figures["first_failures"]


def test_repeated_failed_sign_ins_are_refused_for_a_while(team_server: dict[str, Any]) -> None:
    # Last in the module: it locks 127.0.0.1 out of the login form for five minutes.
    with httpx.Client(base_url=team_server["url"], timeout=60) as http:
        # Five failures an address may have; one came from the page test before.
        codes = [http.post("/login", data={"username": "boss", "password": f"guess{n}"}
                           ).status_code for n in range(5)]
        assert codes == [400] * 4 + [429], codes
        right = http.post("/login", data={"username": "boss", "password": PASSWORDS["boss"]})
        assert right.status_code == 429 and "too many failed sign-ins" in right.text
        # A client naming another address of its own is still the address it connects from:
        # no proxy is trusted unless the operator names it.
        for n in range(3):
            posed = http.post("/login", data={"username": "boss", "password": PASSWORDS["boss"]},
                              headers={"X-Forwarded-For": f"203.0.113.{n}"})
            assert posed.status_code == 429 and "127.0.0.1" in posed.text, posed.text
        with signed(team_server, "boss") as api:  # tokens still work from that address
            assert api.get("/api/documents").status_code == 200
