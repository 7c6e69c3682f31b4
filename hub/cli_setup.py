"""``flask hub create-project`` and ``flask hub invite``: set up a new hub from the command line.

With ``create-admin`` (hub/cli.py) they take a fresh hub from an empty database to its first
project and its first moderator without a browser: the invitation link is printed once (only its
hash is stored) for the admin to hand over privately.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from hub.cli import acting_account, hub_cli
from hub.models.user import Role


@hub_cli.command("create-project")
@click.option("--slug", required=True, help="Short name in addresses: lower-case letters, digits, dashes.")
@click.option("--name-zh", default="", help="Name in Chinese.")
@click.option("--name-en", default="", help="Name in English.")
@click.option("--city", default="")
@click.option("--province", default="")
@click.option("--country", default="CN", show_default=True)
@with_appcontext
def create_project_command(slug: str, name_zh: str, name_en: str, city: str, province: str, country: str) -> None:
    """Create a project (people and notes belong to one)."""
    from hub.services import projects
    from hub.services.errors import ServiceError

    try:
        project = projects.save(projects.ProjectData(slug=slug, name_zh=name_zh, name_en=name_en, city=city,
                                                     province=province, country=country), by=None)
    except ServiceError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    click.echo(f"Project {project.slug} created.")


@hub_cli.command("invite")
@click.option("--role", type=click.Choice([role.value for role in Role]), default=Role.MEMBER.value,
              show_default=True)
@click.option("--project", "slug", default="", help="Slug of the project the person joins.")
@click.option("--days", type=int, default=None, help="Days the link is valid (default HUB_INVITATION_DAYS).")
@click.option("--as", "username", required=True, help="Username of the admin or moderator inviting (audited).")
@with_appcontext
def invite_command(role: str, slug: str, days: int | None, username: str) -> None:
    """Create an invitation and print its link (shown this once; hand it over privately)."""
    from hub.services import accounts, projects
    from hub.services.errors import ServiceError

    inviter = acting_account(username, "invite", "an administrator or moderator")
    project = projects.by_slug(slug) if slug else None
    if slug and project is None:
        raise click.UsageError(f"No project {slug!r}: create it with flask hub create-project.")
    try:
        invitation, token = accounts.create_invitation(by=inviter, role=Role(role), project=project, days=days)
    except ServiceError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    click.echo(f"Invitation for a {role}, valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC:")
    click.echo(invitation_link(token))


def invitation_link(token: str) -> str:
    """Return the public address of an invitation (built from HUB_BASE_URL, as pages build it)."""
    from urllib.parse import urlsplit

    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build("auth.accept_invitation", {"token": token}, force_external=True)
