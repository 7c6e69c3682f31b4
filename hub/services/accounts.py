"""Accounts: sign-up (by invitation or open registration), log-in, sessions, passwords, roles.

Only hashes of tokens are stored (invitations, password resets, log-in sessions), so a copy
of the database does not let anyone sign in. Log-in failures are counted under keyed hashes
of the account name and the client, never under the raw values.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from hub.extensions import db
from hub.mail import outbox
from hub.models.base import utcnow
from hub.models.project import Project
from hub.models.user import (
    EmailChange,
    Invitation,
    LoginFailure,
    LoginSession,
    PasswordReset,
    Role,
    User,
    UserStatus,
)
from hub import events, text_safety
from hub.permissions import can, may_grant
from hub.services import audit, names, screening
from hub.services.errors import NotAllowed, ServiceError, at_most

log = logging.getLogger("hub.accounts")

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,40}$")
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+", re.ASCII)
MIN_PASSWORD = 10
# Pseudonyms that would pass for the hub's staff or for a deleted author, in both languages: the
# roles' names, and what pages show for someone who left. Compared by skeleton (Moderat0r, 管理員).
RESERVED_PSEUDONYMS = ("member", "contributor", "moderator", "administrator", "admin", "成员", "撰稿人", "审核员",
                       "管理员", "版主", "former member", "已离开的成员")
INVITATION_NOTE_LENGTH = 200  # as Invitation.note holds it


class LoginThrottled(ServiceError):
    """Too many failed log-ins for this account or client; try again later."""


class LinkClosed(ServiceError):
    """An invitation, password-reset or e-mail link cannot be used (unknown, used, withdrawn, expired or superseded)."""


@dataclass(frozen=True)
class NewAccount:
    """What a person fills in when signing up."""

    username: str
    pseudonym: str
    password: str
    email: str | None = None
    locale: str | None = None


def token_hash(token: str) -> str:
    """Return the stored form of a secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """Hash a password with the configured method (scrypt by default)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@functools.cache
def _dummy_hash(method: str) -> str:
    """Return a hash checked when the account does not exist, so both answers take as long."""
    return generate_password_hash("not a real password", method=method)


def find_by_login(login: str) -> User | None:
    """Return the user whose username or e-mail is ``login`` (case-insensitive)."""
    login = login.strip().lower()
    if not login:
        return None
    query = sa.select(User).where(sa.or_(User.username == login, User.email == login))
    return db.session.scalar(query)


# --- creating accounts ---------------------------------------------------------------------

def create_user(
    account: NewAccount,
    *,
    role: Role = Role.MEMBER,
    status: UserStatus = UserStatus.ACTIVE,
    project: Project | None = None,
    own_choice: bool = False,
) -> User:
    """Validate and add a user to the session (the caller commits).

    ``own_choice``: the person chose the pseudonym (signing up), so the names kept for the roles
    and for people who left are refused; the operator may call a first administrator 管理员.
    """
    user = _new_user(account, role=role, status=status, project=project, own_choice=own_choice)
    db.session.add(user)
    db.session.flush()
    return user


def _new_user(account: NewAccount, *, role: Role, status: UserStatus = UserStatus.ACTIVE,
              project: Project | None = None, own_choice: bool) -> User:
    """Validate a sign-up and return its user, not yet added: the slow password hash is done before any write."""
    pseudonym, skeleton = _check_new_account(account, own_choice=own_choice)
    return User(
        username=account.username.strip().lower(),
        email=(account.email or "").strip().lower() or None,
        pseudonym=pseudonym,
        pseudonym_skeleton=skeleton,
        password_hash=hash_password(account.password),
        role=role.value,
        status=status.value,
        locale=account.locale,
        project_id=project.id if project is not None else None,
    )


def _check_new_account(account: NewAccount, *, own_choice: bool) -> tuple[str, str]:
    """Check a sign-up; return the pseudonym to store and its skeleton."""
    username = account.username.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise ServiceError(
            _l("Use 3 to 40 characters: lower-case letters, digits, dot, dash or underscore."),
            field="username",
        )
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise ServiceError(_l("This username is taken. Please choose another."), field="username")
    checked = _check_pseudonym(account.pseudonym, own_choice=own_choice)
    _check_email(account.email)
    check_password_strength(account.password, field="password")
    return checked


def _check_pseudonym(pseudonym: str, *, own_choice: bool, user: User | None = None) -> tuple[str, str]:
    """Return the pseudonym to store and its skeleton; refuse one that is taken or looks taken."""
    pseudonym = names.clean(pseudonym, field="pseudonym")
    if not 2 <= len(pseudonym) <= 60:
        raise ServiceError(_l("A pseudonym has 2 to 60 characters."), field="pseudonym")
    if screening.screen({"pseudonym": pseudonym}):  # the one name everyone sees: no contact data at all
        raise ServiceError(_l("A pseudonym must not hold a phone number, an ID number or other contact details."),
                           field="pseudonym")
    skeleton = text_safety.skeleton(pseudonym)
    if own_choice and is_reserved_pseudonym(pseudonym):
        raise ServiceError(_l("This pseudonym is kept for the hub's roles and for people who left, so it could "
                              "mislead readers. Please choose another."), field="pseudonym")
    others = sa.select(User.id).where(User.id != user.id) if user is not None else sa.select(User.id)
    if db.session.scalar(others.where(sa.func.lower(User.pseudonym) == pseudonym.lower())):
        raise ServiceError(_l("This pseudonym is taken. Please choose another."), field="pseudonym")
    if db.session.scalar(others.where(User.pseudonym_skeleton == skeleton)):
        raise ServiceError(_l("This pseudonym looks the same as one that is taken. Please choose another."),
                           field="pseudonym")
    return pseudonym, skeleton


def is_reserved_pseudonym(pseudonym: str) -> bool:
    """Tell whether a name is, or looks like, one kept for the hub's roles and for people who left."""
    return not _reserved_skeletons().isdisjoint((text_safety.skeleton(pseudonym),
                                                  text_safety.skeleton(pseudonym.lower())))


