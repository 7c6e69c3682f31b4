"""``flask hub import-notes`` and ``flask hub export-notes``: notes in and out as JSON Lines.

On a terminal both show progress on standard error (count, rate, time left, with Click's progress
bar); when standard error is a file or a pipe they print only their summary.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click
from flask.cli import with_appcontext

from hub.cli import hub_cli

if TYPE_CHECKING:
    from hub.services.transfer import ImportReport


@contextmanager
def progress_bar(total: int, *, label: str, unit: str, stream: IO[str] | None = None
                 ) -> Iterator[Callable[[int], None] | None]:
    """Yield a callback that shows how far a long job is (``done`` of ``total``), or None off a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty() or total <= 0:
        yield None
        return
    started, done_so_far = time.monotonic(), [0]

    def rate(_item) -> str:
        elapsed = time.monotonic() - started
        return f"{done_so_far[0] / elapsed:,.0f} {unit}/s" if elapsed > 0 and done_so_far[0] else ""

    with click.progressbar(length=total, label=label, file=stream, show_eta=True, show_pos=True,
                           item_show_func=rate) as bar:
        def advance(done: int) -> None:
            step = max(0, min(done, total) - done_so_far[0])
            done_so_far[0] += step
            bar.update(step)
        yield advance


def _count_lines(path: Path) -> int:
    """Return how many lines ``path`` has (reading bytes: fast, whatever the encoding)."""
    with path.open("rb") as stream:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))


@hub_cli.command("import-notes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--create-missing", is_flag=True,
              help="Create unknown projects and topics instead of skipping their lines: titled with the "
                   "given name, under a short name made from it.")
@click.option("--default-author", metavar="PSEUDONYM",
              help="Author of the lines that name none (a line's own author is never replaced).")
@click.option("--allow-personal-data", is_flag=True,
              help="Import lines in which the privacy check finds phone or ID numbers, e-mails or listed words.")
@click.option("--dry-run", is_flag=True, help="Check every line and report; write nothing.")
@with_appcontext
def import_notes_command(file: Path, create_missing: bool, default_author: str | None,
                         allow_personal_data: bool, dry_run: bool) -> None:
    """Import FILE (JSON Lines, one note per line) as published notes; bad lines are reported and skipped.

    A line's source_id (the partner's own id) makes running the same file again safe: lines already
    imported are left as they are. Exits with status 1 when any line was skipped.
    """
    from hub.services import transfer
    from hub.services.errors import ServiceError

    try:
        with progress_bar(_count_lines(file), label="Importing", unit="lines") as progress:
            report = transfer.import_notes(file, create_missing=create_missing, default_author=default_author,
                                           allow_personal_data=allow_personal_data, dry_run=dry_run,
                                           progress=progress)
    except ServiceError as error:
        raise click.BadParameter(str(error.message), param_hint="--default-author") from None
    except transfer.ImportInterrupted as stopped:
        _echo_report(stopped.report)
        raise click.ClickException(str(stopped)) from None
    _echo_report(report)
    if report.skipped:
        click.get_current_context().exit(1)


def _echo_report(report: ImportReport) -> None:
    """Print each skipped line, what was created, and the totals."""
    for problem in report.problems:
        click.echo(str(problem), err=True)
    verb = "would create" if report.dry_run else "created"
    for kind, slugs in (("project", report.created_projects), ("topic", report.created_topics)):
        for slug in slugs:
            title = report.titles.get(slug, slug)
            if title == slug:
                click.echo(f"{verb} {kind} {slug!r} (named by its slug; rename it in the admin pages)")
            else:
                click.echo(f"{verb} {kind} {slug!r} titled {title!r}")
    notes, lines = _count(report.imported, "note"), _count(report.skipped, "line")
    already = f", {_count(report.already, 'line')} already in the hub (by source_id) left as they are" \
        if report.already else ""
    if report.dry_run:
        click.echo(f"Dry run: {notes} would be imported, {lines} skipped{already}; nothing was written.")
    else:
        click.echo(f"Imported {notes}, skipped {lines}{already}.")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@hub_cli.command("export-notes")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@click.option("--public-only", is_flag=True, help="Export only the notes anonymous visitors may read.")
@with_appcontext
def export_notes_command(file: str, public_only: bool) -> None:
    """Write every published note to FILE as JSON Lines ("-" for standard output), with its id, URL and source_id.

    Without --public-only the file also holds members- and partners-only notes: keep it private.
    """
    from hub.services import transfer

    viewer = None if public_only else transfer.HUB_VIEWER
    if file == "-":
        with click.open_file("-", "w", encoding="utf-8") as stdout:  # UTF-8 whatever the terminal's locale
            transfer.export_notes(stdout, viewer=viewer)
        return
    with progress_bar(transfer.count_exported(viewer=viewer), label="Exporting", unit="notes") as progress:
        written = transfer.export_notes(file, viewer=viewer, progress=progress)
    audience = "public only" if public_only else "every visibility"
    click.echo(f"Exported {_count(written, 'published note')} ({audience}) to {file}.")
