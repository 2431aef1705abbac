"""The `qa` command: a thin layer over qa.library (index, ask, eval, serve)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from qa.core.settings import (
    BUNDLED_DOCS,
    Option,
    Settings,
    declared_option,
    environment_overrides,
    settings_markdown,
    unknown_variables,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

BUNDLED_INDEX = Path("embeddings")
# `qa index`'s exit status when it declined to publish a build (--keep-if-worse=no).
DECLINED_STATUS = 3


def default_index_dir(docs_dir: Path) -> Path:
    """embeddings/ for the bundled seeds; embeddings/<folder>-<hash>/ for any other folder, so
    pointing qa at your own folder never overwrites another folder's index."""
    if docs_dir.resolve() == BUNDLED_DOCS.resolve():
        return BUNDLED_INDEX
    digest = hashlib.sha256(str(docs_dir.resolve()).encode()).hexdigest()[:8]
    return BUNDLED_INDEX / "folders" / f"{docs_dir.resolve().name}-{digest}"


def make_settings(docs: Path | None, index: Path | None, **overrides: Any) -> Settings:
    """The settings of the environment (QA_*), overridden by the flags given."""
    for variable in unknown_variables():
        click.echo(f"warning: {variable} names no setting (`qa settings` lists them)", err=True)
    from_environment = environment_overrides()
    settings = Settings().with_overrides(**from_environment)
    docs_dir = docs or settings.docs_dir
    index_dir = index or (settings.index_dir if "index_dir" in from_environment
                          else default_index_dir(docs_dir))
    return settings.with_overrides(docs_dir=docs_dir, index_dir=index_dir, **overrides)


@contextmanager
def user_errors() -> Iterator[None]:
    """Errors a user can act on become one line on stderr and exit status 1, not a traceback."""
    from qa.embedding.model import ModelUnavailableError
    from qa.evaluating.beir import CollectionError
    from qa.evaluating.evaluate import QuestionSetError
    from qa.indexing.backends import BackendUnavailableError
    from qa.indexing.store import IndexUnusableError
    from qa.reading.load import DocumentFolderError

    try:
        yield
    except (DocumentFolderError, ModelUnavailableError, IndexUnusableError, QuestionSetError,
            CollectionError, BackendUnavailableError, ValueError, OSError) as error:
        click.echo(f"qa: error: {error}", err=True)
        sys.exit(1)


def tqdm_progress(label: str) -> Callable[[int, int], None]:
    """A progress bar on stderr, shown only once there is enough work to be worth one."""
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total < 512:
            return
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit="text", file=sys.stderr)
        bar["bar"].update(done - bar["bar"].n)
        if done >= total:
            bar["bar"].close()

    return update


def flag_type(option: Option) -> Any:
    """The click type that checks a flag's value as the setting's declaration does."""
    if option.choices:
        return click.Choice(option.choices)
    if option.kind is Path:
        return click.Path(path_type=Path)
    low = option.least if option.least is not None else option.above
    if option.kind is int:
        return click.IntRange(None if low is None else int(low),
                              None if option.most is None else int(option.most))
    if option.kind is float:
        return click.FloatRange(low, option.most, min_open=option.above is not None)
    return None


def setting_flag(option: Option | str, param: str | None = None,
                 **click_settings: Any) -> Callable[..., Any]:
    """A setting's flag, as its declaration (qa.core.settings) names, types and explains it;
    given, it wins over the QA_* variable. `param` names the command's parameter (default: the
    setting's name)."""
    declared = declared_option(option) if isinstance(option, str) else option
    default = declared.text(declared.default) or "none"
    click_settings.setdefault("help", f"{declared.help.rstrip('.')} (default: {default}, or "
                                      f"{declared.variable}).")
    if not click_settings.get("is_flag"):
        click_settings.setdefault("type", flag_type(declared))
    return click.option(declared.flag, param or declared.name, **click_settings)


docs_option = setting_flag("docs_dir", "docs")
index_option = setting_flag("index_dir")
model_option = setting_flag("model")
mode_option = setting_flag("mode")


