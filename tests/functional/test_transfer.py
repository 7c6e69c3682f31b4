"""Importing and exporting notes as JSON Lines, through ``flask hub import-notes|export-notes`` and the service."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub import events
from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.events import Event
from hub.models import Note, NoteRevision, Term
from hub.models.project import Project
from hub.models.user import Role
from hub.services import notes, projects, transfer, vocabulary
from hub.text import html_line
from tests.helpers import count

GOOD = {
    "title": "门诊里的同伴值班", "summary": "同伴教育员每天在美沙酮门诊值班两小时。",
    "body": "## 背景\n\n服务对象服药后马上离开。\n\n- 热水\n- 早餐", "language": "zh_Hans",
    "project": "chengdu-peer-centre", "topics": ["oat", "peer-education"], "tags": ["门诊", "winter"],
    "visibility": "public", "published_at": "2024-05-01T08:30:00Z", "author": "小李",
}


DROP = object()  # a change that removes the field from the line


def line(**changes) -> str:
    """Return a good note as one JSON line, with ``changes`` applied."""
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not DROP}, ensure_ascii=False)


def write(tmp_path: Path, lines: list[str], name: str = "notes.jsonl") -> Path:
    """Write ``lines`` to a JSON Lines file and return its path."""
    path = tmp_path / name
    path.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    return path


pytestmark = pytest.mark.postgres


@pytest.fixture
def app(any_db_app):
    """Run every test here on SQLite and on PostgreSQL: the import writes with bulk INSERT ... RETURNING."""
    return any_db_app


@pytest.fixture(autouse=True)
def hub_with_people(app, project, contributor):
    """Seed the vocabulary; the project fixture and the contributor 小李 are the authors' home."""
    vocabulary.seed()


def published_events() -> list[Event]:
    """Return the note.published events, oldest first."""
    return list(db.session.scalars(sa.select(Event).where(Event.kind == "note.published").order_by(Event.id)))


def test_import_publishes_each_note_with_its_revision_and_one_event(runner, tmp_path):
    lines = [line(title=f"Note {n}", language="en", published_at="2024-05-01T16:30:00+08:00") for n in range(3)]
    result = runner.invoke(args=["hub", "import-notes", str(write(tmp_path, lines))])
    assert result.exit_code == 0, result.output
    assert "Imported 3 notes, skipped 0 lines." in result.output
    imported = list(db.session.scalars(sa.select(Note).order_by(Note.id)))
    assert [n.state for n in imported] == ["published"] * 3
    assert [e.subject_id for e in published_events()] == [n.id for n in imported]
    note = imported[0]
    assert note.published_at == dt.datetime(2024, 5, 1, 8, 30)  # stored as naive UTC
    assert note.author.pseudonym == "小李" and note.project.slug == "chengdu-peer-centre"
    assert [t.slug for t in note.topics] == ["oat", "peer-education"] and note.tags == ["门诊", "winter"]
    assert "<h2>背景</h2>" in note.body_html and "<li>热水</li>" in note.body_html
    assert note.body_text == html_line(note.body_html)  # written in bulk, kept as the model keeps it
    assert [(r.number, r.body) for r in note.revisions] == [(1, note.body)]


def test_bad_lines_are_reported_by_number_and_skipped_while_good_lines_import(runner, tmp_path):
    lines = [
        line(title="good one"),
        '{"title": "broken",',
        line(title=DROP),
        line(title="unknown topic", topics=["xyz"]),
        line(title="bad language", language="fr"),
        line(title="bad visibility", visibility="everyone"),
        line(title="unknown author", author="Nobody"),
        line(title="bad date", published_at="last Tuesday"),
        '["not", "an", "object"]',
        line(title="good two"),
        line(title="unknown field", titel="typo"),
    ]
    result = runner.invoke(args=["hub", "import-notes", str(write(tmp_path, lines))])
    assert result.exit_code == 1
    for expected in ("line 2: not valid JSON (Expecting property name enclosed in double quotes at column 20)", "line 3: missing title", "line 4: unknown topic 'xyz'",
                     "line 5: language must be one of zh_Hans, en", "line 6: visibility must be one of",
                     "line 7: unknown author 'Nobody'", "line 8: published_at 'last Tuesday' is not an ISO 8601",
                     "line 9: expected a JSON object", "line 11: unknown field 'titel'"):
        assert expected in result.output
    assert "Imported 2 notes, skipped 9 lines." in result.output
    assert sorted(db.session.scalars(sa.select(Note.title))) == ["good one", "good two"]
    assert count(NoteRevision) == 2 and len(published_events()) == 2


