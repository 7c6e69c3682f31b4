"""The hub's commands: ``flask hub ...`` (run, administer, federate) and ``flask translate ...``.

``flask hub`` commands are thin wrappers over the services, federation and search_index:
init, demo, create-admin, worker, serve, search-status, reindex, and the federation-* commands
(``hub/cli_notes.py`` adds import-notes and export-notes, ``hub/cli_setup.py`` create-project
and invite, ``hub/cli_mail.py`` the mail-* commands). ``flask translate`` wraps pybabel:
extract (with ``# i18n:`` translator comments), init, update, compile.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade

from hub.models.user import Role

hub_cli = AppGroup("hub", help="Run and administer the hub.")


@hub_cli.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database schema, or upgrade it to the newest version."""
    from hub import schema_check
    from hub.services import vocabulary

    state = schema_check.schema_state()
    # A newer version's schema (Alembic would only say "Can't locate revision"), or a restore stopped midway:
    # upgraded, that database would look whole and the restore's remaining steps would never be done.
    if state.restore or not state.current <= state.known:
        raise click.ClickException(f"Nothing was changed: {state.problem()}.")
    upgrade(directory=current_app.extensions["migrate"].directory)
    added = vocabulary.seed()
    click.echo(f"Database is up to date ({added} vocabulary terms added).")


