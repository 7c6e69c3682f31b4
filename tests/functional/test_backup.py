"""`flask hub backup` and `flask hub restore` on SQLite and PostgreSQL: everything since the backup is gone."""
from __future__ import annotations

import io
import signal
import stat
import sys

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from PIL import Image

import search_index
from hub import backup, events, worker
from hub.extensions import db
from hub.instance_identity import database_identity
from hub.models.note import Note
from hub.services import attachments
from tests import spawn
from tests.federation.fixtures import people, publish  # noqa: F401
from tests.processes import FLASK, hub_env

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(make_app, shared_database_url):
    """A hub whose schema was made by the migrations, on a SQLite file or a PostgreSQL database of its own."""
    application = make_app(DATABASE_URL=shared_database_url, INDEX_DIR="index")
    with application.app_context():
        db.drop_all()
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()


def png(shade: int) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (4, 4), (shade, 0, 0)).save(data, "PNG")
    data.seek(0)
    return data


def files(folder) -> set[str]:
    return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_a_restore_brings_back_database_attachments_and_key_and_drops_the_index(app, people, publish, tmp_path):
    instance = tmp_path / "instance"
    runner = app.test_cli_runner()
    kept = publish("public", title="留下的笔记")
    attachments.add(kept, by=people["author"], filename="photo.png", stream=png(10))
    (instance / "federation_key.pem").write_bytes(b"the key of the backup")
    search_index.rebuild()
    identity, head, kept_files = database_identity(), events.head(), files(instance / "attachments")
    (tmp_path / "backups").mkdir()
    result = runner.invoke(args=["hub", "backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    [archive] = (tmp_path / "backups").iterdir()
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600 and "1 attachments" in result.output

    later = publish("public", title="备份之后的笔记")
    attachments.add(later, by=people["author"], filename="later.png", stream=png(200))
    (instance / "federation_key.pem").write_bytes(b"a newer key")
    assert len(files(instance / "attachments")) == 2
    newer = events.after(head)[0].id
    newer_fingerprint = events.fingerprint(newer)  # what an index that applied it would remember
    db.session.remove()
    result = runner.invoke(args=["hub", "restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output

    assert set(db.session.scalars(sa.select(Note.title))) == {"留下的笔记"}
    assert files(instance / "attachments") == kept_files
    assert (instance / "federation_key.pem").read_bytes() == b"the key of the backup"
    assert events.head() == head and database_identity() != identity
    assert not (instance / "index").exists() and "worker rebuilds it" in result.output
    assert search_index.rebuild() == 1  # the restored database indexes as usual
    events.record("note.updated", subject_type="note", subject_id=1)  # life goes on after the restore
    db.session.commit()
    assert events.head() == newer and events.fingerprint(newer) not in (None, newer_fingerprint)


def test_restore_refuses_while_a_worker_runs_and_refuses_what_is_not_a_backup(app, tmp_path):
    runner = app.test_cli_runner()
    (tmp_path / "backups").mkdir()
    assert runner.invoke(args=["hub", "backup", str(tmp_path / "backups" / "b.tar")]).exit_code == 0
    with worker.instance_lock(app, "worker"):
        result = runner.invoke(args=["hub", "restore", str(tmp_path / "backups" / "b.tar"), "--yes"])
    assert result.exit_code == 1 and "already uses this instance" in result.output
    (tmp_path / "not-a-backup.tar").write_bytes(b"hello")
    result = runner.invoke(args=["hub", "restore", str(tmp_path / "not-a-backup.tar"), "--yes"])
    assert result.exit_code == 1 and "is not a hub backup" in result.output


def test_backup_says_clearly_when_pg_dump_is_missing(make_app, postgres_database, tmp_path, monkeypatch):
    app = make_app(DATABASE_URL=postgres_database)
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    monkeypatch.setattr(backup, "PG_BIN_GLOB", str(tmp_path / "nowhere"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["hub", "backup", str(tmp_path)])
        db.engine.dispose()
    assert result.exit_code == 1 and "pg_dump was not found" in result.output and "postgresql-client" in result.output
    assert list(tmp_path.glob("*.tar")) == []


@pytest.fixture
def archive(app, tmp_path):
    (tmp_path / "backups").mkdir()
    result = app.test_cli_runner().invoke(args=["hub", "backup", str(tmp_path / "backups" / "b.tar")])
    assert result.exit_code == 0, result.output
    return tmp_path / "backups" / "b.tar"


@pytest.fixture(params=["data filter", "before Python 3.11.4"])
def extraction(request, monkeypatch):
    """Restore with Python's tar ``data`` filter, and as on Debian 12's Python 3.11.2, which has none."""
    if request.param != "data filter":
        monkeypatch.delattr(backup.tarfile, "data_filter")
        real = backup.tarfile.TarFile.extractall

        def without_filter(self, path=".", members=None, *, numeric_owner=False, **kwargs):
            assert not kwargs, "Python 3.11.2's extractall takes no filter"
            return real(self, path, members, numeric_owner=numeric_owner, filter="fully_trusted")

        monkeypatch.setattr(backup.tarfile.TarFile, "extractall", without_filter)
    return request.param


def test_a_restore_works_without_the_tar_data_filter(app, people, publish, archive, extraction):
    publish("public", title="备份之后的笔记")
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["hub", "restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0


@pytest.mark.parametrize("member", ["../outside.txt", "absolute", "link"])
def test_a_restore_never_writes_outside_its_folder(app, archive, extraction, member, tmp_path):
    """A member that climbs out or links out is refused; an absolute name is refused (or, by Python's
    data filter, unpacked inside the restore's folder): nothing lands where the name points."""
    import tarfile

    outside = tmp_path / "absolute.txt"
    info = tarfile.TarInfo(str(outside) if member == "absolute" else member)
    if member == "link":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with tarfile.open(archive, "a") as tar:
        tar.addfile(info, io.BytesIO(b""))
    result = app.test_cli_runner().invoke(args=["hub", "restore", str(archive), "--yes"])
    refused = result.exit_code == 1 and "not a file inside the backup" in result.output
    assert refused or (member == "absolute" and extraction == "data filter" and result.exit_code == 0), result.output
    assert not outside.exists() and not (tmp_path / "outside.txt").exists()


def test_a_restore_does_not_send_the_mail_the_backup_had_queued(app, archive, tmp_path):
    from hub.mail.consumer import CONSUMER_NAME
    from hub.models import OutgoingMail

    db.session.add(OutgoingMail(key="comment:1:user:1", kind="comment", address=None, payload={}))
    events.record("note.updated", subject_type="note", subject_id=1)  # not yet turned into mail
    worker.DatabaseCursor(CONSUMER_NAME).set(0)
    db.session.commit()
    (tmp_path / "queued").mkdir()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hub", "backup", str(tmp_path / "queued" / "q.tar")]).exit_code == 0
    db.session.remove()

    result = runner.invoke(args=["hub", "restore", str(tmp_path / "queued" / "q.tar"), "--yes"])
    assert result.exit_code == 0 and "2 mails queued or owed" in result.output, result.output
    assert db.session.scalar(sa.select(OutgoingMail.state)) == "dropped"
    assert worker.DatabaseCursor(CONSUMER_NAME).get() == events.head()
    db.session.remove()

    result = runner.invoke(args=["hub", "restore", str(tmp_path / "queued" / "q.tar"), "--yes", "--send-queued-mail"])
    assert result.exit_code == 0 and "mails queued" not in result.output, result.output
    assert db.session.scalar(sa.select(OutgoingMail.state)) == "pending"
    assert worker.DatabaseCursor(CONSUMER_NAME).get() == 0


@pytest.mark.parametrize("made", ["now", "before the checksum"])
def test_a_damaged_backup_is_refused_and_changes_nothing(app, people, publish, archive, made):
    """A backup damaged since it was written (a bad disk, a cut copy) is refused before anything is
    replaced; SQLite's backup API would otherwise copy the damaged file over the hub's good database."""
    import json
    import tarfile

    with tarfile.open(archive) as tar:
        members = [(info, tar.extractfile(info).read()) for info in tar.getmembers()]
    with tarfile.open(archive, "w") as tar:
        for info, data in members:
            if info.name.startswith("database."):
                data = bytes(byte ^ 0xFF for byte in data[:64]) + data[64:]
            elif info.name == "manifest.json" and made != "now":
                data = json.dumps({k: v for k, v in json.loads(data).items() if k != "database_sha256"}).encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    publish("public", title="备份之后的笔记")
    db.session.remove()

    result = app.test_cli_runner().invoke(args=["hub", "restore", str(archive), "--yes"])
    assert result.exit_code == 1 and "cannot be restored" in result.output and "Nothing was changed" in result.output, \
        result.output
    assert set(db.session.scalars(sa.select(Note.title))) == {"备份之后的笔记"}
    if db.engine.dialect.name == "sqlite":
        assert db.session.scalar(sa.text("PRAGMA integrity_check")) == "ok"


def test_notes_and_comments_after_a_restore_never_take_ids_given_out_since_the_backup(app, people, publish, archive):
    """The hub ran on after the backup: its newer note and comment reached partners as /ap/notes/<id> and
    /ap/comments/<id>. Restored in place, the hub gives new notes and comments ids after those, not them again."""
    from hub.models.discussion import Comment
    from hub.services import discussion

    since = publish("public", title="备份之后的笔记")
    comment = discussion.add_comment(since, by=people["author"], body="备份之后的评论")
    db.session.commit()
    gone = {"note": since.id, "comment": comment.id}
    people_ids = {role: person.id for role, person in people.items()}  # in the backup too
    db.session.remove()

    result = app.test_cli_runner().invoke(args=["hub", "restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 0
    people.update({role: db.session.get(type(people[role]), key) for role, key in people_ids.items()})

    again = publish("public", title="恢复之后的笔记")
    later = discussion.add_comment(again, by=people["author"], body="恢复之后的评论")
    db.session.commit()
    assert again.id > gone["note"] and later.id > gone["comment"]
    assert db.session.get(Comment, gone["comment"]) is None


def test_a_restore_killed_after_loading_the_database_is_refused_until_it_is_run_again(app, people, publish, archive,
                                                                                   tmp_path):
    """`flask hub restore` killed with SIGKILL once the backup's database is in, before the rest (schema upgrade,
    new identity, mail held, ids above those given out): nothing may use that half-restored database, every
    command says to run the restore again, and running it again finishes it as if it had never stopped."""
    from hub.schema_check import schema_state

    since = publish("public", title="备份之后的笔记")  # reached partners as /ap/notes/<id>
    identity, gone = database_identity(), since.id
    people_ids = {role: person.id for role, person in people.items()}  # in the backup too
    url = db.engine.url.render_as_string(hide_password=False)
    postgres = db.engine.dialect.name == "postgresql"
    db.session.remove()
    db.engine.dispose()
    env = {**hub_env(tmp_path / "instance"), "HUB_DATABASE_URL": url}
    restore = ["hub", "restore", "--yes", str(archive)]

    # the first statement after the load: the schema upgrade reading the restored database's revision
    killed = spawn.run([sys.executable, "-m", "tests.killed", "alembic_version",
                        *(["--after", "psql"] if postgres else []), *restore],
                       env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert set(db.session.scalars(sa.select(Note.title))) == set()  # the backup's database is in
    assert "was stopped before it finished" in schema_state().problem()
    db.session.remove()
    # The refusals are the commands' own checks of the database (no start-up check of the process comes
    # first), so this app's CLI runner reaches them without two more interpreters starting the hub; the
    # killed run above and the run again below are real processes.
    cli = app.test_cli_runner()
    init = cli.invoke(args=["hub", "init"])
    assert init.exit_code == 1 and "Nothing was changed" in init.stderr, init.output
    assert "run `flask hub restore` with that file again" in init.stderr and archive.name in init.stderr
    (tmp_path / "later").mkdir()
    copy = cli.invoke(args=["hub", "backup", str(tmp_path / "later")])
    assert copy.exit_code != 0 and "half restored" in copy.output, copy.output
    assert not list((tmp_path / "later").iterdir())  # no backup of the half passing for a whole database
    db.session.remove()
    db.engine.dispose()

    again = spawn.run([*FLASK, *restore], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert schema_state().ok and database_identity() != identity
    assert not list((tmp_path / "instance").glob(".hub-restore-*"))  # the killed run's unpacked backup is gone
    people.update({role: db.session.get(type(people[role]), key) for role, key in people_ids.items()})
    assert publish("public", title="恢复之后的笔记").id > gone


def test_a_backup_without_a_federation_key_keeps_the_hubs_own_key_and_says_so(app, tmp_path):
    """The key is made on first use: a backup from before it existed holds none. Restored on the hub that has
    one since, the key partners know this hub by stays, and the restore says it kept it."""
    key = tmp_path / "instance" / "federation_key.pem"
    key.unlink(missing_ok=True)
    (tmp_path / "backups").mkdir()
    made = app.test_cli_runner().invoke(args=["hub", "backup", str(tmp_path / "backups" / "b.tar")])
    assert made.exit_code == 0 and "federation_key.pem" not in made.output, made.output
    key.parent.mkdir(exist_ok=True)
    key.write_bytes(b"the key partners know")
    db.session.remove()

    result = app.test_cli_runner().invoke(args=["hub", "restore", str(tmp_path / "backups" / "b.tar"), "--yes"])
    assert result.exit_code == 0, result.output
    assert key.read_bytes() == b"the key partners know"
    assert "The backup holds no federation_key.pem: this hub's own was kept." in result.output
    assert "Partner hubs know this hub by that key" in result.output