def test_unknown_project_is_reported_without_create_missing(runner, tmp_path):
    result = runner.invoke(args=["hub", "import-notes", str(write(tmp_path, [line(project="new-team")]))])
    assert "line 1: unknown project 'new-team'; create it first, or pass --create-missing" in result.output
    assert count(Note) == 0 and projects.by_slug("new-team") is None


def test_create_missing_creates_the_project_and_topic_once(runner, tmp_path):
    lines = [line(title=f"n{n}", project="kunming-outreach", topics=["chemsex", "nsp"]) for n in range(2)]
    result = runner.invoke(args=["hub", "import-notes", "--create-missing", str(write(tmp_path, lines))])
    assert result.exit_code == 0, result.output
    assert "created project 'kunming-outreach'" in result.output and "created topic 'chemsex'" in result.output
    project = projects.by_slug("kunming-outreach")
    assert (project.name_zh, project.name_en) == ("kunming-outreach", "kunming-outreach")
    assert vocabulary.by_slug("topic", "chemsex") is not None
    assert count(Note, Note.project_id == project.id) == 2
    assert count(AuditEntry, AuditEntry.action == "project.create") == 2  # the fixture's and this one


def test_create_missing_derives_a_short_name_from_any_name_and_keeps_the_name_as_title(runner, tmp_path):
    lines = [line(title="a", project="People's Daily 1998", topics=["图片新闻", "Not a slug!"]),
             line(title="b", project="人民日报"), line(title="c", project="People's Daily 1998"),
             line(title="d", project="成都同伴支持服务中心"), line(title="e", project="！！")]
    result = runner.invoke(args=["hub", "import-notes", "--create-missing", str(write(tmp_path, lines))])
    assert result.exit_code == 0, result.output
    assert "created project 'peoples-daily-1998' titled \"People's Daily 1998\"" in result.output
    daily = projects.by_slug("peoples-daily-1998")
    assert (daily.name_zh, daily.name_en) == ("People's Daily 1998", "People's Daily 1998")
    assert count(Note, Note.project_id == daily.id) == 2  # a later line naming it again finds it
    assert projects.by_slug("ren-min-ri-bao").name_zh == "人民日报"
    assert projects.by_slug("project").name_en == "！！"  # nothing to transliterate: a plain name
    assert vocabulary.by_slug("topic", "tu-pian-xin-wen").name_zh == "图片新闻"
    assert vocabulary.by_slug("topic", "not-a-slug").name_en == "Not a slug!"
    assert db.session.scalar(sa.select(Note).where(Note.title == "d")).project.slug == "chengdu-peer-centre"


def test_a_derived_short_name_never_takes_another_projects(runner, tmp_path):
    projects.save(projects.ProjectData(slug="ren-min-ri-bao", name_zh="另一个项目", name_en="Another"), by=None)
    result = runner.invoke(args=["hub", "import-notes", "--create-missing",
                                 str(write(tmp_path, [line(project="人民日报")]))])
    assert result.exit_code == 0, result.output
    assert projects.by_slug("ren-min-ri-bao-2").name_zh == "人民日报"


def test_dry_run_checks_everything_and_writes_nothing(runner, tmp_path):
    tables = (Note, NoteRevision, Event, Project, Term, AuditEntry)
    before = [count(model) for model in tables]
    lines = [line(project="new-team", topics=["chemsex"]), line(title=DROP)]
    result = runner.invoke(args=["hub", "import-notes", "--dry-run", "--create-missing",
                                 str(write(tmp_path, lines))])
    assert "line 2: missing title" in result.output
    assert "would create project 'new-team'" in result.output and "would create topic 'chemsex'" in result.output
    assert "Dry run: 1 note would be imported, 1 line skipped; nothing was written." in result.output
    assert [count(model) for model in tables] == before


