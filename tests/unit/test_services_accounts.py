"""Account and project services, on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest

from hub import events
from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.user import Role, UserStatus
from hub.services import accounts, projects
from hub.services.errors import NotAllowed, ServiceError
from tests.helpers import count

PASSWORD = "long enough password"


def _account(name: str, **kwargs) -> accounts.NewAccount:
    return accounts.NewAccount(username=name, pseudonym=kwargs.pop("pseudonym", name.title()),
                               password=PASSWORD, **kwargs)


def test_usernames_and_emails_are_case_insensitive(any_db_app):
    accounts.create_user(_account("Alice", email="Alice@Example.org"))
    db.session.commit()
    assert accounts.find_by_login("ALICE").username == "alice"
    assert accounts.find_by_login("alice@example.ORG").username == "alice"
    with pytest.raises(ServiceError) as error:
        accounts.create_user(_account("alice", pseudonym="Other"))
    assert error.value.field == "username"


def test_pseudonyms_are_unique_ignoring_case(any_db_app):
    accounts.create_user(_account("one", pseudonym="Lan"))
    db.session.commit()
    with pytest.raises(ServiceError) as error:
        accounts.create_user(_account("two", pseudonym="LAN"))
    assert error.value.field == "pseudonym"


@pytest.mark.parametrize("password", ["short", "aaaaaaaaaaaa"])
def test_weak_passwords_are_refused(any_db_app, password):
    with pytest.raises(ServiceError):
        accounts.create_user(accounts.NewAccount("bob", "Bob", password))


def test_passwords_are_stored_hashed_with_scrypt(any_db_app):
    user = accounts.create_user(_account("carol"))
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("scrypt:")


def test_invitation_is_single_use_and_gives_its_role(any_db_app):
    admin = accounts.create_user(_account("root"), role=Role.ADMIN)
    project = projects.save(projects.ProjectData(slug="abc-project", name_zh="项目", name_en="Project"), by=admin)
    _invitation, token = accounts.create_invitation(by=admin, role=Role.MODERATOR, project=project)
    user = accounts.accept_invitation(token, _account("dan"))
    assert (user.role, user.project_id) == ("moderator", project.id)
    with pytest.raises(ServiceError, match="already been used"):
        accounts.accept_invitation(token, _account("eve"))
    assert {e.action for e in db.session.scalars(db.select(AuditEntry))} >= {
        "invitation.create", "user.signup", "project.create"}


def test_role_changes_follow_the_granting_rules(any_db_app):
    admin = accounts.create_user(_account("root"), role=Role.ADMIN)
    moderator = accounts.create_user(_account("mod"), role=Role.MODERATOR)
    member = accounts.create_user(_account("mem"))
    db.session.commit()
    with pytest.raises(NotAllowed):
        accounts.set_role(member, Role.ADMIN, by=moderator)
    accounts.set_role(member, Role.CONTRIBUTOR, by=admin)
    assert member.role == "contributor"
    with pytest.raises(NotAllowed):
        accounts.set_role(admin, Role.MEMBER, by=admin)


def test_disabling_ends_every_session(any_db_app):
    admin = accounts.create_user(_account("root"), role=Role.ADMIN)
    member = accounts.create_user(_account("mem"))
    token = accounts.start_session(member)
    assert accounts.session_user(token) == member
    accounts.set_status(member, UserStatus.DISABLED, by=admin)
    assert accounts.session_user(token) is None


def test_events_are_recorded_in_the_callers_transaction(any_db_app):
    events.record("test.happened", subject_type="thing", subject_id=7, note="x")
    db.session.rollback()
    assert events.head() == 0
    first = events.record("test.happened", subject_type="thing", subject_id=7)
    second = events.record("test.again", subject_type="thing", subject_id=8)
    db.session.commit()
    assert [e.id for e in events.after(0)] == [first.id, second.id]
    assert [e.kind for e in events.after(first.id)] == ["test.again"]


def test_project_country_code_is_checked(any_db_app):
    with pytest.raises(ServiceError) as error:
        projects.save(projects.ProjectData(slug="xyz-team", name_zh="", name_en="X", country="China"), by=None)
    assert error.value.field == "country"
    assert count(AuditEntry) == 0