def looks_like_a_member(name: str) -> bool:
    """Tell whether a name is, or looks like, the pseudonym of one of this hub's members ("peer", "pеer").

    The same comparison as between our members' own pseudonyms (:func:`_check_pseudonym`): a
    partner hub's member with such a name would pass for ours, so the name is not shown.
    """
    return name in members_look_alikes([name])


def members_look_alikes(names: Iterable[str]) -> set[str]:
    """Return those of ``names`` that :func:`looks_like_a_member`, asking the database once for all of them."""
    wanted = {name: {text_safety.skeleton(name), text_safety.skeleton(name.lower())} for name in names if name.strip()}
    if not wanted:
        return set()
    skeletons = set().union(*wanted.values())
    lowered = {name.lower() for name in wanted}
    query = sa.select(User.pseudonym_skeleton, sa.func.lower(User.pseudonym)).where(
        sa.or_(User.pseudonym_skeleton.in_(skeletons), sa.func.lower(User.pseudonym).in_(lowered)))
    found_skeletons, found_lowered = set(), set()
    for skeleton, pseudonym in db.session.execute(query):
        found_skeletons.add(skeleton)
        found_lowered.add(pseudonym)
    return {name for name, its in wanted.items() if its & found_skeletons or name.lower() in found_lowered}


@functools.cache
def _reserved_skeletons() -> frozenset[str]:
    return frozenset(map(text_safety.skeleton, RESERVED_PSEUDONYMS))


def _check_email(email: str | None, *, user: User | None = None) -> None:
    email = (email or "").strip().lower()
    if not email:
        return
    query = sa.select(User.id).where(User.email == email)
    if user is not None:
        query = query.where(User.id != user.id)
    if db.session.scalar(query):
        raise ServiceError(
            _l("This e-mail address belongs to another account."), field="email"
        )


