"""``flask hub mail-status``, ``mail-retry`` and ``mail-test``: the mail queue and the server, from the shell."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from hub.cli import hub_cli


@hub_cli.command("mail-status")
@with_appcontext
def mail_status_command() -> None:
    """Print the mail settings in use (no password), the queue by state and the mails given up lately."""
    from hub.mail import outbox

    cfg = current_app.config
    if not outbox.enabled():
        click.echo("mail: off (HUB_MAIL_SERVER is not set; reset links go to the server log)")
        return
    security = "SSL" if cfg["MAIL_USE_SSL"] else "STARTTLS" if cfg["MAIL_USE_TLS"] else "none"
    click.echo(f"mail: {cfg['MAIL_SERVER']}:{cfg['MAIL_PORT']} (security: {security}, "
               f"log-in: {'yes' if cfg['MAIL_USERNAME'] else 'no'})")
    counts = outbox.stats()
    click.echo("queue: " + (", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "empty"))
    for mail in outbox.given_up(limit=10):
        click.echo(f"  given up: #{mail.id} {mail.kind} after {mail.attempts} tries: {mail.last_error}")


@hub_cli.command("mail-retry")
@with_appcontext
def mail_retry_command() -> None:
    """Queue the mails that were given up again (after fixing what the server refused)."""
    from hub.mail import outbox

    click.echo(f"{outbox.retry_dead()} mails queued again")


@hub_cli.command("mail-test")
@click.argument("address")
@with_appcontext
def mail_test_command(address: str) -> None:
    """Send one test mail to ADDRESS now, to check the HUB_MAIL_* settings (exits 1 when it fails)."""
    from hub.mail import sending

    try:
        sending.send_test(address)
    except sending.TestFailed as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"sent to {address}")