def backend_options(command: Callable[..., None]) -> Callable[..., None]:
    """--backend, and the flag each registered backend declares for its options. They reach
    the command as `where`, settings overrides."""
    from qa.indexing import backends

    flagged = [option for option in backends.options() if option.flag]

    @setting_flag("backend", type=click.Choice(backends.names()))
    @functools.wraps(command)
    def with_backend(*args: Any, backend: str | None, **kwargs: Any) -> None:
        where = {option.name: kwargs.pop(option.name) for option in flagged}
        command(*args, where={"backend": backend, **where}, **kwargs)

    for option in flagged:
        with_backend = setting_flag(option)(with_backend)
    return with_backend


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what qa does.")
def main(verbose: bool) -> None:
    """Ask questions of your own documents and get passages you can cite."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="qa: %(levelname)s: %(message)s")
    logging.getLogger("qa.reading.load").setLevel(logging.WARNING)
    # OCR takes seconds a page: its progress ("scan.pdf: OCR: 3 of 12 pages") is always shown.
    logging.getLogger("qa.reading.isolation").setLevel(logging.INFO)


# The modules that log each file a build skips ("skipping a.pdf: ...").
SKIP_LOGGERS = ("qa.reading.isolation", "qa.indexing.catalog")


def _not_a_skip(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("skipping ")


@contextmanager
def skip_logs_silenced() -> Iterator[None]:
    """Within it, the build's "skipping" log lines are dropped: `qa index` prints each skipped
    file itself once it is done, and a reason is said once."""
    loggers = [logging.getLogger(name) for name in SKIP_LOGGERS]
    for logger in loggers:
        logger.addFilter(_not_a_skip)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(_not_a_skip)


def open_qa(settings: Settings, quiet: bool = False) -> Any:
    from qa.library import QA

    qa = QA.open(settings, progress=None if quiet else tqdm_progress("embedding"))
    report = qa.last_report
    if report and report.rebuilt_because and not quiet:
        click.echo(f"index refreshed ({report.rebuilt_because}): {report.summary()}", err=True)
    return qa


@main.command()
@click.argument("docs_dir", required=False, type=click.Path(path_type=Path))
@docs_option
@index_option
@model_option
@click.option("--force", is_flag=True, help="Re-embed everything.")
@click.option("--shard", "shard_text", metavar="I/N", help="Embed only share I of N of the files "
              "(by a hash of each name) and stage it on the server; run each of 1/N .. N/N "
              "once, anywhere, then `qa index --publish`.")
@click.option("--publish", "gather_shards", is_flag=True, help="After every --shard I/N has "
              "finished: build the whole index from their vectors and publish it.")
@click.option("--watch", is_flag=True, help="Then follow the folder: index (and publish) each "
              "batch of changes until interrupted.")
@setting_flag("keep_if_worse", type=click.BOOL, metavar="yes|no",
              help="no: do not publish a build that scores worse on the judged questions "
                   "(docs/judging.md); the old build keeps serving and the exit status is "
                   f"{DECLINED_STATUS} (default: yes, with a warning; or QA_KEEP_IF_WORSE).")
@backend_options
def index(docs_dir: Path | None, docs: Path | None, index_dir: Path | None, model: str | None,
          force: bool, shard_text: str | None, gather_shards: bool, watch: bool,
          keep_if_worse: bool | None, where: dict[str, Any]) -> None:
    """Build or refresh the index of DOCS_DIR or --docs DIR (default: seeds/).

    When questions were judged (docs/judging.md), a new build is searched with them before it
    is published, and its figures are shown against the old build's."""
    from qa.evaluating.judged import judged_gate
    from qa.indexing.build import Shard
    from qa.library import QA

    with user_errors():
        if docs_dir and docs and docs_dir != docs:
            raise click.UsageError("give the documents folder once: DOCS_DIR or --docs")
        if watch and (shard_text or gather_shards):
            raise click.UsageError("--watch follows the whole folder: not with --shard or "
                                   "--publish")
        if shard_text and gather_shards:
            raise click.UsageError("--shard and --publish are separate steps: first every "
                                   "shard, then --publish once")
        shard = Shard.parse(shard_text) if shard_text else None
        settings = make_settings(docs_dir or docs, index_dir, model=model,
                                 keep_if_worse=keep_if_worse, **where)
        qa = QA(settings)
        gate = judged_gate(qa)
        with skip_logs_silenced():
            report = qa.index(force=force, progress=tqdm_progress("embedding"), shard=shard,
                              gather_shards=gather_shards, check=gate)
        for skipped in report.skipped:
            click.echo(f"skipped {skipped.source}: {skipped.reason}", err=True)
        show_judged_comparison(gate, settings)
        place = f"shard {shard} staged" if shard else str(settings.index_dir)
        click.echo(f"{place}: {report.summary()}")
        if report.declined:
            click.echo(f"qa: the new build was not published: {report.declined}; the old "
                       "build keeps serving", err=True)
            sys.exit(DECLINED_STATUS)
        if watch:
            follow_folder(qa)