@hub_cli.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo projects and users (only what is not there yet)."""
    from hub import demo

    created = demo.load()
    click.echo(f"Demo content: {created} new records.")
    click.echo("Demo accounts (password for all: %s; each follows the browser's language):" % demo.PASSWORD)
    for username, role, _pseudonym, _project in demo.USERS:
        click.echo(f"  {username:<12} {role}")


@hub_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--pseudonym", required=True)
@click.option("--email", default="")
@click.password_option()
@with_appcontext
def create_admin_command(username: str, pseudonym: str, email: str, password: str) -> None:
    """Create an admin account (the first account of a new hub)."""
    from hub.extensions import db
    from hub.services import accounts
    from hub.services.errors import ServiceError

    try:
        accounts.create_user(
            accounts.NewAccount(username=username, pseudonym=pseudonym, password=password, email=email),
            role=Role.ADMIN,
        )
    except ServiceError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    db.session.commit()
    click.echo(f"Admin {username} created.")


@hub_cli.command("reindex")
@click.option("--procs", default=2, show_default=True, help="Processes for analysing notes.")
@with_appcontext
def reindex_command(procs: int) -> None:
    """Rebuild the search index from the database and swap it in; searches keep working."""
    import time

    import search_index

    started = time.monotonic()
    count = search_index.rebuild(procs=procs)
    elapsed = time.monotonic() - started
    click.echo(f"Indexed {count} notes in {elapsed:.1f} s ({count / elapsed if elapsed else 0:.0f} notes/s).")


@hub_cli.command("search-status")
@with_appcontext
def search_status_command() -> None:
    """Print indexed and published note counts, their differences and the indexer's lag behind the event
    log; exit with status 1 when the index is unavailable or differs although it has applied every event."""
    import search_index

    info = search_index.status()
    if not info["available"]:
        click.echo("Search index: unavailable (the worker rebuilds it at start; or run flask hub reindex).")
    click.echo(f"Indexed notes:   {info['indexed']}")
    click.echo(f"Published notes: {info['published']}")
    click.echo(f"Cursor / head:   {info['cursor']} / {info['head']} (lag {info['lag']} events)")
    if info["available"] and (info["missing"] or info["unexpected"]):
        click.echo(f"Differences:     {info['missing']} published notes not indexed, "
                   f"{info['unexpected']} indexed notes not published")
    if info["available"] and not info["in_step"]:
        click.echo("The index does not match the database although it has applied every event: "
                   "run flask hub reindex.")
    if not info["in_step"]:
        raise SystemExit(1)  # for monitoring: unavailable, or wrong with nothing left to apply


@hub_cli.command("backup")
@click.argument("target", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(target: Path) -> None:
    """Back up the database, attachments and keys into one file (TARGET: a folder or a file name).

    The search index is not backed up: it is rebuilt from the database after a restore.
    """
    from hub import backup

    try:
        summary = backup.create(target)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written to {summary.path} ({summary.database} database, {summary.notes} notes, "
               f"{summary.attachments} attachments, keys: {', '.join(summary.keys) or 'none'}).")
    click.echo("It holds personal data and the hub's private key: keep it where only administrators can read it.")


@hub_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--send-queued-mail", is_flag=True,
              help="Send the mail the backup had queued (by default it is not sent: the hub it came from most "
                   "likely sent it already).")
@with_appcontext
def restore_command(archive: Path, yes: bool, send_queued_mail: bool) -> None:
    """Replace this hub's database, attachments and keys with a backup's (stop the web and worker first)."""
    from hub import backup, worker

    try:
        manifest = backup.read_manifest(archive)
        if not yes:
            click.confirm(f"Replace this hub's database, attachments and keys with the backup of "
                          f"{manifest['created_at']} (everything written since is lost)?", abort=True)
        summary = backup.restore(archive, send_queued_mail=send_queued_mail)
    except (backup.BackupError, worker.AlreadyRunning) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored the backup of {summary.created_at}: {summary.notes} notes, {summary.attachments} "
               f"attachments, keys: {', '.join(summary.keys) or 'none'}.")
    for name in summary.kept_keys:
        click.echo(f"The backup holds no {name}: this hub's own was kept.")
    if "federation_key.pem" in summary.kept_keys:
        click.echo("Partner hubs know this hub by that key. If the hub the backup came from had a federation key "
                   "of its own since, and this is to be that hub again, copy its instance/federation_key.pem here.")
    click.echo("The search index was removed here: the worker rebuilds it when it starts (or run flask hub "
               "reindex). On other nodes, run flask hub reindex before starting their workers.")
    if summary.mail_held:
        click.echo(f"{summary.mail_held} mails queued or owed at the time of the backup will not be sent (the hub "
                   "it came from most likely sent them). To send them, restore again with --send-queued-mail.")


@hub_cli.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the background worker until Ctrl-C, SIGTERM or SIGHUP (one per instance folder)."""
    import logging

    from hub import worker
    from hub.schema_check import OutdatedSchema, require_current_schema

    logging.getLogger("hub").setLevel(logging.INFO)  # Flask's handler on the "hub" logger prints it
    try:
        require_current_schema()  # else every round fails on a table or column that is not there
        worker.run(current_app._get_current_object())
    except (worker.AlreadyRunning, OutdatedSchema) as error:
        raise click.ClickException(f"The worker does not start: {error}") from None