def check_password_strength(password: str, *, field: str = "password") -> None:
    """Refuse passwords that are too short or too obvious."""
    if len(password) < MIN_PASSWORD:
        raise ServiceError(
            # i18n: %(n)d is the shortest password length, a number
            _l("Use at least %(n)d characters.", n=MIN_PASSWORD), field=field
        )
    if len(set(password)) < 4:
        raise ServiceError(_l("This password is too easy to guess."), field=field)


# --- invitations ---------------------------------------------------------------------------

def create_invitation(
    *, by: User, role: Role, project: Project | None = None, days: int | None = None, note: str = "",
    email: str | None = None, locale: str | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its token (shown once, then only hashed).

    With ``email`` the worker also mails the link, in ``locale``; the address is kept only until then.
    """
    if not may_grant(by, role):
        raise NotAllowed(_l("You may not invite people with this role."), field="role")
    days = days or current_app.config["INVITATION_DAYS"]
    if not 1 <= days <= 90:
        raise ServiceError(_l("An invitation is valid for 1 to 90 days."), field="days")
    email = (email or "").strip().lower() or None
    if email and not outbox.enabled():
        raise ServiceError(_l("This hub sends no e-mail. Leave the address empty and send the link yourself."),
                           field="email")
    if email and (len(email) > 254 or not EMAIL_RE.fullmatch(email)):
        raise ServiceError(_l("This does not look like an e-mail address."), field="email")
    note = at_most((note or "").strip(), INVITATION_NOTE_LENGTH, field="note")
    token = secrets.token_urlsafe(24)
    invitation = Invitation(
        token_hash=token_hash(token),
        role=role.value,
        project=project,
        note=note,
        created_by=by,
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("invitation.create", actor=by, target=invitation, role=role.value, mailed=bool(email))
    if email:
        locale = locale if locale in current_app.config["LOCALES"] else None
        outbox.queue(f"invitation:{invitation.id}", kind="invitation", address=email, locale=locale,
                     payload={"invitation_id": invitation.id}, secret=token)
    db.session.commit()
    return invitation, token


def invitation_state(invitation: Invitation) -> str:
    """Return "used", "revoked", "expired", "lapsed" or "open": the one answer to whether a link still works.

    "lapsed": unused and unexpired, but its maker left, was disabled or may no longer give its role (an
    invitation made before rights were withdrawn with the role, or whose maker changed some other way).
    """
    state = invitation.state
    if state == "open" and (invitation.created_by is None or not may_grant(invitation.created_by,
                                                                           Role(invitation.role))):
        return "lapsed"
    return state


def open_invitation(token: str) -> Invitation:
    """Return the open invitation for ``token`` or explain why it cannot be used.

    An invitation is only as good as its maker's rights: one whose maker left, was disabled or
    may no longer give its role reads as withdrawn.
    """
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
    )
    if invitation is None:
        raise LinkClosed(_l("This invitation link is not valid. Check that you copied all of it."))
    state = invitation_state(invitation)
    if state == "used":
        raise LinkClosed(_l("This invitation has already been used. If it was you, sign in."))
    if state in ("revoked", "lapsed"):
        raise LinkClosed(_l("This invitation was withdrawn. Ask for a new one."))
    if state == "expired":
        raise LinkClosed(_l("This invitation has expired. Ask the person who invited you for a new one."))
    return invitation


def accept_invitation(token: str, account: NewAccount) -> User:
    """Create the account an invitation offers, and mark the invitation used.

    The invitation is claimed by one conditional UPDATE in the account's own transaction, after
    the sign-up is checked and before the account is written: of sign-ups sent at the same moment,
    the others wait for the first one's lock (the row's on PostgreSQL, the database's on SQLite),
    then find the invitation used and write nothing.
    """
    invitation = open_invitation(token)
    user = _new_user(account, role=Role(invitation.role), project=invitation.project, own_choice=True)
    now = utcnow()
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None),
               Invitation.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        open_invitation(token)  # says why: used, withdrawn or expired meanwhile
        raise LinkClosed(_l("This invitation has already been used. If it was you, sign in."))
    db.session.add(user)
    db.session.flush()
    invitation.used_by_id, invitation.used_at = user.id, now
    audit.record("user.signup", actor=user, target=user, invitation=invitation.id)
    db.session.commit()
    return user


def revoke_invitation(invitation: Invitation, *, by: User) -> None:
    """Withdraw an unused invitation (a lapsed one too, so that it stays closed if its maker gets the right back)."""
    if invitation_state(invitation) not in ("open", "lapsed"):
        raise ServiceError(_l("Only an open invitation can be withdrawn."))
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoke", actor=by, target=invitation)
    db.session.commit()


def withdraw_invitations(user: User, *, by: User | None, everything: bool = False) -> int:
    """Withdraw ``user``'s open invitations of roles they may no longer give (``everything``: all of them).

    Called when a person's role or status changes and when their account is deleted: a link they
    made must not outlive their right to make it. Each is audited; the caller commits.
    """
    now = utcnow()
    query = sa.select(Invitation).where(Invitation.created_by_id == user.id, Invitation.used_at.is_(None),
                                        Invitation.revoked_at.is_(None), Invitation.expires_at > now)
    withdrawn = 0
    for invitation in db.session.scalars(query):
        if everything or not may_grant(user, Role(invitation.role)):
            invitation.revoked_at = now
            audit.record("invitation.lapse", actor=by, target=invitation, role=invitation.role)
            withdrawn += 1
    return withdrawn


def register_open(account: NewAccount) -> User:
    """Sign up on an open hub: a member account waiting for approval."""
    if current_app.config["REGISTRATION"] != "open":
        raise NotAllowed(_l("This hub accepts new members by invitation only."))
    user = create_user(account, status=UserStatus.PENDING, own_choice=True)
    audit.record("user.register", actor=user, target=user)
    db.session.commit()
    return user


# --- signing in and out ----------------------------------------------------------------------

def throttle_key(kind: str, value: str) -> str:
    """Return the keyed hash log-in failures are counted under.

    ``kind`` is "user" (an account, by its id, however its login was typed), "account" (a login
    name no account has) or "client", and ``value`` its id, name or client key.
    """
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _failures(key: str) -> int:
    since = utcnow() - dt.timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])
    query = sa.select(sa.func.count()).where(LoginFailure.key == key, LoginFailure.at > since)
    return db.session.scalar(query) or 0


def authenticate(login: str, password: str, *, client: str) -> User | None:
    """Return the active user for these credentials, None when they are wrong.

    Raises :class:`LoginThrottled` when the account or the client failed too often lately. An
    account's failures count together whether its username or e-mail address was typed; a name no
    account has gets a limit of its own, so the answer is the same whether the account exists or not.
    """
    cfg = current_app.config
    user = find_by_login(login)
    account_key = (throttle_key("user", str(user.id)) if user is not None
                   else throttle_key("account", login.strip().lower()))
    client_key = throttle_key("client", client)
    if (_failures(account_key) >= cfg["LOGIN_LIMIT_ACCOUNT"]
            or _failures(client_key) >= cfg["LOGIN_LIMIT_CLIENT"]):
        raise LoginThrottled(
            # i18n: %(m)d is a number of minutes
            _l("Too many failed attempts. Wait %(m)d minutes and try again, or reset your password.",
               m=cfg["LOGIN_WINDOW_SECONDS"] // 60)
        )
    stored = user.password_hash if user else _dummy_hash(cfg["PASSWORD_HASH_METHOD"])
    ok = check_password_hash(stored, password)
    if not ok or user is None or not user.is_active:
        db.session.add_all([LoginFailure(key=account_key), LoginFailure(key=client_key)])
        db.session.commit()
        return None
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.key == account_key))
    return user


def start_session(user: User) -> str:
    """Open a log-in session for ``user`` and return its token (kept in the cookie)."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user=user, token_hash=token_hash(token)))
    db.session.commit()
    return token


def session_user(token: str) -> User | None:
    """Return the active user of a log-in session token, or None."""
    return session_user_with(token)[0]


def session_user_with(token: str, *columns: sa.ColumnElement) -> tuple[User | None, tuple]:
    """Return the active user of a log-in session token (or None) and ``columns`` read in the same statement.

    Every signed-in request asks for its user first; a page that needs another small fact
    before anything else (the content version) reads it here, in the same round trip. The
    columns' values come back whenever the token names a log-in session, active or not.
    """
    if not token:
        return None, ()
    row = db.session.execute(_session_statement(columns), {"token_hash": token_hash(token)}).first()
    if row is None:
        return None, ()
    user, created_at, *values = row
    max_age = dt.timedelta(days=current_app.config["SESSION_DAYS"])
    if created_at + max_age < utcnow() or not user.is_active:
        return None, tuple(values)
    return user, tuple(values)


@functools.lru_cache(maxsize=8)
def _session_statement(columns: tuple[sa.ColumnElement, ...]) -> sa.Select:
    """Build the log-in lookup once per set of extra columns (SQLAlchemy then reuses its compiled form as is)."""
    return (sa.select(User, LoginSession.created_at, *columns).join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_hash == sa.bindparam("token_hash")))