def show_judged_comparison(gate: Any, settings: Settings) -> None:
    """The judged figures of the old build against the new one (when a build was checked),
    and a warning on stderr for each user's that fell."""
    from qa.evaluating.judged import format_comparison

    if gate is None or not gate.comparisons:
        return
    for line in format_comparison(gate, settings.judged_drop):
        click.echo(line, err=line.startswith("warning:"))


def follow_folder(qa: Any) -> None:
    """`qa index --watch`: each batch of changes indexed (and published) as it settles."""
    from qa.serving.watch import FolderWatcher

    settings = qa.settings
    watcher = FolderWatcher(qa, settings.watch_poll_seconds, settings.watch_polling,
                            on_applied=lambda report: click.echo(
                                f"{settings.index_dir}: {report.summary()}", err=True))
    click.echo(f"following {settings.docs_dir} ({watcher.how}); Ctrl-C stops", err=True)
    watcher.follow()


@main.command()
@docs_option
@index_option
def verify(docs: Path | None, index_dir: Path | None) -> None:
    """Re-hash every document and every index file; name any index file that is missing or
    damaged (exit status 1), and any document changed behind an unchanged stamp.

    Opening an index skips reading documents and hashing index files whose size, modification
    time and inode are unchanged since their last check; this command trusts nothing and reads
    everything."""
    from qa.chunking.chunk import CHUNKING_VERSION
    from qa.indexing.catalog import Catalog, changed_behind_stamps
    from qa.indexing.store import verify_everything

    with user_errors():
        settings = make_settings(docs, index_dir)
        hashed, changed = changed_behind_stamps(
            settings.docs_dir, Catalog(settings.index_dir / "catalog", CHUNKING_VERSION))
        for source in changed:
            click.echo(f"changed without a new modification time: {source} (read again at the "
                       "next `qa index` or `qa ask`)", err=True)
        click.echo(f"{settings.docs_dir}: {hashed} documents re-hashed, {len(changed)} changed "
                   "behind an unchanged size, time and inode")
        report = verify_everything(settings.index_dir)
        for damage in report.damage:
            click.echo(f"damaged: {damage}", err=True)
        if report.damage:
            click.echo(f"{settings.index_dir}: {len(report.damage)} of {report.files} files "
                       "damaged; the next `qa index` or `qa ask` rebuilds them", err=True)
            sys.exit(1)
        click.echo(f"{settings.index_dir}: all {report.files} files match their checksums "
                   f"({report.bytes_hashed / 1e6:.1f} MB hashed)")


@main.command(name="settings")
@click.option("--markdown", is_flag=True,
              help="Print docs/settings.md instead: every setting's variable, flag, type, "
                   "default, allowed values and help, by stage.")
def show_settings(markdown: bool) -> None:
    """Print every setting as its QA_* variable, with the value it has here (the defaults
    overridden by the environment)."""
    from qa.indexing import backends  # noqa: F401  (registering the backends declares their options)

    with user_errors():
        if markdown:
            click.echo(settings_markdown(), nl=False)
            return
        for variable, value in make_settings(None, None).environment(masked=True).items():
            click.echo(f"{variable}={value}")


