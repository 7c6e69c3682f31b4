"""Backups of a hub, and restoring them: the database, the attachments, the keys; never the search index.

A backup is one tar file, readable only by its owner (it holds personal data and the hub's
private key):

- ``manifest.json``: format, time, database kind, schema revision, database identity, counts;
- ``database.pgdump`` (``pg_dump --format=custom``) or ``database.sqlite`` (SQLite's online
  backup API: a consistent copy while the hub runs);
- ``attachments/``: the uploaded files (content-addressed, so a copy taken after the database
  holds every file the database names);
- ``federation_key.pem`` and, in development, ``secret_key``, when they exist.

The manifest holds the database file's SHA-256. A restore reads the whole backup before it
replaces anything: a file whose database differs from that checksum, a SQLite database failing
SQLite's integrity check (backups from before the checksum) or a dump ``pg_restore`` cannot read
is refused with nothing changed.

Restoring replaces the database in one transaction on PostgreSQL (the schema is dropped and the
dump loaded by ``psql --single-transaction``: it all happens or nothing does) and with the backup
API on SQLite, then the attachments and keys, upgrades the schema to this version, gives the
database a new identity (hub.instance_identity) and removes this node's search index, which the
worker rebuilds from the restored database. It refuses while a worker runs on the instance.

The steps after the load cannot share its transaction (the migrations run on their own), so the
load brings in, in its own transaction, marks (``hub_meta`` rows) saying that the restore has not
finished, with the highest ids the replaced database had given out; the transaction that finishes
the restore removes them. A restore killed between the two leaves the marks: the hub's processes
and ``flask hub init`` refuse that database and say to run the restore again (hub.schema_check),
and that run, which starts over, keeps new ids above the ones the marks name.
"""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_migrate import upgrade

from hub import events, schema_check, worker
from hub.schema_check import UNFINISHED_RESTORE, unfinished_restore
from hub.extensions import db
from hub.instance_identity import database_identity, new_identity
from hub.models.note import Note

FORMAT = 1
KEY_FILES = ("federation_key.pem", "secret_key")
# Their ids name them on partner hubs (/ap/notes/<id>, /ap/comments/<id>): a restore never gives one out twice.
PUBLISHED_IDS = ("note", "comment")
# hub_meta rows a restore loads with the database and removes when it has finished (see above).
MARKS = "restore.%"
GIVEN_OUT = "restore.given_out."  # + a table of PUBLISHED_IDS: the highest id the replaced database gave out
# Debian installs every PostgreSQL version's programs here; the newest can dump any older server.
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class BackupError(RuntimeError):
    """A backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    """What a backup holds or a restore brought back."""

    path: Path
    database: str
    notes: int
    attachments: int
    keys: list[str]
    created_at: str
    identity: str
    # Mails a restore did not send: queued in the backup, or owed for its events not yet mailed.
    mail_held: int = 0
    # Key files the backup did not hold that this hub has: a restore keeps them (the federation key is
    # how partner hubs know this hub; a key made anew would be one they do not know).
    kept_keys: tuple[str, ...] = ()


# --- where things are --------------------------------------------------------------------------

def _instance() -> Path:
    return Path(current_app.instance_path)


def _dialect() -> str:
    return db.engine.dialect.name


def _sqlite_path() -> Path:
    path = db.engine.url.database
    if not path or path == ":memory:":
        raise BackupError("This hub's database is in memory: there is nothing to back up or restore.")
    return Path(path)


def _pg_tool(name: str) -> str:
    """Return the path of a PostgreSQL client program, or say clearly that it is missing."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(os.path.join(PG_BIN_GLOB, name)), reverse=True)
    if candidates:
        return candidates[0]
    raise BackupError(f"{name} was not found. Install the PostgreSQL client programs of the server's major "
                      f"version or newer (Debian: apt-get install postgresql-client) and try again.")