def end_session(token: str) -> None:
    """Close one log-in session (sign out this browser)."""
    db.session.execute(sa.delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    db.session.commit()


def end_all_sessions(user: User) -> None:
    """Close every log-in session of ``user`` (the caller commits)."""
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id))


# --- passwords ---------------------------------------------------------------------------

def change_password(user: User, *, current: str, new: str) -> str:
    """Change the password, sign out every other browser, and return a fresh session token."""
    if not check_password_hash(user.password_hash, current):
        raise ServiceError(_l("Your current password is not right."), field="current_password")
    _set_password(user, new, field="new_password")
    audit.record("user.password_change", actor=user, target=user)
    db.session.commit()
    return start_session(user)


def _set_password(user: User, password: str, *, field: str) -> None:
    check_password_strength(password, field=field)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    _end_reset_links(user, user.password_changed_at)


def _end_reset_links(user: User, now: dt.datetime) -> None:
    """Expire ``user``'s open reset links: one made before a password change must not undo it
    (:func:`open_reset` also refuses a link older than the password)."""
    db.session.execute(sa.update(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False))


def set_password(user: User, password: str) -> None:
    """Set a new password from the server's command line (a forgotten one); every browser is signed out."""
    _set_password(user, password, field="password")
    audit.record("user.password_set", actor=None, target=user)
    db.session.commit()