@main.command()
@click.argument("question")
@setting_flag("top_k")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@setting_flag("collapse", "no_collapse", is_flag=True,
              help="Show every copy of a passage (default: near-duplicates are shown once, "
                   "with where else they are; or QA_COLLAPSE).")
@click.option("--group", is_flag=True,
              help="One entry per document: the k best documents, each with its passages.")
@docs_option
@index_option
@model_option
@mode_option
@backend_options
def ask(question: str, top_k: int | None, as_json: bool, no_collapse: bool, group: bool,
        docs: Path | None, index_dir: Path | None, model: str | None, mode: str | None,
        where: dict[str, Any]) -> None:
    """Print the passages that best answer QUESTION, with citations."""
    from qa.showing.cite import group_to_terminal, hit_to_terminal, result_to_json

    with user_errors():
        settings = make_settings(docs, index_dir, model=model, mode=mode, top_k=top_k,
                                 collapse=False if no_collapse else None, **where)
        qa = open_qa(settings, quiet=as_json)
        result = qa.search(question, group=group)
        if as_json:
            click.echo(json.dumps(result_to_json(result, settings.server_url, qa.facets(result)),
                                  indent=1, ensure_ascii=False))
            return
        for notice in result.notices:
            click.echo(notice)
        for number, shown in enumerate(result.groups or [], 1):
            click.echo(group_to_terminal(shown, number) + "\n")
        for hit in result.hits if result.groups is None else []:
            click.echo(hit_to_terminal(hit) + "\n")


@main.command(name="eval")
@click.argument("questions", nargs=-1, type=click.Path(path_type=Path))
@click.option("--beir", "beir_dir", type=click.Path(path_type=Path),
              help="Evaluate a collection in BEIR layout instead of a question set.")
@click.option("--limit", type=int, help="With --beir: only the first N queries (a slice).")
@click.option("-k", "top_k", type=click.IntRange(10, 1000), default=100, show_default=True,
              help="Passages retrieved per question.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--verbose", is_flag=True, help="Also print each question's first relevant rank.")
@click.option("--evidence-tolerance", type=click.FloatRange(0, 0.5), default=0.0,
              show_default=True, help="For OCR'd documents: a passage holds the evidence when "
              "its words appear in order with at most this share missing or misread.")
@click.option("--judgements", "judged", is_flag=True, help="Evaluate the relevance judgements "
              "made on the page (or by the APIs) instead: every judged question searched again, "
              "in each mode (only --mode's, when given).")
@click.option("--user", help="With --judgements: whose (default: the local user's).")
@click.option("--export", "export_dir", type=click.Path(path_type=Path), help="With "
              "--judgements: also write them to DIR as a question set (questions.jsonl) and "
              "as TREC qrels.txt with a run-MODE.txt per mode.")
@docs_option
@index_option
@model_option
@mode_option
@backend_options
def evaluate(questions: tuple[Path, ...], beir_dir: Path | None, limit: int | None, top_k: int,
             as_json: bool, verbose: bool, evidence_tolerance: float, judged: bool,
             user: str | None, export_dir: Path | None, docs: Path | None,
             index_dir: Path | None, model: str | None, mode: str | None,
             where: dict[str, Any]) -> None:
    """Recall@k, MRR@10 and nDCG@10 of QUESTIONS.jsonl files over the documents, or of --beir DIR.

    Questions with "relevant": [] are left out of the averages; the report then says how well
    the top similarity separates them (AUROC) and how many the threshold flags."""
    from qa.evaluating import runs

    with user_errors():
        if judged:
            if questions or beir_dir is not None:
                raise click.UsageError("--judgements evaluates the judgements: no QUESTIONS "
                                       "file or --beir with it")
            settings = make_settings(docs, index_dir, model=model, **where)
            evaluate_judged(settings, user, mode, top_k, as_json, export_dir, verbose)
            return
        if user or export_dir:
            raise click.UsageError("--user and --export go with --judgements")
        if bool(questions) == (beir_dir is not None):
            raise click.UsageError("give a QUESTIONS.jsonl file or --beir DIR (one of them)")
        settings = make_settings(docs, index_dir, model=model, mode=mode, **where)
        if beir_dir is not None:
            report = runs.evaluate_beir(beir_dir, settings, top_k, limit, tqdm_progress("embedding"))
        else:
            report = runs.evaluate_question_files(list(questions), settings, top_k,
                                                 tqdm_progress("embedding"),
                                                 evidence_tolerance=evidence_tolerance)
        click.echo(json.dumps(report.to_json()) if as_json else runs.format_report(report, verbose))