def _pg_target() -> tuple[str, dict[str, str]]:
    """Return the database URL for libpq programs (without the password) and their environment."""
    url = db.engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where `ps` would show it
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise BackupError(f"{what} failed: {' '.join(detail)}")


def _schema_revision() -> str | None:
    try:
        return db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.DatabaseError:
        db.session.rollback()
        return None


def _attachment_files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


# --- backup ------------------------------------------------------------------------------------

def target_file(target: Path) -> Path:
    """Return the backup file for ``target``: a new dated file in a folder, or the file named."""
    if target.is_dir():
        return target / f"hub-backup-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}.tar"
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    return target


def create(target: Path) -> Summary:
    """Write a backup to ``target`` (a folder or a file name) and return what it holds."""
    path = target_file(target)
    with db.engine.connect() as connection:
        unfinished = unfinished_restore(connection)
    if unfinished:  # a copy of that half would pass for a hub's whole database
        raise BackupError(f"A restore of {unfinished} was stopped before it finished: this database is half "
                          "restored. Run `flask hub restore` with that file again first; nothing was written.")
    revision, identity = _schema_revision(), database_identity()
    notes = db.session.scalar(sa.select(sa.func.count()).select_from(Note)) or 0
    db.session.rollback()
    with tempfile.TemporaryDirectory(prefix=".hub-backup-", dir=path.parent) as work:
        work_dir = Path(work)
        database_file = work_dir / ("database.pgdump" if _dialect() == "postgresql" else "database.sqlite")
        _dump_database(database_file)
        keys = [name for name in KEY_FILES if (_instance() / name).is_file()]
        attachments = list(_attachment_files(_instance() / "attachments"))
        manifest = {"format": FORMAT, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "database": _dialect(), "revision": revision, "identity": identity, "notes": notes,
                    "attachments": len(attachments), "keys": keys, "database_sha256": _sha256(database_file)}
        (work_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
        partial = work_dir / "backup.tar"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as archive:
            archive.add(work_dir / "manifest.json", "manifest.json")
            archive.add(database_file, database_file.name)
            for name in keys:
                archive.add(_instance() / name, name)
            for file in attachments:
                archive.add(file, "attachments/" + file.relative_to(_instance() / "attachments").as_posix())
        os.replace(partial, path)  # a backup file exists only once it is complete
    return Summary(path, manifest["database"], notes, len(attachments), keys, manifest["created_at"], identity)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dump_database(destination: Path) -> None:
    if _dialect() == "postgresql":
        url, env = _pg_target()
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", "--file", str(destination), url],
             env, "pg_dump")
        return
    source = sqlite3.connect(_sqlite_path())
    target = sqlite3.connect(destination)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


# --- restore -----------------------------------------------------------------------------------

def read_manifest(archive_path: Path) -> dict:
    """Return the manifest of a backup file, refusing what is not a backup this hub can restore."""
    try:
        with tarfile.open(archive_path) as archive:
            manifest = json.load(archive.extractfile("manifest.json"))
    except (OSError, KeyError, tarfile.TarError, ValueError) as error:
        raise BackupError(f"{archive_path} is not a hub backup ({error}).") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive_path} has backup format {manifest.get('format')}; this hub reads {FORMAT}.")
    if manifest.get("database") != _dialect():
        raise BackupError(f"This backup holds a {manifest.get('database')} database and this hub uses {_dialect()}: "
                          "restore it into a hub configured with the same kind of database.")
    revision = manifest.get("revision")
    if revision:
        try:
            schema_check.scripts().get_revision(revision)
        except Exception:
            raise BackupError("This backup was made by a newer version of the hub (schema revision "
                              f"{revision}): upgrade the hub first.") from None
    return manifest