def request_password_reset(login: str) -> None:
    """Start a password reset for the account named ``login``.

    With a mail server, the worker mails the link to the account's address (none without one).
    Without one no link is made: a working link in a log line would let whoever reads the logs
    take the account over. The log says which account asked (by number), so an administrator can
    make a one-time link on the person's page and hand it over. Callers must answer the person the
    same way in every case (no account enumeration).
    """
    user = find_by_login(login)
    if user is None or user.status == UserStatus.DISABLED:
        return
    if not outbox.enabled():
        log.warning("password reset asked for account %d; no mail server, so an administrator must make "
                    "a one-time link on the person's page", user.id, extra={"user_id": user.id})
        return
    if user.email:
        token = secrets.token_urlsafe(32)
        reset = _add_reset(user, token)
        outbox.queue(f"reset:{reset.id}", kind="reset", user_id=user.id, payload={"reset_id": reset.id},
                     secret=token)
        db.session.commit()


def _add_reset(user: User, token: str) -> PasswordReset:
    minutes = current_app.config["RESET_TOKEN_MINUTES"]
    reset = PasswordReset(user=user, token_hash=token_hash(token), expires_at=utcnow() + dt.timedelta(minutes=minutes))
    db.session.add(reset)
    db.session.flush()
    return reset


def _new_reset_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    _add_reset(user, token)
    db.session.commit()
    return token


