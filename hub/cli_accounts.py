"""``flask hub set-password``: a new password for an account, from the server's command line."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from hub.cli import hub_cli


@hub_cli.command("set-password")
@click.argument("login")
@click.password_option("--password", prompt="New password", help="Asked for when not given.")
@with_appcontext
def set_password_command(login: str, password: str) -> None:
    """Give the account LOGIN (username or e-mail) a new password, e.g. a forgotten demo password.

    Every browser signed in to that account is signed out; the change is in the audit log.
    """
    from hub.services import accounts
    from hub.services.errors import ServiceError

    user = accounts.find_by_login(login)
    if user is None:
        raise click.BadParameter(f"no account {login!r}", param_hint="LOGIN")
    try:
        accounts.set_password(user, password)
    except ServiceError as error:
        raise click.BadParameter(str(error.message), param_hint="--password") from None
    click.echo(f"New password set for {user.username}; its browsers were signed out.")
