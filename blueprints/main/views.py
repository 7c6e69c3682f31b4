"""Views of the public pages."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from flask_login import current_user

from blueprints.web.access import public
from blueprints.web.fragments import deferred, page
from hub.permissions import can
from hub.services import accounts
from hub.services import projects as project_service
from hub.services import listing, stats, translations

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
@public
@page("home", shared=True, members=True)
def index():
    """Show what the hub is and what happened lately."""
    # All deferred: the page's content is a cached fragment, and a cached page asks none of this.
    projects = deferred(project_service.all_projects)
    featured = deferred(listing.newest, viewer=current_user, limit=4, filters=listing.Filters(featured=True))
    newest = deferred(listing.newest, viewer=current_user, limit=6)
    # A member who may not write is told whom to ask for the contributor role (the same for the whole role).
    ask = deferred(lambda: accounts.administrators()
                   if current_user.is_authenticated and not can(current_user, "write_notes") else [])
    return render_template(
        "main/index.html", projects=projects, ask=ask, counts=deferred(stats.counts, viewer=current_user),
        featured=featured, newest=newest, recent=deferred(stats.recent_activity, viewer=current_user, limit=5),
        versions=deferred(lambda: translations.published_versions(
            [*featured, *newest], locale=str(get_locale()), viewer=current_user)))


@bp.get("/projects")
@public
def projects():
    """List the projects on this hub."""
    return render_template("main/projects.html", projects=project_service.all_projects())


@bp.get("/projects/<slug>")
@public
def project(slug: str):
    """Show a project and its members' pseudonyms."""
    item = project_service.by_slug(slug)
    if item is None:
        abort(404)
    notes = listing.newest(viewer=current_user, limit=20, filters=listing.Filters(project=item.slug))
    return render_template("main/project.html", project=item, members=project_service.public_members(item, viewer=current_user),
                           notes=notes, versions=translations.published_versions(
                               notes, locale=str(get_locale()), viewer=current_user))