def restore(archive_path: Path, *, send_queued_mail: bool = False) -> Summary:
    """Replace this hub's database, attachments and keys with a backup's; return what was restored.

    Mail the backup had queued, and mail owed for its events that the mail consumer had not reached,
    is not sent unless ``send_queued_mail``: the hub the backup came from most likely sent it after
    the backup was made, and a restore onto a test machine must not mail real people.
    """
    manifest = read_manifest(archive_path)
    app = current_app._get_current_object()
    with worker.instance_lock(app, "flask hub restore"):
        _remove_leftovers()
        with tempfile.TemporaryDirectory(prefix=".hub-restore-", dir=_instance()) as work:
            work_dir = Path(work)
            with tarfile.open(archive_path) as archive:
                _extract(archive, work_dir)
            _check_database(work_dir, manifest, archive_path)
            given_out = _ids_given_out()
            db.session.remove()
            db.engine.dispose()  # no pooled connection may hold on to the old database
            label = f"{archive_path.name} ({manifest['created_at']})"
            marks = {UNFINISHED_RESTORE: label[:300], **{GIVEN_OUT + table: str(highest)
                                                        for table, highest in given_out.items()}}
            _load_database(work_dir, marks)
            restored_files = _replace_attachments(work_dir / "attachments")
            keys = _restore_keys(work_dir)
            kept = tuple(name for name in KEY_FILES if name not in keys and (_instance() / name).is_file())
            if manifest.get("revision"):
                upgrade(directory=current_app.extensions["migrate"].directory)
            _give_out_ids_above(given_out)
            identity = new_identity(restored_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                    restored_from=label)
            held = 0 if send_queued_mail else _hold_mail()
            db.session.execute(sa.text("DELETE FROM hub_meta WHERE key LIKE :marks"), {"marks": MARKS})
            db.session.commit()  # the restore has finished: its marks go with the last of its changes
            _remove_search_index()
    notes = db.session.scalar(sa.select(sa.func.count()).select_from(Note)) or 0
    db.session.rollback()
    return Summary(archive_path, manifest["database"], notes, restored_files, keys, manifest["created_at"], identity,
                   mail_held=held, kept_keys=kept)


def _remove_leftovers() -> None:
    """Remove what a restore killed midway left in the instance folder: its unpacked backup (with a copy
    of the database and the private key) and the attachments it was replacing."""
    for pattern in (".hub-restore-*", ".attachments-replaced-*"):
        for folder in _instance().glob(pattern):
            shutil.rmtree(folder, ignore_errors=True)


def _ids_given_out() -> dict[str, int]:
    """Return the highest id of each of PUBLISHED_IDS the database about to be replaced gave out.

    The hub may have run on after the backup was made: its newer notes and comments reached partner
    hubs under ids the backup's counters would give out again, to other notes and comments. Read
    from the table and the event log, which names every note and comment readers were shown; 0 where
    the database has no such table (a new machine). A database an earlier restore was stopped in
    holds, in that restore's marks, the ids the database it replaced had given out: the higher ones count.
    """
    found = {}
    marked = _marked_given_out()
    for table in PUBLISHED_IDS:
        try:
            found[table] = db.session.scalar(sa.text(
                f"SELECT max(coalesce((SELECT max(id) FROM {table}), 0), "  # noqa: S608 - a table name of ours
                "coalesce((SELECT max(subject_id) FROM event WHERE subject_type = :table), 0))"
                if _dialect() == "sqlite" else
                f"SELECT greatest((SELECT max(id) FROM {table}), "  # noqa: S608 - a table name of ours
                "(SELECT max(subject_id) FROM event WHERE subject_type = :table), 0)"), {"table": table}) or 0
        except sa.exc.DatabaseError:
            found[table] = 0
        found[table] = max(found[table], marked.get(table, 0))
        db.session.rollback()
    return found


def _marked_given_out() -> dict[str, int]:
    """Return the ids an unfinished restore recorded as given out by the database it replaced ({} if none)."""
    try:
        rows = db.session.execute(sa.text("SELECT key, value FROM hub_meta WHERE key LIKE :marks"),
                                  {"marks": GIVEN_OUT + "%"}).all()
    except sa.exc.DatabaseError:
        rows = []
    db.session.rollback()
    return {key.removeprefix(GIVEN_OUT): int(value) for key, value in rows if value.isdigit()}