def test_round_trip_export_import_export_gives_identical_lines_but_ids(runner, make_app, make_user, tmp_path):
    lines = [line(title="中文笔记"), line(title="English note", language="en", topics=[], tags=[],
                                        visibility="members", published_at="2023-12-31T23:59:59.250000Z"),
             line(title="No project", project=DROP, visibility="partners"),
             line(title="Explicitly none", project=None)]
    assert runner.invoke(args=["hub", "import-notes", str(write(tmp_path, lines))]).exit_code == 0
    first = tmp_path / "first.jsonl"
    assert runner.invoke(args=["hub", "export-notes", str(first)]).exit_code == 0
    other = make_app()
    with other.app_context():
        vocabulary.seed()
        home = projects.save(projects.ProjectData(slug="chengdu-peer-centre", name_zh="成都", name_en="Chengdu"),
                             by=None)
        make_user("lee", role=Role.CONTRIBUTOR, pseudonym="小李", project=home)
        assert other.test_cli_runner().invoke(args=["hub", "import-notes", str(first)]).exit_code == 0
        second = tmp_path / "second.jsonl"
        assert other.test_cli_runner().invoke(args=["hub", "export-notes", str(second)]).exit_code == 0
    exported = first.read_text(encoding="utf-8").splitlines()
    again = [json.loads(text) for text in second.read_text(encoding="utf-8").splitlines()]
    here = ("id", "url", "source_id")
    assert [{k: v for k, v in json.loads(t).items() if k not in here} for t in exported] == \
        [{k: v for k, v in record.items() if k not in here} for record in again]
    # The second hub knows where each note came from: the first hub's page of it.
    assert [r["source_id"] for r in again] == [json.loads(t)["url"] for t in exported]
    assert len(exported) == 4 and "中文笔记" in exported[0]  # UTF-8 text, not \\u escapes
    by_title = {record["title"]: record for record in map(json.loads, exported)}
    assert by_title["中文笔记"]["url"] == f"http://hub.test/notes/{by_title['中文笔记']['id']}"
    assert by_title["No project"]["project"] == "chengdu-peer-centre"  # absent: the author's project
    assert by_title["Explicitly none"]["project"] is None
    assert by_title["English note"]["published_at"] == "2023-12-31T23:59:59.250000Z"
    assert {k: v for k, v in by_title["中文笔记"].items() if k not in ("id", "url")} == {
        **json.loads(lines[0]), "source_id": None}


def test_drafts_and_submissions_are_never_exported(runner, contributor, tmp_path):
    runner.invoke(args=["hub", "import-notes", str(write(tmp_path, [line(title="published")]))])
    notes.create_draft(author=contributor, data=notes.NoteInput(title="draft", summary="s", body="b"))
    submitted = notes.create_draft(author=contributor,
                                   data=notes.NoteInput(title="submitted", summary="s", body="b"))
    notes.submit(submitted, by=contributor)
    out = io.StringIO()
    assert transfer.export_notes(out, viewer=transfer.HUB_VIEWER) == 1
    assert [json.loads(text)["title"] for text in out.getvalue().splitlines()] == ["published"]


def test_export_reads_as_an_anonymous_visitor_unless_told_otherwise(runner, tmp_path):
    lines = [line(title=v, visibility=v) for v in ("members", "partners", "public")]
    runner.invoke(args=["hub", "import-notes", str(write(tmp_path, lines))])
    public = io.StringIO()
    transfer.export_notes(public)
    assert [json.loads(text)["title"] for text in public.getvalue().splitlines()] == ["public"]
    result = runner.invoke(args=["hub", "export-notes", "--public-only", str(tmp_path / "public.jsonl")])
    assert "Exported 1 published note (public only)" in result.output
    result = runner.invoke(args=["hub", "export-notes", str(tmp_path / "all.jsonl")])
    assert "Exported 3 published notes (every visibility)" in result.output
    assert os.stat(tmp_path / "all.jsonl").st_mode & 0o077 == 0  # members-only text: owner only