@hub_cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the hub with the development server and the worker beside it; Ctrl-C stops both.

    SIGTERM and SIGHUP stop both too, and the worker stops by itself if this process dies
    without a word (it is asked to on Linux: an orphaned worker must not write on). SIGINT is
    handled here as well, not left to Python: a shell that starts a command in the background
    without job control (a script's ``make run &``) makes it ignore SIGINT, and Python then
    never turns it into Ctrl-C's KeyboardInterrupt.
    """
    from werkzeug.serving import run_simple

    from hub.schema_check import OutdatedSchema, require_current_schema

    try:
        require_current_schema()
    except OutdatedSchema as error:
        raise click.ClickException(f"The hub does not start: {error}") from None
    worker = subprocess.Popen([sys.executable, "-m", "flask", "hub", "worker"], env=os.environ.copy(),
                              preexec_fn=_stop_when_parent_dies)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        run_simple(host, port, current_app._get_current_object(), threaded=True,
                   request_handler=quiet_request_handler())
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        click.echo("Hub and worker stopped.")


def _interrupt(*_args) -> None:
    """Stop the development server as Ctrl-C does (it unwinds, and the worker is stopped on the way out)."""
    raise KeyboardInterrupt


def _stop_when_parent_dies() -> None:
    """In the worker's process, before it runs: ask Linux for SIGTERM when its parent dies."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: serve's own signal handlers still stop the worker
        pass


def quiet_request_handler() -> type:
    """Return Werkzeug's request handler without its request lines.

    A request line holds the path (an invitation token, a note id) and the query string (what
    someone searched for), and an address says who: the hub's own access log names the endpoint
    only, so the development server logs nothing per request.
    """
    from werkzeug.serving import WSGIRequestHandler

    class QuietRequestHandler(WSGIRequestHandler):
        def log_request(self, *_args, **_kwargs) -> None:
            """Log nothing per request."""

    return QuietRequestHandler


translate_cli = AppGroup("translate", help="Extract, add, update and compile interface translations.")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POT = os.path.join(ROOT, "translations", "messages.pot")
TRANSLATIONS = os.path.join(ROOT, "translations")


def _pybabel(*args: str) -> None:
    """Run pybabel from the project root, failing loudly."""
    if not os.path.exists(os.path.join(ROOT, "babel.cfg")):
        raise click.ClickException(
            "Interface strings are extracted and translated in a checkout of the hub's source (where babel.cfg "
            "is), not in an installed hub. Run this command there, then install the hub again from it "
            "(pip install .), which carries the compiled catalogues.")
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    if subprocess.call(command, cwd=ROOT) != 0:
        raise click.ClickException("pybabel " + " ".join(args) + " failed")


@translate_cli.command("extract")
def extract_command() -> None:
    """Collect the interface strings into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-c", "i18n:", "--strip-comment-tags",
             "--sort-by-file", "--no-wrap", "--project", "practice-exchange-hub", "-o", POT, ".")


@translate_cli.command("init")
@click.argument("locale")
def init_locale_command(locale: str) -> None:
    """Start a catalogue for a new language (e.g. zh_Hant, ru)."""
    extract_command.callback()
    _pybabel("init", "-i", POT, "-d", TRANSLATIONS, "-l", locale, "--no-wrap")


@translate_cli.command("update")
def update_command() -> None:
    """Bring every catalogue up to date with the interface strings."""
    extract_command.callback()
    _pybabel("update", "-i", POT, "-d", TRANSLATIONS, "--no-wrap", "--ignore-obsolete")
    _copy_source_strings(os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "messages.po"))


def _copy_source_strings(path: str) -> None:
    """Fill the English catalogue from the source strings (the interface is written in English)."""
    from babel.messages.pofile import read_po, write_po

    with open(path, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, (list, tuple)):
            message.string = tuple(message.id)
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with open(path, "wb") as handle:
        write_po(handle, catalog, width=0, ignore_obsolete=True)


@translate_cli.command("compile")
def compile_command() -> None:
    """Compile the catalogues into the .mo files the hub reads (fuzzy entries are left out)."""
    from hub.i18n import TRANSLATIONS as catalogues, compile_catalogues

    if not any(catalogues.glob("*/LC_MESSAGES/messages.po")):
        raise click.ClickException(f"No catalogue to compile under {catalogues}: an installed hub carries its "
                                   "catalogues compiled; they are edited and compiled in a checkout.")
    compiled = compile_catalogues(catalogues)
    for path in compiled:
        click.echo(f"compiled {os.path.relpath(path, ROOT)}")
    if not compiled:
        click.echo("Every catalogue is compiled already.")


# --- federation ------------------------------------------------------------------------------

def acting_account(username: str, permission: str, role_name: str):
    """Return the account a command acts as (audited under its name), if it holds ``permission``."""
    import sqlalchemy as sa

    from hub.extensions import db
    from hub.models.user import User
    from hub.permissions import can

    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None or not can(user, permission):
        raise click.UsageError(f"{username!r} is not {role_name} of this hub.")
    return user


def _federation_admin(username: str):
    """Return the admin account a federation command acts as (it is audited under that name)."""
    return acting_account(username, "manage_partners", "an administrator")


def _run_federation(action):
    from hub.services.errors import ServiceError

    try:
        return action()
    except ServiceError as error:
        raise click.ClickException(str(error.message)) from None


@hub_cli.command("federation-status")
@with_appcontext
def federation_status_command() -> None:
    """List partner hubs with their states, and deliveries by state."""
    from hub.federation import delivery, peers

    for summary in peers.overview():
        peer = summary.peer
        flags = ", ".join(summary.states) or "no follow"
        click.echo(f"{peer.id:>4}  {peer.base_url:<40} {flags}; allow-listed={'yes' if peer.partner else 'no'}; "
                   f"trust={peer.trust}; failed deliveries={summary.dead}")
    stats = delivery.stats()
    click.echo(f"Deliveries: {stats.get('pending', 0)} waiting, {stats.get('sent', 0)} sent, "
               f"{stats.get('dead', 0)} failed, {stats.get('held', 0)} held for hubs off the allow-list.")


@hub_cli.command("federation-follow")
@click.argument("address")
@click.option("--as", "username", required=True, help="Username of the admin doing this (for the audit log).")
@click.option("--allow-only", is_flag=True, help="Only allow-list the hub (let it follow us); do not follow it.")
@with_appcontext
def federation_follow_command(address: str, username: str, allow_only: bool) -> None:
    """Follow a hub by its address (and allow-list it); the worker sends the request."""
    from hub.federation import peers

    admin = _federation_admin(username)
    action = peers.allow if allow_only else peers.follow
    peer = _run_federation(lambda: action(address, by=admin))
    click.echo(f"{'Allow-listed' if allow_only else 'Follow request queued for'} {peer.base_url} ({peer.actor_id}).")


@hub_cli.command("federation-retry")
@click.option("--as", "username", required=True, help="Username of the admin doing this (for the audit log).")
@with_appcontext
def federation_retry_command(username: str) -> None:
    """Queue every failed (dead-lettered) delivery again."""
    from hub.federation import peers

    count = _run_federation(lambda: peers.retry_dead_letters(by=_federation_admin(username)))
    click.echo(f"{count} failed deliveries queued again.")


@hub_cli.command("federation-backfill")
@click.option("--as", "username", required=True, help="Username of the admin doing this (for the audit log).")
@click.option("--wait", default=300, show_default=True, help="Seconds to wait while the worker reads the same hub.")
@with_appcontext
def federation_backfill_command(username: str, wait: int) -> None:
    """Read the outbox of every followed hub now and store the notes missed (e.g. after an outage).

    One reader at a time per hub: while the worker reads a hub, this waits for it, and says what
    the worker stored meanwhile as well as what this reading stored.
    """
    import socket

    import sqlalchemy as sa

    from hub.extensions import db
    from hub.federation import peers
    from hub.federation.http import FetchError
    from hub.models.federation import PeerHub

    admin = _federation_admin(username)
    owner = f"command:{socket.gethostname()}:{os.getpid()}"
    followed = list(db.session.scalars(sa.select(PeerHub).where(PeerHub.we_follow == "accepted",
                                                                PeerHub.blocked.is_(False))))
    for peer in followed:
        base_url = peer.base_url
        try:
            outcome = _run_federation(lambda: peers.backfill_now(peer, by=admin, owner=owner, wait=wait))
        except (FetchError, ValueError) as error:
            db.session.rollback()
            click.echo(f"{base_url}: could not read its outbox ({error}).")
            continue
        if outcome is None:
            click.echo(f"{base_url}: the worker has been reading it for more than {wait} s; try again later.")
            continue
        meanwhile = (f" ({outcome.stored_meanwhile} more were stored by the worker, which was reading it "
                     "at the same time)") if outcome.stored_meanwhile else ""
        click.echo(f"{base_url}: {outcome.added} notes added{meanwhile}.")