def evaluate_judged(settings: Settings, user: str | None, mode: Any, top_k: int,
                    as_json: bool, export_dir: Path | None, verbose: bool = False) -> None:
    """`qa eval --judgements`: the figures of each mode over a user's judgements."""
    from qa.evaluating import judged

    qa = open_qa(settings, quiet=as_json)
    report = judged.evaluate_judgements(qa, user, modes=[mode] if mode else judged.MODES,
                                        top_k=top_k)
    if export_dir is not None:
        for path in judged.export_judgements(report, export_dir):
            click.echo(f"wrote {path}", err=True)
    click.echo(json.dumps(report.to_json()) if as_json
               else judged.format_judged(report, verbose))


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def serve_options(host: str | None, port: int | None, mcp: bool, allow_uploads: bool,
                  read_only: bool, monitoring: bool = False, users: Path | None = None,
                  no_auth: bool = False) -> Any:
    """Flags win over Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, which win over defaults.
    Uploads are on for a page on loopback, off elsewhere unless allowed; never when read-only,
    which also removes the Rebuild button and its API event. Beyond loopback, a server without
    sign-in (--users) starts only when --no-auth says so on purpose."""
    from qa.serving.server import ServeOptions

    # GRADIO_SERVER_NAME and GRADIO_SERVER_PORT are Gradio's own variables, honoured as any
    # Gradio app honours them (app.py is run as one), not qa settings: they are read here, where
    # the address is chosen, and qa's QA_* settings only in qa.core.settings.
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    raw_port = os.environ.get("GRADIO_SERVER_PORT", "7860")
    if port is None:
        try:
            port = int(raw_port)
        except ValueError:
            raise click.BadParameter(f"GRADIO_SERVER_PORT={raw_port!r} is not a port number"
                                     ) from None
    if users is not None and no_auth:
        raise click.UsageError("--users turns sign-in on and --no-auth off: give one of them")
    if host not in LOOPBACK and users is None and not no_auth:
        raise click.UsageError(
            f"listening on {host} lets anyone who can reach it read your documents: give "
            "--users FILE (sign-in; see `qa users add`), or --no-auth to serve them to anyone")
    # Signed-in users upload where their write globs allow, beyond loopback too.
    uploads = not read_only and (host in LOOPBACK or allow_uploads or users is not None)
    return ServeOptions(host=host, port=port, mcp=mcp, uploads=uploads, read_only=read_only,
                        monitoring=monitoring, users=users)


@main.command()
@docs_option
@index_option
@model_option
@click.option("--host", help="Address to listen on (default 127.0.0.1, or GRADIO_SERVER_NAME); "
              "anything but loopback exposes your documents.")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port (default 7860, or GRADIO_SERVER_PORT).")
@click.option("--mcp", is_flag=True, help="Also serve search as an MCP tool at /gradio_api/mcp/.")
@click.option("--allow-uploads", is_flag=True, help="Accept uploads when not on loopback.")
@click.option("--read-only", is_flag=True,
              help="Nothing a visitor does writes anything: no uploads, no Rebuild.")
@click.option("--monitoring", is_flag=True,
              help="Also serve Gradio's /monitoring pages (every handler's counts and times).")
@setting_flag("watch", "no_watch", is_flag=True,
              help="Do not follow the documents folder (default: changes are indexed live, "
                   "or QA_WATCH).")
@click.option("--users", "users_file", type=click.Path(path_type=Path),
              help="Sign-in on: the users file (qa users add); each user reads only their "
                   "folders, and the APIs need Authorization: Bearer TOKEN.")
@click.option("--no-auth", is_flag=True,
              help="Serve beyond loopback without sign-in, to anyone who can reach it.")
