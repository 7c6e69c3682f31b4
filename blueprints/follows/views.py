"""Views of the Following page and the follow buttons: form -> hub.services.follows -> redirect."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from markupsafe import Markup

from blueprints.follows.forms import FREQUENCY_LABELS, KIND_LABELS, FollowForm, FrequencyForm
from blueprints.web import fragments
from blueprints.web.access import signed_in
from blueprints.web.common import me
from blueprints.web.fragments import memo
from blueprints.web.forms import NOTHING_SENT_BACK, ActionForm, SentBack, flash_unseen_errors, refusal
from blueprints.web.refusals import attempt
from blueprints.web.security import safe_next
from hub.mail import outbox
from hub.models import Follow
from hub.services import follows, notes, projects

bp = Blueprint("follows", __name__, template_folder="templates")
FILTER_PREFIX = "filter-"


def _search_filters(values: Any) -> dict[str, str]:
    """Return the saved search's filters a button sent as ``filter-<name>`` fields."""
    return {k[len(FILTER_PREFIX):]: v for k, v in values.items() if k.startswith(FILTER_PREFIX)}


def _target_of(form: FollowForm) -> follows.Target:
    return follows.target(form.kind.data or "", value=form.value.data or "", query=form.q.data or "",
                          filters=_search_filters(request.form))


@bp.get("/following")
@signed_in
def index():
    """List what the person follows, with how often each is mailed, and ways to follow more."""
    return _following_page()


def _following_page(sent_back: SentBack = NOTHING_SENT_BACK) -> str:
    """Render the Following page; ``sent_back`` is one of its "follow more" forms, refused, as it was posted."""
    user = me()
    locale = str(get_locale())
    items = follows.of(user)
    forms = {item.id: FrequencyForm(formdata=None, frequency=item.frequency, prefix=f"f{item.id}") for item in items}
    return render_template("follows/index.html", items=items, forms=forms, sent_back=sent_back,
                           action_form=ActionForm(), kinds=KIND_LABELS, frequencies=FREQUENCY_LABELS,
                           describe=lambda item: follows.describe(item, locale=locale),
                           topics=notes.terms("topic"), populations=notes.terms("population"),
                           projects=projects.all_projects(), hubs=follows.followable_hubs(),
                           mail_on=outbox.enabled(), has_email=bool(user.email))


@bp.post("/following")
@signed_in
def add():
    """Follow what a button or the Following page names; go back where the person was.

    Refused, a place the person wrote comes back on the Following page, with what is wrong;
    any other refusal (a choice, a button) is flashed on the page they were on.
    """
    form = FollowForm()
    if form.validate_on_submit():
        with attempt(form=form) as done:
            item = follows.follow(me(), _target_of(form), frequency=form.frequency.data or None)
        if done:
            back = safe_next(form.next.data, url_for("follows.index"))
            flash(_followed_message(item, on_following_page=back == url_for("follows.index")), "info")
            return redirect(back)
    if form.kind.data != "place" or form.next.data:
        flash(refusal(form), "error")
        return redirect(safe_next(form.next.data, url_for("follows.index")))
    flash_unseen_errors(form)
    return _following_page(SentBack(form, "place"))


def _followed_message(item: Follow, *, on_following_page: bool) -> str:
    """Say what following ``item`` will bring: what the Following page says, never a promise of mail.

    The Following page says itself why no mail can come (none sent yet, no address): there the
    message does not say it again.
    """
    what = follows.describe(item, locale=str(get_locale()))
    if on_following_page and not (outbox.enabled() and me().email):
        # i18n: flashed on the Following page (which says itself why no mail can come yet) after following something
        return _("You follow %(what)s.", what=what)
    if not outbox.enabled():
        return _("You follow %(what)s. This hub does not send e-mail yet: mails start once the administrator "
                 "sets up a mail server.", what=what)
    if not me().email:
        return _("You follow %(what)s. Your account has no e-mail address, so nothing can be mailed to you: "
                 "add one on your account page.", what=what)
    return _("You follow %(what)s. New notes come %(how)s by e-mail; change it under Following.",
             what=what, how=str(FREQUENCY_LABELS[item.frequency]).lower())


@bp.post("/following/<int:follow_id>")
@signed_in
def frequency(follow_id: int):
    """Change how often one follow is mailed."""
    form = FrequencyForm(prefix=f"f{follow_id}")
    if form.validate_on_submit():
        with attempt() as saved:
            follows.set_frequency(me(), follow_id, frequency=form.frequency.data)
        if saved:
            flash(_("Saved."), "info")
    else:
        flash(_("Choose how often to hear about it."), "error")
    return redirect(url_for("follows.index"))


@bp.post("/following/<int:follow_id>/remove")
@signed_in
def remove(follow_id: int):
    """Stop following one thing."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as removed:
        follows.unfollow(me(), follow_id)
    if removed:
        flash(_("You no longer follow it."), "info")
    return redirect(safe_next(request.form.get("next"), url_for("follows.index")))


# Kinds whose key comes from a row (a term's, a project's, a hub's id): rows readers see, so the
# content version keys them (blueprints/web/fragments.py, memo); the others' keys need no statement.
KEYS_FROM_ROWS = ("topic", "population", "project", "hub")


@bp.app_template_global()
def follow_of(kind: str, value: str = "", query: str = "", filters: dict[str, str] | None = None) -> Follow | None:
    """Return the signed-in person's follow of this thing, for a follow button (None when not following)."""
    if not current_user.is_authenticated:
        return None
    if kind in KEYS_FROM_ROWS:
        key = memo("follow-key", kind, value, compute=lambda: follows.target_key(kind, value=value))
    else:
        key = follows.target_key(kind, value=value, query=query, filters=filters)
    return follows.find_key(me(), key) if key else None


def follow_button(kind: str, value: str) -> Markup:
    """Return the reader's follow button of a topic or project (a part of pages of its own: their follows, their token)."""
    return Markup(render_template("follows/_button_part.html", kind=kind, value=value))


@bp.record_once
def _register_part(_state: Any) -> None:
    fragments.personal_part("follow", follow_button)