def admin_reset_link_token(user: User, *, by: User) -> str:
    """Create a reset token an admin hands to the person (while the hub sends no mail)."""
    audit.record("user.reset_token", actor=by, target=user)
    return _new_reset_token(user)


def open_reset(token: str) -> PasswordReset:
    """Return the usable reset for ``token`` or explain why it cannot be used."""
    reset = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)))
    if reset is None:
        raise LinkClosed(_l("This reset link is not valid. Ask for a new one."))
    if reset.used_at is not None:
        raise LinkClosed(_l("This reset link has already been used. Ask for a new one if you need it."))
    if reset.created_at < reset.user.password_changed_at:
        raise LinkClosed(_l("This reset link no longer works: the password was changed after it was made. "
                            "Ask for a new one if you need it."))
    if reset.expires_at <= utcnow():
        raise LinkClosed(_l("This reset link has expired. Ask for a new one."))
    return reset


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a one-time reset token, signing out every browser.

    The password is changed by one conditional UPDATE of the person's row, which holds only while
    the password is older than the link: of two resets sent at the same moment (the same link
    twice, or two links), the second waits for the first one's lock, then finds the password
    newer than its link and changes nothing.
    """
    reset = open_reset(token)
    user = reset.user
    check_password_strength(new_password, field="password")
    password_hash = hash_password(new_password)
    now = utcnow()
    changed = db.session.execute(
        sa.update(User).where(User.id == user.id, User.password_changed_at <= reset.created_at)
        .values(password_hash=password_hash, password_changed_at=now).execution_options(synchronize_session=False))
    if changed.rowcount != 1:
        db.session.rollback()
        open_reset(token)  # says why
        raise LinkClosed(_l("This reset link has already been used. Ask for a new one if you need it."))
    db.session.refresh(user)
    end_all_sessions(user)
    reset.used_at = now
    db.session.flush()
    _end_reset_links(user, now)
    audit.record("user.password_reset", actor=user, target=user)
    db.session.commit()
    return user


# --- profile and administration ------------------------------------------------------------

def update_profile(
    user: User, *, pseudonym: str, email: str | None, locale: str | None, timezone: str | None, bio: str,
    show_activity: bool | None = None, confirm_privacy: bool = False,
) -> str | None:
    """Change what a person may change about themselves; return the new e-mail address a link went to, if any.

    The pseudonym is everyone's view of the person: it may hold no contact data at all. The
    bio passes the privacy check (confirm to keep what it finds). ``show_activity`` (None: as
    it is) lets signed-in members see that the person joined and their project. A new e-mail
    address waits for the link mailed to it (:func:`request_email_change`); an empty one is
    removed at once.
    """
    # A name kept for the roles is refused when chosen, not when an administrator's stays as the operator set it.
    pseudonym, skeleton = _check_pseudonym(pseudonym, user=user, own_choice=pseudonym.strip() != user.pseudonym)
    screening.require_confirmation({"bio": bio.strip()}, confirmed=confirm_privacy, message=_l(
        "Your profile may contain personal data. Check each highlighted place."))
    email = _new_address(email, user=user)
    if locale and locale not in current_app.config["LOCALES"]:
        raise ServiceError(_l("Choose one of the offered languages."), field="locale")
    if timezone and timezone not in zoneinfo.available_timezones():
        raise ServiceError(_l("Choose one of the offered time zones."), field="timezone")
    if pseudonym != user.pseudonym:
        # Every published note shows it: partners' mirrors (API, feeds) must read them again, with the new one.
        events.record("user.renamed", subject_type="user", subject_id=user.id)
    user.pseudonym, user.pseudonym_skeleton = pseudonym, skeleton
    if email == "":
        user.email = None
        _end_email_links(user, utcnow())
    user.locale = locale or None
    user.timezone = timezone or None
    user.bio = bio.strip()
    if show_activity is not None:
        user.show_activity = show_activity
    if email:
        request_email_change(user, email)
    db.session.commit()
    return email or None


# --- changing the e-mail address -----------------------------------------------------------
# Whether an address has an account here is itself sensitive (members are peer educators and
# the people they work with), so a new address gets the same answer whether another account has
# it or not: a link is "sent", and the address becomes the account's only when the link is opened,
# and only while it is still free. Nothing is mailed to an address another account has: a note
# saying that someone typed it here would tell whoever reads that inbox that its owner is a member,
# and would let anyone have the hub mail any member at will. No log line or audit entry holds an
# address.

def _new_address(email: str | None, *, user: User) -> str | None:
    """Return the address to ask a link for, "" to remove the address, None to leave it as it is."""
    email = (email or "").strip().lower()
    if email == (user.email or ""):
        return None
    if not email:
        return ""
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise ServiceError(_l("This does not look like an e-mail address."), field="email")
    if not outbox.enabled():
        raise ServiceError(_l("This hub sends no e-mail, so a new address cannot be confirmed. Leave the field as "
                              "it was, or empty it to remove your address."), field="email")
    return email


def request_email_change(user: User, address: str) -> EmailChange:
    """Keep ``address`` as ``user``'s next one and queue the link that confirms it (the caller commits).

    Earlier links of the person stop working. The link is mailed only when no other account has
    the address; the change is stored either way, so both cases write and answer alike.
    """
    now = utcnow()
    _end_email_links(user, now)
    token = secrets.token_urlsafe(32)
    change = EmailChange(user=user, token_hash=token_hash(token), address=address,
                         expires_at=now + dt.timedelta(hours=current_app.config["EMAIL_CHANGE_HOURS"]))
    db.session.add(change)
    db.session.flush()
    if not _address_taken(address, user=user):
        outbox.queue(f"email-change:{change.id}", kind="email_change", user_id=user.id, address=address,
                     payload={"change_id": change.id}, secret=token)
    log.info("e-mail change asked for account %d", user.id, extra={"user_id": user.id})
    return change


def _address_taken(address: str, *, user: User) -> bool:
    """Tell whether an account other than ``user`` has ``address``."""
    return db.session.scalar(sa.select(User.id).where(User.email == address, User.id != user.id)) is not None


def _end_email_links(user: User, now: dt.datetime) -> None:
    """Expire ``user``'s open e-mail links: the latest address typed is the only one that may still be set."""
    db.session.execute(sa.update(EmailChange).where(
        EmailChange.user_id == user.id, EmailChange.used_at.is_(None), EmailChange.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False))