@setting_flag("trusted_proxies", multiple=True, metavar="ADDRESS", type=None,
              help="A reverse proxy's address or network whose X-Forwarded-For is believed "
                   "(repeatable; default none, or QA_TRUSTED_PROXIES).")
@setting_flag("keep_if_worse", type=click.BOOL, metavar="yes|no",
              help="no: when the index is rebuilt at start with another model or chunking and "
                   "the new build scores worse on the judged questions (docs/judging.md), keep "
                   "serving the old build and its model (default: yes, with a warning; or "
                   "QA_KEEP_IF_WORSE).")
@backend_options
def serve(docs: Path | None, index_dir: Path | None, model: str | None, host: str | None,
          port: int | None, mcp: bool, allow_uploads: bool, read_only: bool,
          monitoring: bool, no_watch: bool, users_file: Path | None, no_auth: bool,
          trusted_proxies: tuple[str, ...], keep_if_worse: bool | None, where: dict[str, Any]
          ) -> None:
    """Serve the web page, the REST API at /api/ and the call API at /gradio_api/call/search
    over the documents."""
    from qa.serving.server import launch

    with user_errors():
        options = serve_options(host, port, mcp, allow_uploads, read_only, monitoring,
                                users_file, no_auth)
        if options.host not in LOOPBACK and users_file is None:
            click.echo(f"warning: listening on {options.host}: anyone who can reach it can read "
                       "your documents", err=True)
        launch(make_settings(docs, index_dir, model=model, watch=False if no_watch else None,
                             trusted_proxies=",".join(trusted_proxies) or None,
                             keep_if_worse=keep_if_worse, **where),
               options)


users_file_option = click.option(
    "--users", "users_file", type=click.Path(path_type=Path), required=True,
    help="The users file (TOML; written owner-only, holding only hashes of passwords and tokens).")


@main.group()
def users() -> None:
    """Who may sign in to `qa serve --users FILE`, and what each may read."""


@users.command("add")
@click.argument("name")
@click.option("--folders", required=True,
              help="What NAME may read: comma-separated globs relative to the documents folder "
                   "(public/*,reports/**; * is everything).")
@click.option("--write", "write", default="",
              help="Where NAME's uploads may land (globs as --folders; none by default).")
@users_file_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(name: str, folders: str, write: str, users_file: Path,
              password_stdin: bool) -> None:
    """Add NAME (or change their folders and password; their tokens stay)."""
    from qa.serving.users import UsersFile, parse_globs

    with user_errors():
        read, writable = parse_globs(folders), parse_globs(write)
        if not read:
            raise click.BadParameter("give at least one glob", param_hint="--folders")
        password = (sys.stdin.readline().rstrip("\n") if password_stdin else
                    click.prompt(f"password for {name}", hide_input=True,
                                 confirmation_prompt=True))
        UsersFile(users_file).add(name, read, writable, password)
        click.echo(f"{name} reads {', '.join(read)}"
                   f"{'; writes ' + ', '.join(writable) if writable else ''} ({users_file})")


@users.command("remove")
@click.argument("name")
@users_file_option
def users_remove(name: str, users_file: Path) -> None:
    """Remove NAME: their password and tokens stop working at once, on a running server too."""
    from qa.serving.users import UsersFile

    with user_errors():
        UsersFile(users_file).remove(name)
        click.echo(f"removed {name}")


@users.command("list")
@users_file_option
def users_list(users_file: Path) -> None:
    """Each user with what they may read and write, and how many tokens they hold."""
    from qa.serving.users import UsersFile

    with user_errors():
        listed = UsersFile(users_file)
        warning = listed.warn_if_readable_by_others()
        if warning:
            click.echo(warning, err=True)
        for user in listed.users().values():
            click.echo(f"{user.name}\treads {','.join(user.read)}\twrites "
                       f"{','.join(user.write) or '-'}\t{len(user.tokens)} tokens")


@users.command("token")
@click.argument("name")
@users_file_option
def users_token(name: str, users_file: Path) -> None:
    """Make NAME a new API token and print it, once: only its hash is kept."""
    from qa.serving.users import UsersFile

    with user_errors():
        click.echo(UsersFile(users_file).new_token(name))


if __name__ == "__main__":
    main()
