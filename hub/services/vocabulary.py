"""The controlled bilingual vocabulary of topics and populations, and the sensitive-word list."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from hub.extensions import db
from hub.models import GlossaryEntry, SensitiveWord, Term
from hub.models.user import User
from hub.services import audit, names
from hub.services.errors import ServiceError, at_most

KINDS = ("topic", "population")

# slug, Chinese, English — the terms Chinese harm-reduction workers use.
TOPICS = [
    ("nsp", "针具交换", "Needle and syringe programmes"),
    ("oat", "美沙酮维持治疗 / 阿片类药物替代治疗", "Methadone / opioid agonist therapy"),
    ("peer-education", "同伴教育", "Peer education"),
    ("hiv-testing", "HIV检测与咨询", "HIV testing and counselling"),
    ("overdose-naloxone", "过量与纳洛酮", "Overdose and naloxone"),
    ("hepatitis-c", "丙型肝炎", "Hepatitis C"),
    ("stigma", "污名与歧视", "Stigma and discrimination"),
    ("employment", "就业与回归社会", "Employment and reintegration"),
    ("livelihoods", "生计与合作社", "Livelihoods and cooperatives"),
    ("psychosocial", "心理社会支持", "Psychosocial support"),
    ("family-support", "家庭支持", "Family support"),
    ("policy-advocacy", "政策倡导", "Policy and advocacy"),
    ("women-who-use-drugs", "女性药物使用者", "Women who use drugs"),
    ("prisons", "监所", "Prisons"),
    ("outreach", "外展", "Outreach"),
]
POPULATIONS = [
    ("people-who-inject-drugs", "注射吸毒者", "People who inject drugs"),
    ("people-who-use-drugs", "药物使用者", "People who use drugs"),
    ("mmt-clients", "美沙酮维持治疗服务对象", "Methadone (MMT) clients"),
    ("people-living-with-hiv", "HIV感染者", "People living with HIV"),
    ("sex-workers", "性工作者", "Sex workers"),
    ("msm", "男男性行为者", "Men who have sex with men"),
    ("young-people", "青少年", "Young people"),
    ("families", "家庭成员", "Families"),
    ("released-prisoners", "刑满释放人员", "People released from prison"),
    ("ethnic-minorities", "少数民族社区", "Ethnic minority communities"),
]
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")
NAME_LENGTH = 100  # of a topic's or population's name in each language (Term.name_zh, name_en)
GLOSSARY_TERMS_LENGTH = 500  # of a glossary entry's terms in each language


def seed() -> int:
    """Add the seed vocabulary where missing; return how many terms were added."""
    existing = set(db.session.execute(sa.select(Term.kind, Term.slug)).tuples())
    added = 0
    for kind, rows in (("topic", TOPICS), ("population", POPULATIONS)):
        for slug, zh, en in rows:
            if (kind, slug) not in existing:
                db.session.add(Term(kind=kind, slug=slug, name_zh=zh, name_en=en))
                added += 1
    db.session.commit()
    return added


def by_slug(kind: str, slug: str) -> Term | None:
    """Return the term of ``kind`` with ``slug``."""
    return db.session.scalar(sa.select(Term).where(Term.kind == kind, Term.slug == slug))


def add_term(*, kind: str, slug: str, name_zh: str, name_en: str, by: User | None) -> Term:
    """Extend the vocabulary with a new topic or population."""
    slug = slug.strip().lower()
    if kind not in KINDS:
        raise ServiceError(_l("Choose topic or population."), field="kind")
    if not SLUG_RE.fullmatch(slug):
        raise ServiceError(_l("Use 2 to 64 lower-case letters, digits and dashes."), field="slug")
    if by_slug(kind, slug):
        raise ServiceError(_l("This short name is already in the list."), field="slug")
    name_zh, name_en = names.clean(name_zh, field="name_zh"), names.clean(name_en, field="name_en")
    if not name_zh or not name_en:
        raise ServiceError(_l("Give the name in both languages."), field="name_zh")
    term = Term(kind=kind, slug=slug, name_zh=at_most(name_zh, NAME_LENGTH, field="name_zh"),
                name_en=at_most(name_en, NAME_LENGTH, field="name_en"))
    db.session.add(term)
    db.session.flush()
    audit.record("term.add", actor=by, target=term, kind=kind, slug=slug)
    db.session.commit()
    return term


def add_sensitive_word(word: str, *, by: User) -> SensitiveWord:
    """List a word the privacy check must warn about (never logged)."""
    word = word.strip()
    if not 2 <= len(word) <= 100:
        raise ServiceError(_l("A word has 2 to 100 characters."), field="word")
    if db.session.scalar(sa.select(SensitiveWord.id).where(SensitiveWord.word == word)):
        raise ServiceError(_l("This word is already in the list."), field="word")
    item = SensitiveWord(word=word)
    db.session.add(item)
    db.session.flush()
    audit.record("sensitive_word.add", actor=by, target=item)  # the word itself stays out of the log
    db.session.commit()
    return item


def remove_sensitive_word(item: SensitiveWord, *, by: User) -> None:
    """Take a word off the privacy list."""
    audit.record("sensitive_word.remove", actor=by, target=item)
    db.session.delete(item)
    db.session.commit()


def sensitive_word_list() -> list[SensitiveWord]:
    """Return the listed words, alphabetically."""
    return list(db.session.scalars(sa.select(SensitiveWord).order_by(SensitiveWord.word)))


def add_glossary_entry(*, concept: str, terms_zh: str, terms_en: str, by: User) -> GlossaryEntry:
    """Add synonyms to the search glossary (a new concept, or more terms for a known one)."""
    import search_index

    concept = concept.strip()
    known = search_index.glossary_concept(concept)
    if known is None:
        known = db.session.scalar(sa.select(GlossaryEntry.concept).where(GlossaryEntry.concept == concept.lower()))
    row = (known or concept.lower(), terms_zh.strip(), terms_en.strip())
    try:
        search_index.check_glossary_row(*row)
    except ValueError:
        raise ServiceError(_l("Give a short name (a-z, 0-9, _) and at least one term; separate terms with |."),
                           field="concept") from None
    entry = GlossaryEntry(concept=row[0], terms_zh=at_most(row[1], GLOSSARY_TERMS_LENGTH, field="terms_zh"),
                          terms_en=at_most(row[2], GLOSSARY_TERMS_LENGTH, field="terms_en"))
    same = sa.select(GlossaryEntry).where(GlossaryEntry.concept == entry.concept)
    if any(_terms(e.terms_zh) == _terms(entry.terms_zh) and _terms(e.terms_en) == _terms(entry.terms_en)
           for e in db.session.scalars(same)):  # sent twice, or added again by another administrator
        raise ServiceError(_l("These terms are already in the glossary under this name."), field="concept")
    db.session.add(entry)
    db.session.flush()
    audit.record("glossary.add", actor=by, target=entry, concept=row[0])
    db.session.commit()
    return entry


def _terms(text: str) -> frozenset[str]:
    """Return a glossary row's terms, as the search reads them: separated by |, case aside."""
    return frozenset(term.strip().casefold() for term in text.split("|") if term.strip())


def glossary_entries() -> list[GlossaryEntry]:
    """Return the administrators' glossary additions, newest first."""
    return list(db.session.scalars(sa.select(GlossaryEntry).order_by(GlossaryEntry.id.desc())))