EMAIL_LINK_CLOSED = _l("This link can no longer be used. To change your e-mail address, enter it again on your "
                       "account page.")
EMAIL_LINK_USED = _l("This link has already been used. Your account page shows your e-mail address.")


def open_email_change(token: str, *, user: User) -> EmailChange:
    """Return ``user``'s usable e-mail change for ``token`` or explain why it cannot be used.

    Expired, superseded and "another account has the address now" read the same: the link says
    nothing about who has an address.
    """
    change = None
    if len(token) <= 100:
        change = db.session.scalar(sa.select(EmailChange).where(EmailChange.token_hash == token_hash(token)))
    if change is None or change.user_id != user.id:
        raise LinkClosed(_l("This link is not valid. Check that you copied all of it, and that you are signed in "
                            "with the account that asked for it."))
    if change.used_at is not None:
        raise LinkClosed(EMAIL_LINK_USED)
    if not email_change_open(change):
        raise LinkClosed(EMAIL_LINK_CLOSED)
    return change


def email_change_open(change: EmailChange) -> bool:
    """Tell whether an e-mail link may still set its address: not used, not expired (or superseded), and the
    address free of any other account. Asked when the link is opened and when its mail is written."""
    return (change.used_at is None and change.expires_at > utcnow()
            and not _address_taken(change.address, user=change.user))