def test_script_in_a_body_is_sanitised_in_the_rendered_html(runner, tmp_path):
    body = "Before <script>alert('x')</script> after [click](javascript:alert(1))"
    runner.invoke(args=["hub", "import-notes", str(write(tmp_path, [line(body=body)]))])
    note = db.session.scalar(sa.select(Note))
    assert note.body == body
    assert "<script" not in note.body_html and 'href="javascript' not in note.body_html
    assert "&lt;script&gt;" in note.body_html


def test_default_author_fills_only_lines_without_an_author(runner, make_user, tmp_path):
    make_user("moder", role=Role.MODERATOR, pseudonym="山风")
    lines = [line(title="anonymous", author=DROP), line(title="stranger", author="Nobody")]
    result = runner.invoke(args=["hub", "import-notes", "--default-author", "山风", str(write(tmp_path, lines))])
    assert "line 2: unknown author 'Nobody'" in result.output
    assert db.session.scalar(sa.select(Note)).author.pseudonym == "山风"


def test_missing_author_without_a_default_is_a_bad_line(runner, tmp_path):
    result = runner.invoke(args=["hub", "import-notes", str(write(tmp_path, [line(author=DROP)]))])
    assert "line 1: missing author" in result.output and count(Note) == 0


def test_an_unknown_default_author_stops_before_reading_the_file(runner, tmp_path):
    result = runner.invoke(args=["hub", "import-notes", "--default-author", "Nobody",
                                 str(write(tmp_path, [line()]))])
    assert result.exit_code == 2 and "Nobody" in result.output and count(Note) == 0


def test_personal_data_is_skipped_unless_the_admin_allows_it(runner, tmp_path):
    path = write(tmp_path, [line(body="有事打 13812345678 找我")])
    result = runner.invoke(args=["hub", "import-notes", str(path)])
    assert "line 1: may contain personal data (phone number in body)" in result.output
    assert "13812345678" not in result.output and count(Note) == 0
    result = runner.invoke(args=["hub", "import-notes", "--allow-personal-data", str(path)])
    assert result.exit_code == 0 and count(Note) == 1


