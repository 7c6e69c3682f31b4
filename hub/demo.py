"""Demo content for ``make run``: a few projects and one account of every role.

Loading is idempotent: a record that exists (by slug or username) is left alone, so a
second run adds nothing twice. The people and projects are invented.
"""
from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.models.note import Note
from hub.models.user import Role
from hub.services import accounts, notes, projects, vocabulary

PASSWORD = "demo-pass-2026"
# A documentation domain (RFC 2606) that the account form accepts; ".invalid", used before, is refused
# by the e-mail check, so demo accounts could not save their settings.
EMAIL_DOMAIN = "demo.example.org"
OLD_EMAIL_DOMAIN = "demo.invalid"

PROJECTS = [
    projects.ProjectData(
        slug="chengdu-peer-centre",
        name_zh="成都同伴支持服务中心", name_en="Chengdu Peer Support Service Centre",
        city="成都", province="四川", country="CN",
        description_zh="由同伴运营的服务中心，为美沙酮维持治疗服务对象和针具交换使用者提供同伴教育、外展和转介服务。",
        description_en="A peer-run service centre offering peer education, outreach and referrals "
                       "for methadone (MMT) clients and needle-exchange users.",
    ),
    projects.ProjectData(
        slug="liangshan-outreach",
        name_zh="凉山外展小组", name_en="Liangshan Outreach Team",
        city="西昌", province="四川", country="CN",
        description_zh="在凉山州开展外展、HIV检测动员和丙肝转介的社区小组。",
        description_en="A community team doing outreach, HIV testing promotion and hepatitis C "
                       "referrals in Liangshan prefecture.",
    ),
    projects.ProjectData(
        slug="hanoi-harm-reduction",
        name_zh="河内减害网络", name_en="Hanoi Harm Reduction Network",
        city="Hanoi", province="Hà Nội", country="VN",
        description_zh="越南河内的减害同伴网络，合作伙伴组织。",
        description_en="A network of peer harm-reduction workers in Hanoi, Viet Nam; a partner organisation.",
    ),
]

# username, role, pseudonym, project slug
USERS = [
    ("admin", Role.ADMIN, "管理员阿梅", "chengdu-peer-centre"),
    ("moderator", Role.MODERATOR, "山风", "chengdu-peer-centre"),
    ("peer", Role.CONTRIBUTOR, "小李", "chengdu-peer-centre"),
    ("outreach", Role.CONTRIBUTOR, "阿木", "liangshan-outreach"),
    ("partner", Role.MEMBER, "Lan (Hanoi)", "hanoi-harm-reduction"),
]


# author, title, summary, body, language, visibility, topic slugs, state
NOTES = [
    ("peer", "门诊里的同伴值班：美沙酮维持治疗服务对象更愿意留下来",
     "我们在美沙酮门诊安排同伴教育员每天值班两小时，三个月后脱失的服务对象明显减少。",
     "## 背景\n\n不少服务对象在服药后马上离开，医生没有时间和他们聊。\n\n"
     "## 我们做了什么\n\n- 每天上午由两名同伴教育员在候诊区值班\n- 准备了热水和简单的早餐\n"
     "- 用化名登记谁需要转介\n\n## 学到了什么\n\n服务对象说“有人认识我、不评判我”是留下来的主要原因。",
     "zh_Hans", "public", ["oat", "peer-education"], "published"),
    ("outreach", "外展中的纳洛酮培训：从一次过量事件开始",
     "一次过量事件后，我们为针具交换点的常客做了纳洛酮使用培训。",
     "培训时间控制在二十分钟以内，在针具交换点旁边进行。参加的人回去后又教了自己的朋友。\n\n"
     "**下次会改进的地方：** 准备更多的示范用品。",
     "zh_Hans", "members", ["overdose-naloxone", "outreach", "nsp"], "published"),
    ("peer", "Hepatitis C referrals that clients actually follow",
     "Accompanied referrals doubled the number of clients who reached the hepatitis C clinic.",
     "We walked with clients to the hospital instead of handing out a referral slip.\n\n"
     "1. Book the appointment together\n2. Meet at the service centre\n3. Go together and wait together",
     "en", "public", ["hepatitis-c", "peer-education"], "published"),
    ("outreach", "家庭支持小组的第一次尝试", "我们邀请服务对象的家人参加小组活动，第一次只有三个家庭来。",
     "这是草稿，还在写。", "zh_Hans", "members", ["family-support"], "draft"),
]


def load() -> int:
    """Add the demo projects, users and notes that are missing; return how many were added."""
    created = 0
    for data in PROJECTS:
        if projects.by_slug(data.slug) is None:
            projects.save(data, by=None)
            created += 1
    for username, role, pseudonym, slug in USERS:
        user = accounts.find_by_login(username)
        if user is None:
            # No language of their own: a demo account follows the browser, as a new person's does.
            account = accounts.NewAccount(username=username, pseudonym=pseudonym, password=PASSWORD,
                                          email=f"{username}@{EMAIL_DOMAIN}")
            accounts.create_user(account, role=role, project=projects.by_slug(slug))
            created += 1
        elif user.email == f"{username}@{OLD_EMAIL_DOMAIN}":
            _mend(user)
    db.session.commit()
    return created + _load_notes()


def _mend(user) -> None:
    """Bring a demo account made by an older version up to date.

    Its address could never pass the settings form, so its person never saved a language either:
    the fixed language the demo gave it goes too.
    """
    user.email = f"{user.username}@{EMAIL_DOMAIN}"
    user.locale = None


def _load_notes() -> int:
    """Write and publish the demo notes once (they are recognised by title)."""
    vocabulary.seed()
    moderator = accounts.find_by_login("moderator")
    created = 0
    for username, title, summary, body, language, visibility, topics, state in NOTES:
        if not title or db.session.scalar(sa.select(Note.id).where(Note.title == title)):
            continue
        author = accounts.find_by_login(username)
        term_ids = [t.id for slug in topics if (t := vocabulary.by_slug("topic", slug))]
        note = notes.create_draft(author=author, data=notes.NoteInput(
            title=title, summary=summary, body=body, language=language, visibility=visibility,
            term_ids=term_ids, place=author.project.city if author.project else "",
            province=author.project.province if author.project else ""))
        if state == "published":
            notes.submit(note, by=author, confirm_privacy=True)
            notes.approve(note, by=moderator, featured=created == 0)
        created += 1
    return created
