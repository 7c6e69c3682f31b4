"""Demo content for ``make run``: a few projects and one account of every role.

Loading is idempotent: a record that exists (by slug or username) is left alone, so a
second run adds nothing twice. The people and projects are invented.
"""
from __future__ import annotations

from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, projects

PASSWORD = "demo-pass-2026"

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


def load() -> int:
    """Add the demo projects and users that are missing; return how many were added."""
    created = 0
    for data in PROJECTS:
        if projects.by_slug(data.slug) is None:
            projects.save(data, by=None)
            created += 1
    for username, role, pseudonym, slug in USERS:
        if accounts.find_by_login(username) is None:
            account = accounts.NewAccount(
                username=username, pseudonym=pseudonym, password=PASSWORD,
                email=f"{username}@demo.invalid", locale="en" if username == "partner" else "zh_Hans",
            )
            accounts.create_user(account, role=role, project=projects.by_slug(slug))
            created += 1
    db.session.commit()
    return created
