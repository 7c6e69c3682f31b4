"""A small hub with notes of every visibility, for the tests of what machines read (API, feeds, OAI, overview)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hub.extensions import db
from hub.models import Note, Project, Role, User
from hub.services import accounts, notes, projects, translations, vocabulary
from tests.helpers import PASSWORD


def person(username: str, *, role: Role = Role.MEMBER, project: Project | None = None, pseudonym: str = "") -> User:
    """Create an active account."""
    user = accounts.create_user(accounts.NewAccount(username=username, pseudonym=pseudonym or username.title(),
                                                    password=PASSWORD, email=f"{username}@example.org"),
                                role=role, project=project)
    db.session.commit()
    return user


def publish(author: User, moderator: User, title: str, *, visibility: str = "public", language: str = "zh_Hans",
            topics: tuple[str, ...] = (), populations: tuple[str, ...] = (), province: str = "四川", place: str = "成都",
            body: str = "我们每周二在门诊安排同伴值班。", sections: dict[str, str] | None = None,
            published_at: dt.datetime | None = None) -> Note:
    """Write, submit and approve a note; ``published_at`` backdates it (and its last change)."""
    term_ids = [vocabulary.by_slug("topic", s).id for s in topics] + \
               [vocabulary.by_slug("population", s).id for s in populations]
    note = notes.create_draft(author=author, data=notes.NoteInput(
        title=title, summary=f"{title}：摘要。", body=body, language=language, visibility=visibility,
        province=province, place=place, term_ids=term_ids, sections=sections or {}))
    notes.submit(note, by=author, confirm_privacy=True)
    notes.approve(note, by=moderator)
    if published_at is not None:
        note.published_at = note.updated_at = note.changed_at = published_at
        db.session.commit()
    return note


def translate(original: Note, translator: User, moderator: User, *, title: str = "Peer duty") -> Note:
    """Translate ``original`` into English and publish the translation."""
    translation = translations.start(original, by=translator, language="en")
    notes.save(translation, by=translator, data=notes.NoteInput(
        title=title, summary="We put peers on duty.", body="Every Tuesday a peer is on duty.", language="en"))
    notes.submit(translation, by=translator, confirm_privacy=True)
    notes.approve(translation, by=moderator)
    return translation


@dataclass
class Catalogue:
    """The people and notes of the small hub."""

    project: Project
    other_project: Project
    author: User
    moderator: User
    member: User
    public: list[Note] = field(default_factory=list)
    partners: Note | None = None
    members: Note | None = None
    draft: Note | None = None
    translation: Note | None = None


def build() -> Catalogue:
    """Create two projects, three people, five public notes, a partners note, a members note, a draft."""
    vocabulary.seed()
    project = projects.save(projects.ProjectData(
        slug="chengdu-peer-centre", name_zh="成都同伴支持服务中心", name_en="Chengdu Peer Support Centre",
        city="成都", province="四川", country="CN"), by=None)
    other = projects.save(projects.ProjectData(
        slug="yunnan-outreach", name_zh="云南外展小组", name_en="Yunnan Outreach Group", city="昆明",
        province="云南", country="CN"), by=None)
    author = person("lee", role=Role.CONTRIBUTOR, project=project, pseudonym="小李")
    other_author = person("kun", role=Role.CONTRIBUTOR, project=other, pseudonym="阿昆")
    moderator = person("moder", role=Role.MODERATOR, project=project, pseudonym="山风")
    member = person("mary", project=project, pseudonym="Mary")
    base = dt.datetime(2023, 3, 1, 8, 0)
    made = Catalogue(project=project, other_project=other, author=author, moderator=moderator, member=member)
    made.public = [
        publish(author, moderator, "同伴值班", topics=("peer-education", "oat"), populations=("mmt-clients",),
                sections={"context": "门诊在城郊。", "what_we_learned": "同伴比海报有用。"}, published_at=base),
        publish(author, moderator, "针具交换点的夜间服务", topics=("nsp",), published_at=base + dt.timedelta(days=40)),
        publish(other_author, moderator, "Outreach in Kunming", language="en", topics=("outreach",),
                province="云南", place="昆明", body="We walk the night market.", published_at=base + dt.timedelta(days=400)),
        publish(other_author, moderator, "纳洛酮培训", topics=("overdose-naloxone", "peer-education"),
                populations=("people-who-use-drugs",), province="云南", place="昆明",
                published_at=base + dt.timedelta(days=500)),
        publish(author, moderator, "HIV检测外展", topics=("hiv-testing",), published_at=base + dt.timedelta(days=800)),
    ]
    made.partners = publish(author, moderator, "伙伴可见的笔记", visibility="partners", topics=("nsp",))
    made.members = publish(author, moderator, "仅成员可见的笔记", visibility="members", topics=("nsp",))
    made.draft = notes.create_draft(author=author, data=notes.NoteInput(
        title="草稿不外传", summary="草稿", body="草稿正文", visibility="public"))
    made.translation = translate(made.public[0], author, moderator)
    return made
