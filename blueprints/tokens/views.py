"""Views of the token pages: thin wrappers over hub.services.api_tokens (which audits).

A token's secret is shown once, on the page that answers the form that made it, and never put in
a flash message (the session cookie is signed, not encrypted) nor in a redirect.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from blueprints.tokens.forms import TokenForm
from blueprints.web.access import requires, signed_in
from blueprints.web.common import me, public_url
from blueprints.web.forms import ActionForm
from blueprints.web.refusals import attempt
from hub.extensions import db
from hub.models import ApiToken, PeerHub, TokenKind
from hub.services import api_tokens

bp = Blueprint("tokens", __name__, template_folder="templates")


def _secret_page(template: str, **context):
    """Render a page that may hold a secret: no cache may keep it."""
    return render_template(template, **context), 200, {"Cache-Control": "no-store"}


def _account_page(form: TokenForm, *, secret: str | None = None, feed_url: str | None = None):
    return _secret_page("tokens/account.html", form=form, secret=secret, feed_url=feed_url,
                        tokens=api_tokens.tokens_of(me()), feeds=api_tokens.tokens_of(me(), TokenKind.FEED),
                        button=ActionForm())


@bp.route("/account/tokens", methods=["GET", "POST"])
@signed_in
def account():
    """List the person's API tokens and feed address, and make a new token."""
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        with attempt(form=form):
            _token, secret = api_tokens.create_personal(me(), name=form.name.data, days=form.days_value())
    return _account_page(form, secret=secret)


@bp.post("/account/feed-token")
@signed_in
def renew_feed():
    """Make a new feed address (the old one stops working) and show it once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        secret = api_tokens.renew_feed(me())
    if not done:
        return redirect(url_for("tokens.account"))
    return _account_page(TokenForm(formdata=None), feed_url=public_url("feeds.notes", token=secret))


def _revoke(token: ApiToken | None, owner_matches: bool, back: str):
    """Revoke a token from a button form, flash the outcome, go back to its list."""
    if token is None or not owner_matches or not ActionForm().validate_on_submit():
        abort(404)
    with attempt() as done:
        api_tokens.revoke(token, by=me())
    if done:
        flash(_("The token is revoked; it no longer works."), "info")
    return redirect(back)


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke(token_id: int):
    """Revoke one of the person's own tokens."""
    token = db.session.get(ApiToken, token_id)
    return _revoke(token, token is not None and token.user_id == me().id, url_for("tokens.account"))


@bp.route("/admin/partners/<int:peer_id>/tokens", methods=["GET", "POST"])
@requires("manage_partners")
def organisation(peer_id: int):
    """List a partner hub's organisation tokens and make a new one."""
    peer = db.session.get(PeerHub, peer_id) or abort(404)
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        with attempt(form=form):
            _token, secret = api_tokens.create_organisation(peer, name=form.name.data, days=form.days_value(),
                                                            by=me())
    return _secret_page("tokens/organisation.html", peer=peer, form=form, secret=secret,
                        tokens=api_tokens.organisation_tokens(peer), button=ActionForm())


@bp.post("/admin/partners/<int:peer_id>/tokens/<int:token_id>/revoke")
@requires("manage_partners")
def revoke_organisation(peer_id: int, token_id: int):
    """Revoke one of a partner hub's tokens."""
    token = db.session.get(ApiToken, token_id)
    return _revoke(token, token is not None and token.peer_id == peer_id,
                   url_for("tokens.organisation", peer_id=peer_id))