def _give_out_ids_above(given_out: dict[str, int]) -> None:
    """Set the restored database's id counters past ``given_out`` (in the caller's transaction)."""
    for table, highest in given_out.items():
        if not highest:
            continue
        if _dialect() == "sqlite":  # AUTOINCREMENT tables count in sqlite_sequence
            current = db.session.scalar(sa.text("SELECT seq FROM sqlite_sequence WHERE name = :table"),
                                        {"table": table}) or 0
            db.session.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :table"), {"table": table})
            db.session.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
                               {"table": table, "seq": max(current, highest)})
        else:
            sequence = db.session.scalar(sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table})
            db.session.execute(sa.text(f"SELECT setval(:sequence, greatest(:highest, (SELECT last_value FROM "
                                       f"{sequence})))"), {"sequence": sequence, "highest": highest})


def _hold_mail() -> int:
    """Drop the restored database's queued mail and move the mail consumer past its events; return
    how many mails and events that leaves unsent."""
    from hub.mail import outbox
    from hub.mail.consumer import CONSUMER_NAME
    from hub.models.events import Event

    dropped = outbox.drop_queued("restored from a backup: not sent")
    cursor = worker.DatabaseCursor(CONSUMER_NAME)
    position = cursor.get()
    skipped = db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.id > position)) or 0
    cursor.set(max(position, events.head()))
    return dropped + skipped


def _extract(archive: tarfile.TarFile, work_dir: Path) -> None:
    """Unpack a backup into ``work_dir``, refusing any member that would land outside it.

    Python's ``data`` filter does this from 3.11.4 (and 3.12); Debian 12's Python is 3.11.2, where
    ``extractall`` has no ``filter``. There the members are checked here the same way for what a
    backup holds: plain files and folders, with relative names that stay inside ``work_dir``.
    """
    if hasattr(tarfile, "data_filter"):
        try:
            archive.extractall(work_dir, filter="data")
        except tarfile.FilterError as error:
            raise BackupError(f"The backup holds {error.tarinfo.name!r}, which is not a file inside the backup: "
                              "it was not made by `flask hub backup`.") from None
        return
    root = work_dir.resolve()
    members = archive.getmembers()
    for member in members:
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or Path(member.name).is_absolute() \
                or not target.is_relative_to(root):
            raise BackupError(f"The backup holds {member.name!r}, which is not a file inside the backup: "
                              "it was not made by `flask hub backup`.")
        member.mode = (member.mode or 0) & 0o755 | (0o700 if member.isdir() else 0o600)
    archive.extractall(work_dir, members=members)  # noqa: S202 - every member was checked above


def _check_database(work_dir: Path, manifest: dict, archive_path: Path) -> None:
    """Refuse a backup whose database was damaged since it was written, before anything is replaced.

    Backups carry the database file's SHA-256 (older ones do not); a SQLite database is also checked
    page by page, as SQLite's backup API would copy a damaged file over the hub's good one unread.
    """
    database_file = work_dir / ("database.pgdump" if _dialect() == "postgresql" else "database.sqlite")
    problem = None
    if not database_file.is_file():
        problem = f"it holds no {database_file.name}"
    elif manifest.get("database_sha256") and manifest["database_sha256"] != _sha256(database_file):
        problem = f"its {database_file.name} is not the file the backup was made with (checksum differs)"
    elif _dialect() == "sqlite":
        problem = _sqlite_damage(database_file)
    else:
        problem = _pgdump_damage(database_file, work_dir / "database.sql")
    if problem:
        raise BackupError(f"{archive_path} cannot be restored: {problem}. Nothing was changed; use another backup.")