def confirm_email_change(token: str, *, user: User) -> None:
    """Make the address an e-mail link confirms ``user``'s own, if it is still free.

    The link is claimed by one conditional UPDATE (of two requests with it, the second finds it
    used); the address is set under the unique constraint, so an account that took it meanwhile wins.
    """
    change = open_email_change(token, user=user)
    now = utcnow()
    claimed = db.session.execute(
        sa.update(EmailChange).where(EmailChange.id == change.id, EmailChange.used_at.is_(None),
                                     EmailChange.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        open_email_change(token, user=user)  # says why
        raise LinkClosed(EMAIL_LINK_USED)
    user.email = change.address
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise LinkClosed(EMAIL_LINK_CLOSED) from None
    _end_email_links(user, now)
    audit.record("user.email_change", actor=user, target=user)
    db.session.commit()


def set_edits_skip_review(user: User, skip: bool, *, by: User) -> None:
    """Let an author's edits of published notes go live without review (admins; never by default)."""
    if not can(by, "manage_users"):
        raise NotAllowed(_l("Only administrators can do this."))
    user.edits_skip_review = skip
    audit.record("user.edits_skip_review", actor=by, target=user, new=skip)
    db.session.commit()


def set_role(user: User, role: Role, *, by: User) -> None:
    """Give ``user`` a new role, and record who did it."""
    if not may_grant(by, role) or not may_grant(by, Role(user.role)):
        raise NotAllowed(_l("You may not give this role."))
    if user.id == by.id:
        raise NotAllowed(_l("You cannot change your own role."))
    old = user.role
    user.role = role.value
    audit.record("user.role", actor=by, target=user, old=old, new=role.value)
    withdraw_invitations(user, by=by)
    db.session.commit()


def set_status(user: User, status: UserStatus, *, by: User) -> None:
    """Approve, disable or re-enable an account; disabling signs it out everywhere."""
    if user.id == by.id:
        raise NotAllowed(_l("You cannot change your own account's status."))
    old = user.status
    user.status = status.value
    if status == UserStatus.DISABLED:
        end_all_sessions(user)
    audit.record("user.status", actor=by, target=user, old=old, new=status.value)
    withdraw_invitations(user, by=by)
    db.session.commit()


def set_project(user: User, project: Project | None, *, by: User) -> None:
    """Move ``user`` into ``project`` (or out of any)."""
    user.project = project
    audit.record("user.project", actor=by, target=user, project=project.id if project else None)
    db.session.commit()


def administrators(*, limit: int = 3) -> list[User]:
    """Return active administrators, oldest accounts first: the people who can change someone's role."""
    query = (sa.select(User).where(User.role == Role.ADMIN.value, User.status == UserStatus.ACTIVE.value)
             .order_by(User.created_at, User.id).limit(limit))
    return list(db.session.scalars(query))


def search_users(text: str = "", *, role: str | None = None, status: str | None = None,
                 page: int = 1, per_page: int = 50):
    """Return a page of users matching ``text`` in username, e-mail or pseudonym."""
    query = sa.select(User).order_by(User.created_at.desc(), User.id.desc())
    text = text.strip().lower()
    if text:  # the text as written: % and _ in it are characters to find, not LIKE wildcards
        query = query.where(sa.or_(*(column.contains(text, autoescape=True) for column in (
            User.username, User.email, sa.func.lower(User.pseudonym)))))
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
