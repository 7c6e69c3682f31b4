"""Views of the token pages: thin wrappers over hub.services.api_tokens (which audits).

A token's secret is shown once, on the page that answers the form that made it, and never put in
a flash message (the session cookie is signed, not encrypted) nor in a redirect.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.api.wire import public_url
from blueprints.common import apply_service_error, run_service
from blueprints.tokens import bp
from blueprints.tokens.forms import ButtonForm, TokenForm
from hub.extensions import db
from hub.models.api import ApiToken, TokenKind
from hub.models.federation import PeerHub
from hub.permissions import requires, signed_in
from hub.services import api_tokens
from hub.services.errors import ServiceError


def _me():
    return current_user._get_current_object()


def _secret_page(template: str, **context):
    """Render a page that may hold a secret: no cache may keep it."""
    return render_template(template, **context), 200, {"Cache-Control": "no-store"}


@bp.route("/account/tokens", methods=["GET", "POST"])
@signed_in
def account():
    """List the person's API tokens and feed address, and make a new token."""
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            _token, secret = api_tokens.create_personal(_me(), name=form.name.data, days=form.days_value())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
    return _account_page(form, secret=secret)


def _account_page(form: TokenForm, *, secret: str | None = None, feed_url: str | None = None):
    return _secret_page("tokens/account.html", form=form, secret=secret, feed_url=feed_url,
                        tokens=api_tokens.tokens_of(_me()), feeds=api_tokens.tokens_of(_me(), TokenKind.FEED),
                        button=ButtonForm())


@bp.post("/account/feed-token")
@signed_in
def renew_feed():
    """Make a new feed address (the old one stops working) and show it once."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        secret = api_tokens.renew_feed(_me())
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("tokens.account"))
    return _account_page(TokenForm(formdata=None), feed_url=public_url("feeds.notes", token=secret))


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke(token_id: int):
    """Revoke one of the person's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != _me().id or not ButtonForm().validate_on_submit():
        abort(404)
    run_service(lambda: api_tokens.revoke(token, by=_me()), _("The token is revoked; it no longer works."))
    return redirect(url_for("tokens.account"))


def _peer(peer_id: int) -> PeerHub:
    return db.session.get(PeerHub, peer_id) or abort(404)


@bp.route("/admin/partners/<int:peer_id>/tokens", methods=["GET", "POST"])
@requires("manage_partners")
def organisation(peer_id: int):
    """List a partner hub's organisation tokens and make a new one."""
    peer = _peer(peer_id)
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            _token, secret = api_tokens.create_organisation(peer, name=form.name.data, days=form.days_value(),
                                                            by=_me())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
    return _secret_page("tokens/organisation.html", peer=peer, form=form, secret=secret,
                        tokens=api_tokens.organisation_tokens(peer), button=ButtonForm())


@bp.post("/admin/partners/<int:peer_id>/tokens/<int:token_id>/revoke")
@requires("manage_partners")
def revoke_organisation(peer_id: int, token_id: int):
    """Revoke one of a partner hub's tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.peer_id != peer_id or not ButtonForm().validate_on_submit():
        abort(404)
    run_service(lambda: api_tokens.revoke(token, by=_me()), _("The token is revoked; it no longer works."))
    return redirect(url_for("tokens.organisation", peer_id=peer_id))