def _sqlite_damage(path: Path) -> str | None:
    """Return what SQLite finds wrong with the database file at ``path``, or None when it is whole."""
    try:
        connection = sqlite3.connect(path)  # the backup's own extracted copy
        try:
            found = [row[0] for row in connection.execute("PRAGMA integrity_check(3)")]
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        return f"its database cannot be read ({error})"
    if found == ["ok"]:
        return None
    return "its database fails SQLite's integrity check (" + "; ".join(" ".join(line.split()) for line in found) + ")"


def _pgdump_damage(dump: Path, script: Path) -> str | None:
    """Turn the dump into the SQL script the restore loads; return why pg_restore cannot, or None."""
    pg_restore, (_url, env) = _pg_tool("pg_restore"), _pg_target()
    try:
        _run([pg_restore, "--no-owner", "--no-acl", "--file", str(script), str(dump)], env, "pg_restore")
    except BackupError as error:
        return f"its database dump cannot be read ({error})"
    return None


def _load_database(work_dir: Path, marks: dict[str, str]) -> None:
    """Replace the database with the backup's in one transaction, with ``marks`` added to its hub_meta."""
    if _dialect() == "postgresql":
        url, env = _pg_target()
        script = work_dir / "database.sql"  # written from the dump by _check_database
        preamble, marking = work_dir / "preamble.sql", work_dir / "marks.sql"
        # Waiting for locks means someone still uses the database: fail clearly instead of hanging.
        preamble.write_text("SET lock_timeout = '15s';\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n")
        # The values go in as psql variables (:'mark_N' quotes them): a file name may hold any character.
        marking.write_text("".join(f"DELETE FROM public.hub_meta WHERE key = :'mark_{n}_key';\n"
                                   f"INSERT INTO public.hub_meta (key, value, updated_at) VALUES "
                                   f"(:'mark_{n}_key', :'mark_{n}', now() AT TIME ZONE 'UTC');\n"
                                   for n in range(len(marks))))
        variables = [option for n, (key, value) in enumerate(marks.items())
                     for option in ("--set", f"mark_{n}_key={key}", "--set", f"mark_{n}={value}")]
        _run([_pg_tool("psql"), "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", *variables,
              "--single-transaction", "--file", str(preamble), "--file", str(script), "--file", str(marking), url],
             env, "Loading the database (stop the web processes and workers that use it first)")
        return
    source = sqlite3.connect(work_dir / "database.sqlite")  # the backup's unpacked copy: marked, then copied
    target = sqlite3.connect(_sqlite_path())
    try:
        with source:
            source.executemany("DELETE FROM hub_meta WHERE key = ?", [(key,) for key in marks])
            source.executemany("INSERT INTO hub_meta (key, value, updated_at) VALUES (?, ?, ?)",
                               [(key, value, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(" "))
                                for key, value in marks.items()])
        source.backup(target)
    finally:
        target.close()
        source.close()


def _replace_attachments(restored: Path) -> int:
    """Swap the restored attachments folder in for the current one; return how many files it holds."""
    live = _instance() / "attachments"
    restored.mkdir(exist_ok=True)
    count = sum(1 for _ in _attachment_files(restored))
    old = _instance() / f".attachments-replaced-{os.getpid()}"
    if live.exists():
        os.replace(live, old)
    os.replace(restored, live)
    shutil.rmtree(old, ignore_errors=True)
    return count


def _restore_keys(work_dir: Path) -> list[str]:
    restored = []
    for name in KEY_FILES:
        if (work_dir / name).is_file():
            os.replace(work_dir / name, _instance() / name)
            (_instance() / name).chmod(0o600)
            restored.append(name)
    return restored


def _remove_search_index() -> None:
    """Remove this node's index: it belongs to the database as it was, and the worker rebuilds it."""
    location = current_app.config["INDEX_DIR"]
    if location != ":memory:":
        shutil.rmtree(_instance() / location, ignore_errors=True)
