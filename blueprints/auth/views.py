"""Views for signing up, in and out, and for the person's own account."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.auth.forms import (ConfirmEmailForm, DeleteAccountForm, ForgotForm, LoginForm, PasswordForm,
                                   ProfileForm, ResetForm, SignupForm)
from blueprints.web.access import public, signed_in
from blueprints.web.common import me, page_arg, personal_data_download, privacy_groups
from blueprints.web.locale import COOKIE as LANG_COOKIE
from blueprints.web.refusals import attempt
from blueprints.web.security import client_key, safe_next
from hub.services import accounts, leaving
from hub.services import notifications as notification_service
from hub.services.errors import ServiceError
from hub.services.screening import PrivacyCheckRequired

bp = Blueprint("auth", __name__, template_folder="templates")


def _sign_in(user) -> None:
    """Start a fresh log-in session for ``user`` in this browser."""
    session.clear()  # a new session id on every sign-in: no fixation
    session["sid"] = accounts.start_session(user)
    session.permanent = True


def _new_account(form) -> accounts.NewAccount:
    return accounts.NewAccount(username=form.username.data, pseudonym=form.pseudonym.data,
                               password=form.password.data, email=form.email.data,
                               locale=str(g.get("lang_choice") or "") or None)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with username or e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        with attempt() as allowed:  # refused only when log-ins are throttled
            user = accounts.authenticate(form.login.data, form.password.data, client=client_key())
        if not allowed:
            return render_template("auth/login.html", form=form), 429
        if user is None:
            # One message for unknown accounts and wrong passwords: no account enumeration.
            form.form_errors.append(_("The username or password is not right, or the account is not active yet."))
        else:
            _sign_in(user)
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@public
def logout():
    """Sign out of this browser."""
    if session.get("sid"):
        accounts.end_session(session["sid"])
    session.clear()
    flash(_("You are signed out."), "signed-out")  # hub.js: set-aside device copies go
    return redirect(url_for("main.index"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    """Create an account from an invitation link."""
    with attempt(answered_by_caller=(ServiceError,)) as opened:
        invitation = accounts.open_invitation(token)
    if not opened:
        return render_template("auth/invitation_invalid.html", message=opened.error.message), 410
    form = SignupForm()
    if form.validate_on_submit():
        with attempt(form=form, answered_by_caller=(accounts.LinkClosed,)) as accepted:
            user = accounts.accept_invitation(token, _new_account(form))
        if isinstance(accepted.error, accounts.LinkClosed):  # used or withdrawn while the form was filled in
            return render_template("auth/invitation_invalid.html", message=accepted.error.message), 410
        if accepted:
            _sign_in(user)
            flash(_("Welcome! Your account is ready."), "info")
            return redirect(url_for("auth.profile"))
    return render_template("auth/signup.html", form=form, invitation=invitation)


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    """Sign up on an open hub; an admin approves the account."""
    if current_app.config["REGISTRATION"] != "open":
        return render_template("auth/invitation_only.html"), 403
    form = SignupForm()
    if form.validate_on_submit():
        with attempt(form=form) as registered:
            accounts.register_open(_new_account(form))
        if registered:
            flash(_("Thank you. An administrator will approve your account; then you can sign in."), "info")
            return redirect(url_for("auth.login"))
    return render_template("auth/signup.html", form=form, invitation=None)


@bp.route("/forgot", methods=["GET", "POST"])
@public
def forgot():
    """Ask for a password-reset link."""
    form = ForgotForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.login.data)
        flash(_("If this account exists, a reset link is on its way. Ask your hub's administrator "
                "for it if no mail arrives."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset(token: str):
    """Set a new password through a one-time link."""
    with attempt(answered_by_caller=(ServiceError,)) as opened:
        accounts.open_reset(token)
    if not opened:
        return render_template("auth/reset_invalid.html", message=opened.error.message), 410
    form = ResetForm()
    if form.validate_on_submit():
        with attempt(form=form, answered_by_caller=(accounts.LinkClosed,)) as reset_done:
            accounts.reset_password(token, form.password.data)
        if isinstance(reset_done.error, accounts.LinkClosed):  # used by another request meanwhile
            return render_template("auth/reset_invalid.html", message=reset_done.error.message), 410
        if reset_done:
            session.clear()
            flash(_("Your password is changed. Sign in with the new one."), "info")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def profile():
    """Edit pseudonym, e-mail, language, time zone and bio."""
    user = me()
    form = ProfileForm(obj=user)
    if request.method == "GET":
        form.locale.data = user.locale or ""
        form.timezone.data = user.timezone or ""
    groups = []
    if form.validate_on_submit():
        old_email = user.email
        with attempt(form=form, answered_by_caller=(PrivacyCheckRequired,)) as saved:
            asked = accounts.update_profile(user, pseudonym=form.pseudonym.data, email=form.email.data,
                                            locale=form.locale.data or None, timezone=form.timezone.data or None,
                                            bio=form.bio.data or "", show_activity=form.show_activity.data,
                                            confirm_privacy=form.confirm_privacy.data)
        if isinstance(saved.error, PrivacyCheckRequired):
            groups = privacy_groups({"bio": (form.bio.data or "").strip()}, saved.error.findings)
        if saved:
            response = redirect(url_for("auth.profile"))
            # The saved preference wins over an older ?lang= choice kept in the cookie.
            if user.locale:
                g.lang_choice = user.locale
            else:
                response.delete_cookie(LANG_COOKIE)
            flash(_("Your profile is saved."), "info")
            if asked:  # the same words whether or not another account has the address
                flash(_("We sent a link to %(new)s. Your address changes when you open it; until then, mail goes "
                        "to %(old)s.", new=asked, old=old_email or _("no address")), "info")
            return response
    return render_template("auth/profile.html", form=form, user=user, groups=groups), 422 if groups else 200


@bp.route("/account/email/<token>", methods=["GET", "POST"])
@signed_in
def confirm_email(token: str):
    """Make a new e-mail address the account's own through the link mailed to it."""
    with attempt(answered_by_caller=(ServiceError,)) as opened:
        change = accounts.open_email_change(token, user=me())
    if not opened:
        return render_template("auth/email_invalid.html", message=opened.error.message), 410
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        with attempt(form=form, answered_by_caller=(accounts.LinkClosed,)) as confirmed:
            accounts.confirm_email_change(token, user=me())
        if isinstance(confirmed.error, accounts.LinkClosed):  # used, superseded or taken meanwhile
            return render_template("auth/email_invalid.html", message=confirmed.error.message), 410
        if confirmed:
            flash(_("Your e-mail address is changed."), "info")
            return redirect(url_for("auth.profile"))
    return render_template("auth/email_confirm.html", form=form, address=change.address)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def password():
    """Change the password; other browsers are signed out."""
    form = PasswordForm()
    if form.validate_on_submit():
        with attempt(form=form) as changed:
            token = accounts.change_password(me(), current=form.current_password.data, new=form.new_password.data)
        if changed:
            session["sid"] = token
            flash(_("Your password is changed. Other browsers were signed out."), "info")
            return redirect(url_for("auth.profile"))
    return render_template("auth/password.html", form=form)


