"""``flask hub import-notes`` and ``flask hub export-notes``: notes in and out as JSON Lines."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask.cli import with_appcontext

from hub.cli import hub_cli

if TYPE_CHECKING:
    from hub.services.transfer import ImportReport


@hub_cli.command("import-notes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--create-missing", is_flag=True,
              help="Create unknown projects and topics (named by their slug) instead of skipping their lines.")
@click.option("--default-author", metavar="PSEUDONYM",
              help="Author of the lines that name none (a line's own author is never replaced).")
@click.option("--allow-personal-data", is_flag=True,
              help="Import lines in which the privacy check finds phone or ID numbers, e-mails or listed words.")
@click.option("--dry-run", is_flag=True, help="Check every line and report; write nothing.")
@with_appcontext
def import_notes_command(file: Path, create_missing: bool, default_author: str | None,
                         allow_personal_data: bool, dry_run: bool) -> None:
    """Import FILE (JSON Lines, one note per line) as published notes; bad lines are reported and skipped.

    Exits with status 1 when any line was skipped.
    """
    from hub.services import transfer
    from hub.services.errors import ServiceError

    try:
        report = transfer.import_notes(file, create_missing=create_missing, default_author=default_author,
                                       allow_personal_data=allow_personal_data, dry_run=dry_run)
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
    for slug in report.created_projects:
        click.echo(f"{verb} project {slug!r} (named by its slug; rename it in the admin pages)")
    for slug in report.created_topics:
        click.echo(f"{verb} topic {slug!r} (named by its slug; rename it in the admin pages)")
    notes, lines = _count(report.imported, "note"), _count(report.skipped, "line")
    if report.dry_run:
        click.echo(f"Dry run: {notes} would be imported, {lines} skipped; nothing was written.")
    else:
        click.echo(f"Imported {notes}, skipped {lines}.")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@hub_cli.command("export-notes")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@click.option("--public-only", is_flag=True, help="Export only the notes anonymous visitors may read.")
@with_appcontext
def export_notes_command(file: str, public_only: bool) -> None:
    """Write every published note to FILE as JSON Lines ("-" for standard output).

    Without --public-only the file also holds members- and partners-only notes: keep it private.
    """
    from hub.services import transfer

    viewer = None if public_only else transfer.HUB_VIEWER
    if file == "-":
        with click.open_file("-", "w", encoding="utf-8") as stdout:  # UTF-8 whatever the terminal's locale
            transfer.export_notes(stdout, viewer=viewer)
        return
    written = transfer.export_notes(file, viewer=viewer)
    audience = "public only" if public_only else "every visibility"
    click.echo(f"Exported {_count(written, 'published note')} ({audience}) to {file}.")