def test_importing_a_file_with_source_ids_again_adds_nothing(runner, tmp_path):
    path = write(tmp_path, [line(title="a", source_id="pd-1998/1"), line(title="b", source_id="pd-1998/2")])
    runner.invoke(args=["hub", "import-notes", str(path)])
    result = runner.invoke(args=["hub", "import-notes", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 0 notes, skipped 0 lines, 2 lines already in the hub (by source_id) left as they are." \
        in result.output
    assert count(Note) == 2 and len(published_events()) == 2
    assert sorted(db.session.scalars(sa.select(Note.source_id))) == ["pd-1998/1", "pd-1998/2"]


def test_lines_without_source_id_are_all_imported_even_with_the_same_title_and_date(runner, tmp_path):
    captions = [line(title="图片新闻", body=f"第 {n} 张照片。") for n in range(28)]
    result = runner.invoke(args=["hub", "import-notes", str(write(tmp_path, captions))])
    assert result.exit_code == 0 and "Imported 28 notes, skipped 0 lines." in result.output
    assert count(Note, Note.title == "图片新闻") == 28


def test_blank_lines_a_bom_and_windows_line_ends_are_accepted_but_not_broken_utf8(runner, tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line(title="a").encode() + b"\r\n\r\n"
                     + b'{"title": "\xff"}\r\n' + line(title="b").encode() + b"\r\n")
    result = runner.invoke(args=["hub", "import-notes", str(path)])
    assert "line 3: not UTF-8 text" in result.output
    assert "Imported 2 notes, skipped 1 line." in result.output


def test_a_failing_batch_leaves_no_note_without_its_event(app, tmp_path, monkeypatch):
    calls = 0
    record = events.record

    def failing_record(kind, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 3:  # the first note of the second batch
            raise RuntimeError("disk full")
        return record(kind, **kwargs)

    monkeypatch.setattr(events, "record", failing_record)
    lines = [line(title=f"n{n}", source_id=f"src-{n}") for n in range(5)]
    with pytest.raises(transfer.ImportInterrupted, match="stopped at line 3 .*the 2 notes before it"):
        transfer.import_notes(write(tmp_path, lines), batch_size=2)
    assert sorted(db.session.scalars(sa.select(Note.title))) == ["n0", "n1"]
    assert [e.subject_id for e in published_events()] == list(db.session.scalars(sa.select(Note.id)
                                                                                  .order_by(Note.id)))
    monkeypatch.setattr(events, "record", record)
    report = transfer.import_notes(write(tmp_path, lines), batch_size=2)
    assert (report.imported, report.already, report.skipped) == (3, 2, 0)  # the rerun adds only what was missing


def test_a_source_id_repeated_within_the_file_is_imported_once(runner, tmp_path):
    lines = [line(source_id="x-1"), line(tags=["other"], source_id="x-1")]
    result = runner.invoke(args=["hub", "import-notes", str(write(tmp_path, lines))])
    assert "line 2: repeats the source_id of line 1" in result.output and result.exit_code == 1
    assert count(Note) == 1


def test_export_to_standard_output(runner, tmp_path):
    runner.invoke(args=["hub", "import-notes", str(write(tmp_path, [line(visibility="members")]))])
    result = runner.invoke(args=["hub", "export-notes", "-"])
    exported = json.loads(result.output)
    assert result.exit_code == 0 and exported["url"] == f"http://hub.test/notes/{exported['id']}"
    assert {k: v for k, v in exported.items() if k not in ("id", "url")} == {
        **json.loads(line(visibility="members")), "source_id": None}


def test_long_jobs_show_count_rate_and_time_left_on_a_terminal_only():
    from hub.cli_notes import progress_bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with progress_bar(3131, label="Importing", unit="lines", stream=screen) as advance:
        advance(1000)
        time.sleep(1.1)  # Click estimates the time left from what took at least a second
        advance(2000)
        advance(3131)
    shown = screen.getvalue()
    assert "Importing" in shown and "2000/3131" in shown and "3131/3131" in shown
    assert re.search(r"2000/3131\s+\d\d:\d\d:\d\d\s+[\d,]+ lines/s", shown), shown  # count, time left, rate
    with progress_bar(3131, label="Importing", unit="lines", stream=io.StringIO()) as advance:
        assert advance is None  # a file or a pipe gets no progress lines


def test_the_import_reports_progress_as_it_reads(tmp_path):
    seen = []
    transfer.import_notes(write(tmp_path, [line(title=f"n{n}") for n in range(250)]), progress=seen.append)
    assert seen == [100, 200, 250]


def test_an_over_long_tag_is_a_bad_line_never_a_cut_tag(runner, tmp_path):
    whole = "冬" * notes.TAG_LENGTH
    lines = [line(title="tag too long", tags=["门诊", "冬" * (notes.TAG_LENGTH + 1)]), line(title="tag at the limit", tags=[whole])]
    result = runner.invoke(args=["hub", "import-notes", str(write(tmp_path, lines))])
    assert "line 1: tags: A tag has at most 40 characters" in result.output
    assert "Imported 1 note, skipped 1 line." in result.output
    db.session.expire_all()
    assert list(db.session.execute(sa.select(Note.title, Note.tags))) == [("tag at the limit", [whole])]


def test_a_new_project_or_topic_name_too_long_to_keep_is_a_bad_line(runner, tmp_path):
    lines = [line(title="long project", project="新" * (transfer.PROJECT_NAME_LENGTH + 1)),
             line(title="long topic", topics=["题" * (transfer.TERM_NAME_LENGTH + 1)]),
             line(title="at the limits", project="新" * transfer.PROJECT_NAME_LENGTH,
                  topics=["题" * transfer.TERM_NAME_LENGTH])]
    result = runner.invoke(args=["hub", "import-notes", "--create-missing", str(write(tmp_path, lines))])
    assert "line 1: project name" in result.output and "line 2: topic name" in result.output
    assert "Imported 1 note, skipped 2 lines." in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(Project.name_zh).where(Project.name_zh.startswith("新"))) == \
        "新" * transfer.PROJECT_NAME_LENGTH
    assert db.session.scalar(sa.select(Term.name_en).where(Term.name_en.startswith("题"))) == \
        "题" * transfer.TERM_NAME_LENGTH