@bp.route("/account/notifications", methods=["GET", "POST"])
@signed_in
def notifications():
    """List the person's notifications; visiting (or posting) marks them read."""
    user = me()
    page = notification_service.page_for(user, page=page_arg())
    items = list(page.items)
    readable = notification_service.readable_notes(user, items)
    notification_service.mark_read(user)
    return render_template("auth/notifications.html", page=page, items=items, readable=readable)


@bp.get("/account/data.json")
@signed_in
def my_data():
    """Download everything the hub holds that the person wrote or set, as JSON."""
    return personal_data_download(leaving.export(me(), by=me()), "my-data")


# The flash category naming a deleted account's id to the next page (base.html), whose hub.js deletes what the
# editor kept of that account's text on this device.
ACCOUNT_DELETED = "account-deleted"


@bp.route("/account/delete", methods=["GET", "POST"])
@signed_in
def delete_account():
    """Delete one's own account, choosing whether published notes stay (as "former member") or go."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        account = me().id
        with attempt(form=form) as deleted:
            leaving.delete_account(me(), by=me(), keep_published=form.what.data == "keep",
                                   password=form.password.data)
        if deleted:
            session.clear()
            flash(_("Your account is deleted. Thank you for what you shared."), "info")
            flash(str(account), ACCOUNT_DELETED)  # hub.js: the account's copies on this device go too
            return redirect(url_for("main.index"))
    return render_template("auth/delete_account.html", form=form)
