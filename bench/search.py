"""Measure full-text search (Whoosh + bilingual analysis) against an SQLite FTS5 + jieba baseline.

Run from the project root::

    .venv/bin/python bench/search.py --notes 20000            # one size
    .venv/bin/python bench/search.py                          # 20k and 100k (the issue's targets)
    .venv/bin/python bench/search.py --notes 20000 --skip-http --queries 100

For each size the bench:

1. generates a seeded bilingual corpus (about 60% Chinese, 40% English, some mixed; 300-1500
   characters; harm-reduction vocabulary from ``search_index/data/glossary.tsv``; topics,
   populations, projects, provinces, years, mostly public) and inserts it into a fresh hub
   database (SQLite in ``--workdir``, cached per size and seed, so reruns skip this);
2. times ``search_index.rebuild(procs=P)`` (notes/s, peak RSS of the process and of the
   sub-writers);
3. runs a fixed, seeded query mix (Chinese and English single words, multi-word, quoted phrases,
   filtered) through ``search_index.search`` as an anonymous reader (facets, highlights and the
   database re-check included), result cache cleared before every timed query, and the same
   queries against SQLite FTS5 (jieba search-mode text, unicode61, bm25, ``snippet()``, facet
   counts by GROUP BY over the matching rowids, LIMIT 10), interleaved so both see the same load;
   then a pass with timers around each phase of a search (where the time goes);
4. publishes notes through ``hub.services.notes`` while ``hub.worker.run`` polls in a thread, and
   times until search finds them (freshness); also the idle worker's CPU use;
5. reads the resident memory of a process after warm queries (a web worker's memory);
6. unless ``--skip-http``, starts gunicorn (2 workers) on the built hub and runs 8 concurrent
   clients against ``/search`` for about 20 s.

Heavy steps run in child processes (this script with ``--phase``), so each memory figure belongs
to one step. The load average is recorded with every figure: other work on the machine slows
the wall-clock figures (CPU-time figures are printed beside them). Results are printed and
written to ``bench/search_results.md`` (the sections of the sizes run are replaced).

To measure a changed copy of ``search_index`` without touching the repository, put it first on
``PYTHONPATH`` (``PYTHONPATH=/tmp/variant .venv/bin/python bench/search.py ...``; use another
``--workdir`` if the index format changes). The gunicorn step always uses the repository's code.
"""
from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # appended, so that a PYTHONPATH variant of search_index wins

RESULTS_MD = ROOT / "bench" / "search_results.md"
DEFAULT_WORKDIR = Path("/tmp/hub-search-bench")
GLOSSARY_TSV = ROOT / "search_index" / "data" / "glossary.tsv"

# --- targets (from the issue) ------------------------------------------------------------------

TARGETS = {
    "mix_p95_20k_ms": 50.0,
    "mix_p50_100k_ms": 30.0,
    "mix_p95_100k_ms": 150.0,
    "ratio_p95_max": 2.0,
    "rebuild_notes_per_s": 300.0,
    "freshness_s": 2.0,
    "memory_mb": 400.0,
    "http_p95_ms": 200.0,
    "api_over_engine_p95": 2.0,
}

# --- the corpus ----------------------------------------------------------------------------------

PROJECTS = [
    ("chengdu-peer-centre", "成都同伴支持服务中心", "Chengdu Peer Support Centre", "成都", "四川"),
    ("liangshan-outreach", "凉山外展小组", "Liangshan Outreach Team", "西昌", "四川"),
    ("kunming-harm-reduction", "昆明减害小组", "Kunming Harm Reduction Group", "昆明", "云南"),
    ("nanning-community-health", "南宁社区健康互助会", "Nanning Community Health Circle", "南宁", "广西"),
    ("urumqi-peer-network", "乌鲁木齐同伴网络", "Urumqi Peer Network", "乌鲁木齐", "新疆"),
]
OTHER_PROVINCES = ["贵州", "湖南", "广东", "云南", "四川"]
AUTHORS = ["小李", "阿木", "山风", "老周", "阿梅", "小杨", "红姐", "阿华", "小陈", "Lan"]
ZH_PLACES = ["社区", "门诊", "县城", "候诊区", "活动中心", "茶馆", "工地", "村里", "戒毒所门口", "夜市"]
EN_PLACES = ["in the clinic", "at the drop-in centre", "on outreach", "in the county town", "near the market",
             "in the waiting room", "in the village", "at the tea house"]
ZH_HEADINGS = ["背景", "我们做了什么", "发生了什么", "学到了什么", "下次会怎么做"]
EN_HEADINGS = ["Context", "What we did", "What happened", "What we learned", "What we would do differently"]
ZH_TEMPLATES = [
    "我们在{place}开展{a}，很多服务对象第一次了解{b}。", "{a}和{b}需要一起做，不能分开。",
    "同伴教育员每周两次到{place}做{a}。", "服务对象反映，{a}让他们更愿意接受{b}。",
    "派出所和疾控中心的沟通影响了{a}的开展。", "有人担心{a}会带来歧视，所以我们用化名登记。",
    "三个月后，参加{a}的人数增加了一倍。", "我们把{a}的宣传折页放在{place}。",
    "{a}的经费主要来自社区组织的小额资助。", "下一步计划把{a}和{b}结合起来。",
    "在{place}，{a}最大的困难是服务对象不愿意留下联系方式。", "志愿者陪同服务对象去医院做{a}。",
    "督导会上大家讨论了{a}中遇到的问题。", "{a}之后，有几位服务对象主动来问{b}。",
]
ZH_FILLER = [
    "很多服务对象在服药后马上离开，医生没有时间和他们聊。", "我们安排两名同伴教育员在候诊区值班。",
    "准备了热水和简单的早餐，大家愿意多坐一会儿。", "用化名登记谁需要转介，不留真实姓名。",
    "三个月后脱失的服务对象明显减少。", "服务对象说有人认识我、不评判我是留下来的主要原因。",
    "培训时间控制在二十分钟以内。", "参加的人回去后又教了自己的朋友。",
    "污名和歧视仍然是最大的障碍，很多人害怕被家人知道。", "社区工作者和派出所的沟通需要提前做好。",
    "有些服务对象第一次愿意谈自己的感染状况。", "合作社的手工产品在周末集市上卖得不错。",
    "下次会准备更多的示范用品和宣传折页。", "我们发现晚上八点以后来交换针具的人最多。",
    "同伴之间的信任比任何宣传材料都有用。", "冬天来的人少，我们把活动时间提前到了下午。",
]
EN_TEMPLATES = [
    "We ran {a} {place}, and many clients heard about {b} for the first time.",
    "{A} and {b} work best when they are offered together.",
    "Peer educators go {place} twice a week to help with {a}.",
    "Clients told us that {a} made them more willing to try {b}.",
    "Talking to the police beforehand made {a} much calmer.",
    "Some worried that {a} would bring more discrimination, so we used pseudonyms.",
    "After three months, twice as many people took part in {a}.",
    "We left leaflets about {a} {place}.", "Funding for {a} came from small community grants.",
    "Next year we plan to combine {a} with {b}.",
    "The hardest part of {a} {place} was that clients did not want to leave a phone number.",
    "Volunteers walked with clients to the hospital for {a}.",
    "At the supervision meeting we talked about problems with {a}.",
]
EN_FILLER = [
    "Many clients left right after their dose, and the doctors had no time to talk.",
    "Two peer educators now sit in the waiting room every morning.",
    "We offered hot water and a simple breakfast, so people stayed a little longer.",
    "Referrals are logged under a pseudonym; no real names are written down.",
    "After three months, fewer clients dropped out of treatment.",
    "Clients said that being known and not judged was why they stayed.",
    "Each training took less than twenty minutes, right next to the exchange point.",
    "People who took part went on to teach their friends.",
    "Stigma is still the biggest barrier; many fear that their family will find out.",
    "The cooperative's handmade goods sold well at the weekend market.",
    "Next time we will bring more demonstration kits and leaflets.",
    "Most people came to exchange needles after eight in the evening.",
    "Trust between peers did more than any leaflet could.",
    "Fewer people came in winter, so we moved the sessions to the afternoon.",
]
ZH_TITLES = ["{place}的{a}经验", "{a}与{b}：一次尝试", "在{place}做{a}", "{a}服务中的同伴", "我们如何改进{a}",
             "{a}：从{place}开始"]
EN_TITLES = ["{A} {place}", "{A} and {b}: a first try", "How we improved {a}", "Peers in {a}",
             "Starting {a} {place}"]
TAGS = ["冬季", "夜间服务", "同伴", "快速检测", "家属", "winter", "night shift", "peers", "rapid test",
        "referral", "cooperative", "naloxone"]
# Which glossary concepts a note about each topic talks about most.
TOPIC_CONCEPTS = {
    "nsp": ["nsp", "needles", "needle_sharing", "sharps_disposal", "pharmacy_nsp", "safer_injecting", "pwid"],
    "oat": ["mmt", "ost", "dose", "dosing_site", "take_home_doses", "buprenorphine", "adherence", "retention"],
    "peer-education": ["peer_education", "peer_support", "peer_workers", "volunteers", "self_help_group"],
    "hiv-testing": ["hiv_testing", "rapid_test", "vct", "self_testing", "screening", "referral", "linkage"],
    "overdose-naloxone": ["naloxone", "take_home_naloxone", "overdose", "overdose_response", "fentanyl"],
    "hepatitis-c": ["hcv", "hcv_testing", "hcv_treatment", "daa", "liver_disease", "referral"],
    "stigma": ["stigma", "confidentiality", "human_rights", "disclosure", "legal_aid"],
    "employment": ["employment", "social_assistance", "housing", "capacity_building"],
    "livelihoods": ["employment", "social_assistance", "funding", "sustainability"],
    "psychosocial": ["counselling", "mental_health", "depression", "peer_support", "hotline"],
    "family-support": ["family_support", "counselling", "disclosure"],
    "policy-advocacy": ["advocacy", "police", "police_cooperation", "decriminalisation", "drug_control"],
    "women-who-use-drugs": ["women_who_use_drugs", "gbv", "sex_workers", "pmtct", "condoms"],
    "prisons": ["prisons", "compulsory_detention", "community_treatment", "relapse", "urine_test"],
    "outreach": ["outreach", "online_outreach", "drop_in_centre", "pwid", "pwud", "harm_reduction"],
}
VISIBILITY_WEIGHTS = [("public", 80), ("members", 14), ("partners", 6)]
EPOCH = dt.datetime(2019, 1, 1)


def load_concepts() -> list[tuple[str, list[str], list[str]]]:
    """Return (concept id, Chinese terms, English terms) from the shipped glossary."""
    concepts = []
    for line in GLOSSARY_TSV.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cid, zh, en = line.split("\t")
        concepts.append((cid, [t for t in zh.split("|") if t], [t for t in en.split("|") if t]))
    return concepts


class CorpusGenerator:
    """A seeded generator of bilingual practice notes; note ``i`` depends only on seed and i."""

    def __init__(self, seed: int, topic_slugs: list[str], population_slugs: list[str]) -> None:
        self.seed = seed
        self.topics = topic_slugs
        self.populations = population_slugs
        self.concepts = load_concepts()
        order = random.Random(seed).sample(range(len(self.concepts)), len(self.concepts))
        # Zipf-like frequencies: a few concepts are everywhere, most are rare.
        self.weights = [0.0] * len(self.concepts)
        for rank, number in enumerate(order):
            self.weights[number] = 1.0 / (rank + 1) ** 0.9
        index = {cid: number for number, (cid, _, _) in enumerate(self.concepts)}
        self.by_topic = {slug: [index[c] for c in TOPIC_CONCEPTS.get(slug, []) if c in index] for slug in topic_slugs}

    def _concept(self, rng: random.Random, topic: str) -> int:
        near = self.by_topic.get(topic) or []
        if near and rng.random() < 0.5:
            return rng.choice(near)
        return rng.choices(range(len(self.concepts)), weights=self.weights)[0]

    def _term(self, rng: random.Random, topic: str, chinese: bool) -> str:
        _cid, zh, en = self.concepts[self._concept(rng, topic)]
        terms = (zh or en) if chinese else (en or zh)
        # The preferred term most of the time, a synonym sometimes.
        return terms[0] if rng.random() < 0.6 else rng.choice(terms)

    def _sentence(self, rng: random.Random, topic: str, chinese: bool, mixed: bool) -> str:
        if rng.random() < 0.35:
            return rng.choice(ZH_FILLER if chinese else EN_FILLER)
        a, b = self._term(rng, topic, chinese), self._term(rng, topic, chinese)
        if mixed and rng.random() < 0.4:  # the other language in parentheses, as people write
            other = self._term(rng, topic, not chinese)
            a = f"{a}（{other}）" if chinese else f"{a} ({other})"
        if chinese:
            return rng.choice(ZH_TEMPLATES).format(a=a, b=b, place=rng.choice(ZH_PLACES))
        return rng.choice(EN_TEMPLATES).format(a=a, A=a[:1].upper() + a[1:], b=b, place=rng.choice(EN_PLACES))

    def note(self, number: int) -> dict[str, Any]:
        """Return note ``number`` (0-based) as a dict of fields."""
        rng = random.Random(self.seed * 1_000_003 + number)
        chinese = rng.random() < 0.6
        mixed = rng.random() < 0.15
        topics = rng.sample(self.topics, rng.choice([1, 1, 2, 2, 3]))
        primary = topics[0]
        populations = rng.sample(self.populations, rng.choice([0, 1, 1, 2]))
        project = rng.randrange(len(PROJECTS))
        slug, _, _, city, province = PROJECTS[project]
        if rng.random() < 0.1:
            province = rng.choice(OTHER_PROVINCES)
        target = rng.randint(300, 1500)
        joiner = "" if chinese else " "
        headings = ZH_HEADINGS if chinese else EN_HEADINGS
        parts: list[str] = []
        length = 0
        section = 0
        while length < target:
            if section < len(headings) and (section == 0 or rng.random() < 0.5):
                parts.append("## " + headings[section])
                section += 1
            sentences = [self._sentence(rng, primary, chinese, mixed) for _ in range(rng.randint(2, 5))]
            if rng.random() < 0.2:
                parts.append("\n".join("- " + s for s in sentences))
            else:
                text = joiner.join(sentences)
                parts.append(f"**{text[:10]}**{text[10:]}" if rng.random() < 0.15 else text)
            length = sum(len(p) + 2 for p in parts)
        body = "\n\n".join(parts)[:target].rstrip()
        a, b = self._term(rng, primary, chinese), self._term(rng, primary, chinese)
        if chinese:
            title = rng.choice(ZH_TITLES).format(a=a, b=b, place=city)
            summary = "".join(self._sentence(rng, primary, chinese, mixed) for _ in range(2))
        else:
            title = rng.choice(EN_TITLES).format(a=a, A=a[:1].upper() + a[1:], b=b, place=f"in {slug.split('-')[0].title()}")
            summary = " ".join(self._sentence(rng, primary, chinese, mixed) for _ in range(2))
        published = EPOCH + dt.timedelta(seconds=rng.randrange(int(6.5 * 365 * 86400)))
        visibility = rng.choices([v for v, _ in VISIBILITY_WEIGHTS], weights=[w for _, w in VISIBILITY_WEIGHTS])[0]
        return {"title": title[:200], "summary": summary[:300], "body": body, "language": "zh_Hans" if chinese else "en",
                "project": project, "city": city, "province": province, "topics": topics, "populations": populations,
                "tags": rng.sample(TAGS, rng.randint(0, 3)), "visibility": visibility, "published_at": published,
                "author": rng.randrange(len(AUTHORS))}


# --- the query mix -------------------------------------------------------------------------------

ZH_WORDS = ["美沙酮", "针具", "歧视", "外展", "纳洛酮", "同伴教育", "丙肝", "转介", "就业", "污名", "过量", "艾滋病",
            "安全套", "家属", "快速检测", "依从性", "派出所", "合作社", "督导", "疾控中心", "脱失", "抗病毒治疗",
            "心理健康", "减害", "社区戒毒", "个案管理", "志愿者", "宣传折页", "化名", "丁丙诺啡"]
EN_WORDS = ["methadone", "naloxone", "outreach", "stigma", "referral", "syringe", "hepatitis", "employment",
            "overdose", "police", "cooperative", "discrimination", "adherence", "condoms", "families", "leaflets",
            "pseudonym", "breakfast", "supervision", "retention", "prison", "fentanyl", "counselling", "housing",
            "volunteers", "testing", "PrEP", "MMT", "HIV", "buprenorphine"]
MULTI = ["美沙酮 就业", "外展 纳洛酮", "针具交换 派出所", "同伴教育 丙肝", "艾滋病 检测 转介", "歧视 家属",
         "过量 培训", "心理健康 同伴支持", "合作社 就业", "快速检测 候诊区",
         "peer educators overdose", "needle exchange police", "methadone clients employment", "hepatitis C referral",
         "stigma families", "naloxone training friends", "outreach leaflets market", "HIV testing referral",
         "MMT 就业", "HIV 检测 outreach", "naloxone 培训", "PrEP 同伴"]
PHRASES = ['"针具交换 项目"', '"美沙酮 维持 治疗"', '"同伴 教育员"', '"快速 检测"', '"宣传 折页"', '"服务 对象"',
           '"疾控 中心"', '"社区 组织"', '"peer educators"', '"harm reduction"', '"needle exchange"',
           '"waiting room"', '"small community grants"', '"hepatitis C"', '"take-home naloxone"',
           '"supervision meeting"']
FILTERS = [{"topic": "oat"}, {"topic": "nsp"}, {"topic": "stigma"}, {"topic": "outreach"}, {"topic": "hiv-testing"},
           {"language": "en"}, {"language": "zh_Hans"}, {"province": "四川"}, {"province": "云南"},
           {"year": "2023"}, {"topic": "peer-education", "language": "zh_Hans"},
           {"topic": "overdose-naloxone", "language": "en"}]
KINDS = ["word (zh)", "word (en)", "multi-word", "phrase", "filtered"]


def _pick(rng: random.Random, kind: str) -> tuple[str, dict[str, str]]:
    if kind == "word (zh)":
        return rng.choice(ZH_WORDS), {}
    if kind == "word (en)":
        return rng.choice(EN_WORDS), {}
    if kind == "multi-word":
        if rng.random() < 0.5:
            return rng.choice(MULTI), {}
        words = ZH_WORDS if rng.random() < 0.5 else EN_WORDS
        return " ".join(rng.sample(words, 2)), {}
    if kind == "phrase":
        return rng.choice(PHRASES), {}
    return rng.choice(ZH_WORDS + EN_WORDS), dict(rng.choice(FILTERS))


def query_mix(seed: int, count: int) -> list[tuple[str, str, dict[str, str]]]:
    """Return ``count`` (kind, text, filters), kinds in turn, seeded."""
    rng = random.Random(seed + 17)
    return [(kind, *_pick(rng, kind)) for kind in (KINDS[i % len(KINDS)] for i in range(count))]


def http_pool(seed: int, count: int) -> list[tuple[str, str, dict[str, str]]]:
    """Return up to ``count`` distinct (kind, text, filters) for the HTTP clients (few cache hits)."""
    rng = random.Random(seed + 29)
    seen, pool = set(), []
    for attempt in range(count * 20):
        kind = KINDS[attempt % len(KINDS)]
        text, filters = _pick(rng, kind)
        key = (text, tuple(sorted(filters.items())))
        if key not in seen:
            seen.add(key)
            pool.append((kind, text, filters))
        if len(pool) >= count:
            break
    rng.shuffle(pool)
    return pool


# --- small helpers ---------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` (0-100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def rss_mb(pid: int | str = "self", key: str = "VmRSS") -> float:
    """Return a process's resident memory (or VmHWM) in MB from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def loadavg() -> str:
    """Return the 1, 5 and 15 minute load averages as text."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def log(message: str) -> None:
    """Print progress to stderr with a timestamp and the load average."""
    print(f"[{time.strftime('%H:%M:%S')} load {loadavg()}] {message}", file=sys.stderr, flush=True)


def instance_dir(workdir: Path, notes: int, seed: int) -> Path:
    """Return the cached hub instance folder of one corpus."""
    return workdir / f"hub-{notes}-seed{seed}"


def hub_env(instance: Path) -> dict[str, str]:
    """Return the environment of a development hub living in ``instance``."""
    return {**os.environ, "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(instance),
            "HUB_DATABASE_URL": f"sqlite:///{instance}/hub.sqlite", "FLASK_APP": "wsgi",
            "HUB_PASSWORD_HASH_METHOD": "scrypt:1024:8:1", "HUB_WORKER_POLL_SECONDS": "0.2",
            # The bench is one client asking thousands of times a minute: the API's limits are not what it measures.
            "HUB_API_RATE_LIMIT": "1000000 per minute", "HUB_API_RATE_LIMIT_ANONYMOUS": "1000000 per minute"}


def make_app(instance: Path):
    """Create the hub app for ``instance`` (the environment is read by create_app)."""
    os.environ.update(hub_env(instance))
    from hub import create_app

    return create_app()


def anonymous():
    """Return a viewer like a visitor who is not signed in."""
    from flask_login import AnonymousUserMixin

    return AnonymousUserMixin()


def emit(result: dict[str, Any]) -> None:
    """Hand a child phase's result to the parent."""
    print("@@RESULT " + json.dumps(result, ensure_ascii=False, default=str), flush=True)


def run_child(phase: str, instance: Path, args: argparse.Namespace, notes: int, timeout: float = 3600) -> dict:
    """Run one phase in a child process of this script and return its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--instance", str(instance),
               "--notes", str(notes), "--seed", str(args.seed), "--queries", str(args.queries),
               "--procs", str(args.procs)]
    done = subprocess.run(command, cwd=ROOT, env=hub_env(instance), stdout=subprocess.PIPE, text=True,
                          timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("@@RESULT ")]
    if done.returncode or not lines:
        sys.stdout.write(done.stdout)
        raise SystemExit(f"phase {phase} failed (exit {done.returncode})")
    return json.loads(lines[-1][len("@@RESULT "):])


# --- phase: build the hub database ---------------------------------------------------------------------

def phase_fill_html(instance: Path) -> dict[str, Any]:
    """Render body_html for notes of a database built before the bench rendered it (as saving does)."""
    import sqlalchemy as sa

    from hub.extensions import db
    from hub.models.note import Note
    from hub.text import html_line, render_markdown

    app = make_app(instance)
    started, count = time.perf_counter(), 0
    with app.app_context():
        placeholder = Note.body_html == "<p>(bench placeholder)</p>"
        while rows := db.session.execute(sa.select(Note.id, Note.body).where(placeholder).limit(5000)).all():
            pages = [(i, render_markdown(body, local_hosts=frozenset())) for i, body in rows]
            db.session.execute(sa.update(Note), [{"id": i, "body_html": page, "body_text": html_line(page)}
                                                 for i, page in pages])  # bulk: as Note's validator would
            db.session.commit()
            count += len(rows)
            log(f"  rendered body_html of {count} notes")
    return {"rendered": count, "seconds": round(time.perf_counter() - started, 1)}


def phase_migrate(instance: Path) -> dict[str, Any]:
    """Bring a database built by an older bench up to the models (e.g. fill note.body_text); none if it is."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade

    from hub.extensions import db

    app = make_app(instance)
    started = time.perf_counter()
    with app.app_context():
        migrate = app.extensions["migrate"]
        known = {script.revision for script in
                 ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory)).walk_revisions()}
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        if current <= known:
            upgrade(directory=migrate.directory)
        else:  # a database newer than the code (an older tree on PYTHONPATH): left as it is
            log(f"  database at {sorted(current)}, which this code does not know: left as it is")
    return {"seconds": round(time.perf_counter() - started, 1)}


def phase_build_db(instance: Path, notes: int, seed: int) -> dict[str, Any]:
    """Create a fresh hub with ``notes`` published notes (bulk inserts, no events)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from hub.extensions import db
    from hub.models import Note, note_term, Term
    from hub.models.user import Role
    from hub.services import accounts, projects, vocabulary
    from hub.text import html_line, render_markdown

    started = time.perf_counter()
    app = make_app(instance)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        vocabulary.seed()
        homes = [projects.save(projects.ProjectData(slug=s, name_zh=zh, name_en=en, city=city, province=prov,
                                                    country="CN"), by=None)
                 for s, zh, en, city, prov in PROJECTS]
        authors = []
        for number, pseudonym in enumerate(AUTHORS):
            authors.append(accounts.create_user(
                accounts.NewAccount(username=f"author{number}", pseudonym=pseudonym, password="bench password 1",
                                    email=f"author{number}@bench.invalid"),
                role=Role.CONTRIBUTOR, project=homes[number % len(homes)]))
        db.session.commit()
        terms = {(t.kind, t.slug): t.id for t in db.session.scalars(sa.select(Term))}
        generator = CorpusGenerator(seed, [s for k, s in terms if k == "topic"],
                                    [s for k, s in terms if k == "population"])
        project_ids = [p.id for p in homes]
        author_ids = [a.id for a in authors]
        chunk, characters = 2000, 0
        for first in range(0, notes, chunk):
            rows, links = [], []
            for number in range(first, min(notes, first + chunk)):
                n = generator.note(number)
                note_id = number + 1
                characters += len(n["body"])
                moment = n["published_at"]
                page = render_markdown(n["body"], local_hosts=frozenset())
                rows.append({"id": note_id, "author_id": author_ids[n["author"]],
                             "project_id": project_ids[n["project"]], "state": "published",
                             "visibility": n["visibility"], "language": n["language"], "title": n["title"],
                             "summary": n["summary"], "body": n["body"], "sections": {},
                             "body_html": page, "body_text": html_line(page), "place": n["city"],
                             "province": n["province"], "tags": n["tags"], "featured": False,
                             "revision_number": 1, "created_at": moment - dt.timedelta(days=2),
                             "updated_at": moment, "submitted_at": moment - dt.timedelta(days=1),
                             "published_at": moment, "deleted_at": None})
                links += [{"note_id": note_id, "term_id": terms[("topic", s)]} for s in n["topics"]]
                links += [{"note_id": note_id, "term_id": terms[("population", s)]} for s in n["populations"]]
            db.session.execute(sa.insert(Note.__table__), rows)
            db.session.execute(sa.insert(note_term), links)
            db.session.commit()
            log(f"  inserted {min(notes, first + chunk)}/{notes} notes")
        stats = {"notes": notes, "seconds": round(time.perf_counter() - started, 1), "body_html": True,
                 "avg_body_chars": round(characters / max(notes, 1)),
                 "public": db.session.scalar(sa.select(sa.func.count()).select_from(Note)
                                             .where(Note.visibility == "public")),
                 "chinese": db.session.scalar(sa.select(sa.func.count()).select_from(Note)
                                              .where(Note.language == "zh_Hans"))}
    return stats


# --- phase: the FTS5 + jieba baseline --------------------------------------------------------------------

_FTS_SEGMENTER = None


def _fts_segmenter():
    """Return jieba with the glossary's words (the same dictionary the hub's analyzer uses)."""
    global _FTS_SEGMENTER
    if _FTS_SEGMENTER is None:
        from search_index import analysis

        _FTS_SEGMENTER = analysis._segmenter()  # jieba.Tokenizer + glossary terms
    return _FTS_SEGMENTER


def fts_index_text(text: str) -> str:
    """Segment ``text`` with jieba's search mode (words and their dictionary sub-words), space-joined."""
    return " ".join(t for t in _fts_segmenter().cut_for_search(text, HMM=False) if not t.isspace())


def _fts_row(row: tuple) -> tuple:
    from hub.text import plain_text

    note_id, title, summary, body, tags = row
    body_text = "\n".join(p for p in [plain_text(body), " ".join(json.loads(tags or "[]"))] if p)
    return note_id, fts_index_text(title), fts_index_text(summary), fts_index_text(body_text)


def phase_build_fts(instance: Path, procs: int) -> dict[str, Any]:
    """Build the FTS5 baseline from the hub database (jieba segmentation on ``procs`` processes)."""
    import multiprocessing

    source = sqlite3.connect(instance / "hub.sqlite", check_same_thread=False)  # read by the pool's feeder thread
    target_path = instance / "fts5.sqlite"
    target_path.unlink(missing_ok=True)
    target = sqlite3.connect(target_path)
    target.executescript("""
        CREATE VIRTUAL TABLE fts USING fts5(title, summary, body, tokenize='unicode61');
        CREATE TABLE meta(id INTEGER PRIMARY KEY, visibility TEXT, language TEXT, project TEXT, province TEXT,
                          year TEXT, origin TEXT, title TEXT);
        CREATE TABLE meta_term(note_id INTEGER, kind TEXT, slug TEXT);
    """)
    started = time.perf_counter()
    target.execute("BEGIN")
    target.executemany("INSERT INTO meta VALUES (?, ?, ?, ?, ?, ?, 'local', ?)", source.execute(
        "SELECT n.id, n.visibility, n.language, p.slug, n.province, strftime('%Y', n.published_at), n.title "
        "FROM note n LEFT JOIN project p ON p.id = n.project_id WHERE n.state = 'published'"))
    target.executemany("INSERT INTO meta_term VALUES (?, ?, ?)", source.execute(
        "SELECT nt.note_id, t.kind, t.slug FROM note_term nt JOIN term t ON t.id = nt.term_id"))
    target.execute("CREATE INDEX meta_term_note ON meta_term(note_id, kind)")
    rows = source.execute("SELECT id, title, summary, body, tags FROM note WHERE state = 'published' ORDER BY id")
    count = 0
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        for row in pool.imap(_fts_row, rows, chunksize=100):
            target.execute("INSERT INTO fts(rowid, title, summary, body) VALUES (?, ?, ?, ?)", row)
            count += 1
    target.execute("COMMIT")
    seconds = time.perf_counter() - started
    target.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    target.commit()
    target.close()
    return {"notes": count, "seconds": round(seconds, 1), "notes_per_s": round(count / seconds, 1),
            "mb": round(target_path.stat().st_size / 1e6, 1)}


_STOP = None


def _stop_words() -> frozenset[str]:
    global _STOP
    if _STOP is None:
        from whoosh.analysis import STOP_WORDS

        _STOP = frozenset(STOP_WORDS)
    return _STOP


def _fts_tokens(text: str) -> list[str]:
    normalised = unicodedata.normalize("NFKC", text).lower()
    return [t for t in _fts_segmenter().cut(normalised, HMM=False) if re.search(r"\w", t)]


def _fts_quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _fts_word(text: str, *, phrase: bool = False) -> str | None:
    """Return the FTS5 expression for one word or "phrase" (precise-mode jieba tokens)."""
    tokens = _fts_tokens(text)
    if not phrase:
        tokens = [t for t in tokens if t not in _stop_words()] or tokens
    if not tokens:
        return None
    if len(tokens) == 1:
        return _fts_quote(tokens[0])
    if phrase or all(t.isascii() for t in tokens):
        return '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'
    return "(" + " AND ".join(map(_fts_quote, tokens)) + ")"


class Fts5Baseline:
    """The same search against SQLite FTS5: AND of words, phrases, glossary expansion, OR fallback."""

    FACET_COLUMNS = ("project", "province", "language", "year", "origin")

    def __init__(self, path: Path) -> None:
        from search_index.glossary import default_glossary

        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("CREATE TEMP TABLE hits(id INTEGER PRIMARY KEY)")
        self.glossary = default_glossary()

    def expression(self, text: str, mode: str) -> tuple[str | None, int]:
        """Return the MATCH expression for ``text`` and how many parts it has."""
        from search_index.query import parse

        parsed = parse(text)
        units, covered = [], set()
        for start, end, others in self.glossary.matches(parsed.words):
            own = [x for x in (_fts_word(w) for w in parsed.words[start:end]) if x]
            alternatives = ["(" + " AND ".join(own) + ")"] if own else []
            alternatives += [x for x in (_fts_word(o) for o in others) if x]
            units.append("(" + " OR ".join(alternatives) + ")")
            covered.update(range(start, end))
        units += [x for i, w in enumerate(parsed.words) if i not in covered and (x := _fts_word(w))]
        units += [x for x in (_fts_word(p, phrase=True) for p in parsed.phrases) if x]
        if not units:
            return None, 0
        return (" AND " if mode == "and" else " OR ").join(units), len(parsed.words) + len(parsed.phrases)

    def search(self, text: str, filters: dict[str, str]) -> dict[str, Any]:
        """Return total, facets, the top 10 (id, title, snippet) for an anonymous reader."""
        expression, parts = self.expression(text, "and")
        result = self._run(expression, filters)
        if result["total"] == 0 and parts > 1:
            result = self._run(self.expression(text, "or")[0], filters)
        return result

    def _run(self, expression: str | None, filters: dict[str, str]) -> dict[str, Any]:
        if expression is None:
            return {"total": 0, "hits": [], "facets": {}}
        where, params = ["fts MATCH ?", "m.visibility = 'public'"], [expression]
        for name, value in sorted(filters.items()):
            if name in ("topic", "population"):
                where.append("EXISTS (SELECT 1 FROM meta_term t WHERE t.note_id = fts.rowid AND t.kind = ? "
                             "AND t.slug = ?)")
                params += [name, value]
            elif name in self.FACET_COLUMNS:
                where.append(f"m.{name} = ?")
                params.append(value)
        condition = " AND ".join(where)
        conn = self.conn
        conn.execute("DELETE FROM hits")
        conn.execute(f"INSERT INTO hits SELECT fts.rowid FROM fts JOIN meta m ON m.id = fts.rowid WHERE {condition}",
                     params)
        total = conn.execute("SELECT count(*) FROM hits").fetchone()[0]
        facets = {}
        for column in self.FACET_COLUMNS:
            facets[column] = conn.execute(
                f"SELECT m.{column}, count(*) AS c FROM hits JOIN meta m ON m.id = hits.id WHERE m.{column} != '' "
                f"GROUP BY m.{column} ORDER BY c DESC LIMIT 12").fetchall()
        for kind in ("topic", "population"):
            facets[kind] = conn.execute(
                "SELECT t.slug, count(*) AS c FROM hits JOIN meta_term t ON t.note_id = hits.id AND t.kind = ? "
                "GROUP BY t.slug ORDER BY c DESC LIMIT 12", (kind,)).fetchall()
        top = [row[0] for row in conn.execute(
            f"SELECT fts.rowid, bm25(fts, 3.0, 2.0, 1.0) AS score FROM fts JOIN meta m ON m.id = fts.rowid "
            f"WHERE {condition} ORDER BY score LIMIT 10", params)]
        hits = []
        if top:
            marks = ",".join("?" * len(top))
            found = {row[0]: row[1:] for row in conn.execute(
                f"SELECT fts.rowid, m.title, snippet(fts, -1, '<mark>', '</mark>', ' … ', 24) FROM fts "
                f"JOIN meta m ON m.id = fts.rowid WHERE fts MATCH ? AND fts.rowid IN ({marks})", [expression, *top])}
            hits = [(i, *found[i]) for i in top if i in found]
        return {"total": total, "hits": hits, "facets": facets}


# --- phase: rebuild ------------------------------------------------------------------------------------

def phase_rebuild(instance: Path, procs: int) -> dict[str, Any]:
    """Time ``search_index.rebuild(procs=procs)`` on the hub in ``instance``."""
    import search_index

    app = make_app(instance)
    before = resource.getrusage(resource.RUSAGE_SELF)
    with app.app_context():
        load_before = os.getloadavg()
        started = time.perf_counter()
        count = search_index.rebuild(procs=procs)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()
        index = app.extensions["search_index"].store.open()
        try:
            segments = len(index._segments())
        except Exception:  # noqa: BLE001 - only informative
            segments = -1
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    folder = instance / "index" / os.readlink(instance / "index" / "current")
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    result = {"notes": count, "seconds": round(seconds, 1), "notes_per_s": round(count / seconds, 1),
            "procs": procs, "segments": segments, "index_mb": round(size / 1e6, 1),
            "main_cpu_s": round(own.ru_utime + own.ru_stime - before.ru_utime - before.ru_stime, 1),
            "subwriters_cpu_s": round(children.ru_utime + children.ru_stime, 1),
            "peak_rss_main_mb": round(own.ru_maxrss / 1024), "peak_rss_subwriter_mb": round(children.ru_maxrss / 1024),
            "load_before": " / ".join(f"{x:.2f}" for x in load_before),
            "load_after": " / ".join(f"{x:.2f}" for x in load_after),
            "measured_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}
    # Kept beside the index, so that a later --skip-rebuild run still reports how it was built.
    (instance / "REBUILD_RESULT.json").write_text(json.dumps(result))
    return result


# --- phase: queries --------------------------------------------------------------------------------------

class PhaseTimers:
    """Exclusive wall time per phase of a search, by wrapping the functions that do each phase."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.stack: list[list[float]] = []

    def wrap(self, owner: Any, attribute: str, label: str, *, generator: bool = False) -> None:
        original = getattr(owner, attribute)
        timers = self

        def timed(*args, **kwargs):
            timers.stack.append([time.perf_counter(), 0.0])
            try:
                if generator:  # run it to the end here, so that its time is counted here
                    return iter(list(original(*args, **kwargs)))
                return original(*args, **kwargs)
            finally:
                start, children = timers.stack.pop()
                elapsed = time.perf_counter() - start
                timers.totals[label] += elapsed - children
                if timers.stack:
                    timers.stack[-1][1] += elapsed

        setattr(owner, attribute, timed)


WARM_QUERIES = 30  # distinct queries run once before timing (index, caches, jieba, OS page cache)
PHASE_QUERIES_PER_KIND = 8  # queries per kind in the pass with timers around each phase
PROFILE_QUERIES = 15  # queries under cProfile (about 3 times slower)
COLD_QUERIES = 25  # queries timed with the engine's arrays dropped before each one


def phase_queries(instance: Path, count: int, seed: int) -> dict[str, Any]:
    """Time the query mix on Whoosh (search_index.search) and FTS5, interleaved; then where time goes."""
    import cProfile
    import io
    import pstats

    import search_index
    from search_index import analysis

    app = make_app(instance)
    viewer = anonymous()
    mix = query_mix(seed, count)
    distinct = list({(t, tuple(sorted(f.items()))): (k, t, f) for k, t, f in mix}.values())
    result: dict[str, Any] = {"queries": count, "distinct": len(distinct)}
    with app.app_context():
        state = app.extensions["search_index"]

        def clear_cache() -> None:
            with state.cache._lock:
                state.cache._items.clear()

        def whoosh(text: str, filters: dict[str, str]):
            return search_index.search(text, viewer=viewer, filters=filters, page=1, per_page=10)

        started = time.perf_counter()
        first = whoosh("美沙酮", {})  # opens the index, loads jieba, OpenCC, the glossary
        result["first_query_ms"] = round((time.perf_counter() - started) * 1000)
        result["rss_after_first_query_mb"] = round(rss_mb())
        del first
        analysis._segmenter()
        fts = Fts5Baseline(instance / "fts5.sqlite")
        warm = distinct[:max(5, min(WARM_QUERIES, count // 3))]
        log(f"  warming: {len(warm)} distinct queries on both engines")
        for _kind, text, filters in warm:
            clear_cache()
            whoosh(text, filters)
            fts.search(text, filters)
        wall: dict[str, dict[str, list[float]]] = {"whoosh": defaultdict(list), "fts5": defaultdict(list)}
        cpu: dict[str, dict[str, list[float]]] = {"whoosh": defaultdict(list), "fts5": defaultdict(list)}
        totals: dict[str, dict[str, list[int]]] = {"whoosh": defaultdict(list), "fts5": defaultdict(list)}
        zero: dict[str, Counter] = {"whoosh": Counter(), "fts5": Counter()}
        result["load_before"] = loadavg()
        log(f"  timing {count} queries on each engine (interleaved)")
        for number, (kind, text, filters) in enumerate(mix):
            order = ("whoosh", "fts5") if number % 2 == 0 else ("fts5", "whoosh")
            for engine in order:
                if engine == "whoosh":
                    clear_cache()
                c0, t0 = time.thread_time(), time.perf_counter()
                if engine == "whoosh":
                    total = whoosh(text, filters).total
                else:
                    total = fts.search(text, filters)["total"]
                t1, c1 = time.perf_counter(), time.thread_time()
                wall[engine][kind].append((t1 - t0) * 1000)
                cpu[engine][kind].append((c1 - c0) * 1000)
                totals[engine][kind].append(total)
                zero[engine][kind] += total == 0
        result["load_after"] = loadavg()
        result["rss_mb"] = round(rss_mb())
        result["hwm_mb"] = round(rss_mb(key="VmHWM"))
        result["rss_anon_mb"] = round(rss_mb(key="RssAnon"))  # private memory
        result["rss_file_mb"] = round(rss_mb(key="RssFile"))  # mapped files: index segments, libraries
        summary: dict[str, Any] = {}
        for engine in ("whoosh", "fts5"):
            rows = {}
            for kind in KINDS + ["all"]:
                w = [x for k in KINDS for x in wall[engine][k]] if kind == "all" else wall[engine][kind]
                c = [x for k in KINDS for x in cpu[engine][k]] if kind == "all" else cpu[engine][kind]
                t = [x for k in KINDS for x in totals[engine][k]] if kind == "all" else totals[engine][kind]
                z = sum(zero[engine].values()) if kind == "all" else zero[engine][kind]
                rows[kind] = {"n": len(w), "p50": round(percentile(w, 50), 1), "p95": round(percentile(w, 95), 1),
                              "max": round(max(w), 1), "cpu_p50": round(percentile(c, 50), 1),
                              "cpu_p95": round(percentile(c, 95), 1), "avg_total": round(sum(t) / max(len(t), 1)),
                              "zero": z}
            summary[engine] = rows
        result["summary"] = summary
        result["layers"] = request_layers(app, state, mix, viewer, clear_cache)
        result["api_scenarios"] = api_scenarios(app, clear_cache)

        # Cold figures: the timed queries above reuse the term arrays earlier queries read (per commit,
        # within SEARCH_CACHE_MB). Here the same queries run with arrays dropped before each one: the
        # segments' arrays (terms, facets, columns); the commit's snapshot (what a worker commit
        # drops: segment arrays survive); both (the first query after a rebuild).
        cold: dict[str, dict[str, float]] = {}
        pool = state.pool
        resets = {"term arrays cleared": pool.arrays.clear,
                  "first query after a commit": pool.forget_snapshots,
                  "first query after a rebuild": lambda: (pool.forget_snapshots(), pool.arrays.clear())}
        for label, reset in resets.items():
            times = []
            for _kind, text, filters in mix[:COLD_QUERIES]:
                clear_cache()
                reset()
                t0 = time.perf_counter()
                whoosh(text, filters)
                times.append((time.perf_counter() - t0) * 1000)
            cold[label] = {"n": len(times), "p50": round(percentile(times, 50), 1),
                           "p95": round(percentile(times, 95), 1), "max": round(max(times), 1)}
        result["cold"] = cold

        # Where the time goes: exclusive time per phase, over the same mix, cache cleared.
        from search_index import engine, excerpts, searcher as searcher_module

        # Smaller passes when the timed run is small (a slow index must not take an hour).
        phase_per_kind = max(2, min(PHASE_QUERIES_PER_KIND, count // 10))
        profile_count = max(5, min(PROFILE_QUERIES, count // 7))
        result["phase_per_kind"], result["profile_count"] = phase_per_kind, profile_count
        timers = PhaseTimers()
        timers.wrap(searcher_module, "parse", "parse query")
        timers.wrap(searcher_module, "build", "build query (analysis + glossary)")
        timers.wrap(engine.Snapshot, "postings", "read term postings (cached per commit)")
        timers.wrap(engine.Snapshot, "positions", "read term positions (cached per commit)")
        timers.wrap(engine.Snapshot, "unit", "match + score units (arrays)")
        timers.wrap(engine.Snapshot, "facet_counts", "facet counts (bincount)")
        timers.wrap(engine.Snapshot, "_top", "top-k (argpartition)")
        timers.wrap(searcher_module, "_suggest", "did-you-mean")
        timers.wrap(searcher_module.SearcherPool, "view", "searcher pool view/refresh")
        timers.wrap(search_index, "_visible_in_order", "DB re-check (_visible_in_order)")
        timers.wrap(excerpts, "html_text", "excerpt: text of body_html (rows without body_text)")
        timers.wrap(excerpts, "_folded", "excerpt: folding")
        timers.wrap(excerpts, "excerpt_html", "excerpt: marks + nh3")
        per_kind: dict[str, dict[str, float]] = {}
        overall = 0.0
        for kind in KINDS:
            before = dict(timers.totals)
            spent = 0.0
            queries = [(t, f) for k, t, f in mix if k == kind][:phase_per_kind]
            for text, filters in queries:
                clear_cache()
                t0 = time.perf_counter()
                whoosh(text, filters)
                spent += time.perf_counter() - t0
            overall += spent
            phases = {label: (timers.totals[label] - before.get(label, 0.0)) * 1000 / len(queries)
                      for label in timers.totals}
            phases["other (glue, SQLAlchemy session, ...)"] = spent * 1000 / len(queries) - sum(phases.values())
            phases["TOTAL"] = spent * 1000 / len(queries)
            per_kind[kind] = {k: round(v, 2) for k, v in phases.items()}
        result["phases"] = per_kind

        # A cProfile of the whole mix (cache cleared), the top functions by own time.
        profiler = cProfile.Profile()
        for _kind, text, filters in mix[:profile_count]:
            clear_cache()
            profiler.enable()
            whoosh(text, filters)
            profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(18)
        result["profile_tottime"] = "\n".join(line for line in stream.getvalue().splitlines()
                                              if line.strip() and not line.startswith("   Ordered"))[-3000:]
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
        result["profile_cumulative"] = "\n".join(line for line in stream.getvalue().splitlines()
                                                 if line.strip() and not line.startswith("   Ordered"))[-4000:]
    return result


ENGINE_LAYER, API_LAYER = "engine: top 10 + exact count", "GET /api/v1/search (test client)"
HITS_LAYER = 'search(load="hits"): the API\'s re-check + excerpts'
LAYERS = (ENGINE_LAYER, "engine + facet counts", "search(): + DB re-check + excerpts", HITS_LAYER, API_LAYER,
          "GET /api/v1/search, notes shown before")


def request_layers(app, state, mix, viewer, clear_cache, rounds: int = 5) -> dict[str, Any]:
    """Time what a search request adds to the engine, layer by layer, over the query mix.

    A pass per layer, result cache cleared before each query: the engine alone (the query's plan,
    top 10 and the exact count), with facet counts, ``search_index.search`` (the database re-check
    and the excerpts, their caches of note text cleared too), the JSON API through Flask's test
    client (the same; each request in its own app context, as in production), and the API again with the note-text caches kept (notes found before).
    CPU time of this thread, and wall-clock time. ``rounds`` rounds of one pass per layer, in turn;
    each figure is the median of its rounds' (this shared machine's speed drifts by a quarter
    within a minute, which one pass per layer read as a difference between layers).
    """
    import search_index
    from search_index import excerpts
    from search_index.query import build, parse

    client = app.test_client()
    glossary = search_index._glossary()

    def forget_notes() -> None:
        for name in ("_text_of_html", "_body_text", "_folded"):  # _body_text: before note.body_text was kept
            if hasattr(getattr(excerpts, name, None), "cache_clear"):
                getattr(excerpts, name).cache_clear()

    def engine(text: str, filters: dict[str, str], facets: bool) -> None:
        plan = build(parse(text), glossary=glossary, mode="and").plan
        state.pool.view().snapshot.run(plan, public_only=True, filters=filters, limit=10, newest=False, facets=facets)

    def api(text: str, filters: dict[str, str]) -> None:
        # Each request in its own app context, as under gunicorn (and the tests' client): inside the
        # bench's one context, g (the user Flask-Login loaded, the API token looked up) and the
        # database session would carry over from request to request, and their work go uncounted.
        with app.app_context():
            answer = client.get("/api/v1/search?" + urllib.parse.urlencode({"q": text, **filters}))
        assert answer.status_code == 200, answer.status_code

    steps = {LAYERS[0]: lambda t, f: engine(t, f, False), LAYERS[1]: lambda t, f: engine(t, f, True),
             LAYERS[2]: lambda t, f: (forget_notes(), search_index.search(t, viewer=viewer, filters=f)),
             HITS_LAYER: lambda t, f: (forget_notes(), search_index.search(t, viewer=viewer, filters=f, load="hits")),
             API_LAYER: lambda t, f: (forget_notes(), api(t, f)), LAYERS[5]: api}
    if "load" not in inspect.signature(search_index.search).parameters:  # older code on PYTHONPATH
        del steps[HITS_LAYER]
    per_round: dict[str, list[dict[str, float]]] = {label: [] for label in steps}
    for _round in range(rounds):
        for label, step in steps.items():
            cpu, wall = [], []
            for _kind, text, filters in mix:
                clear_cache()
                c0, t0 = time.thread_time(), time.perf_counter()
                step(text, filters)
                t1, c1 = time.perf_counter(), time.thread_time()
                cpu.append((c1 - c0) * 1000)
                wall.append((t1 - t0) * 1000)
            per_round[label].append({"cpu_p50": percentile(cpu, 50), "cpu_p95": percentile(cpu, 95),
                                     "p50": percentile(wall, 50), "p95": percentile(wall, 95)})
    return {label: {figure: round(statistics.median(r[figure] for r in found), 2) for figure in found[0]}
            for label, found in per_round.items()}


def phase_layers(instance: Path, count: int, seed: int) -> dict[str, Any]:
    """Time only what a search request adds to the engine (``--layers-only``: no FTS5 baseline needed)."""
    import search_index

    app = make_app(instance)
    viewer = anonymous()
    mix = query_mix(seed, count)
    with app.app_context():
        state = app.extensions["search_index"]

        def clear_cache() -> None:
            with state.cache._lock:
                state.cache._items.clear()

        client = app.test_client()
        distinct = list({(t, tuple(sorted(f.items()))): (t, f) for _k, t, f in mix}.values())
        for text, filters in distinct:  # every query once: the first layer timed must not pay for first reads
            clear_cache()
            search_index.search(text, viewer=viewer, filters=filters)
            client.get("/api/v1/search?" + urllib.parse.urlencode({"q": text, **filters}))
        result = {"queries": count, "load_before": loadavg(),
                  "measured_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}
        result["layers"] = request_layers(app, state, mix, viewer, clear_cache)
        result["api_scenarios"] = api_scenarios(app, clear_cache)
        result["load_after"] = loadavg()
    return result


# Requests a partner system sends besides page 1 of a found word: what made the API slower than the page.
API_SCENARIOS = [("a word, page 1", {"q": "美沙酮"}), ("a word, 50 a page", {"q": "美沙酮", "per_page": 50}),
                 ("a word, page 100 of 50", {"q": "治疗", "page": 100, "per_page": 50}),
                 ("no query (newest notes)", {}), ("a misspelt English word (no hits)", {"q": "methadonx"}),
                 ("letters that are no word (no hits)", {"q": "qzxv"})]


def api_scenarios(app, clear_cache, repeats: int = 10) -> dict[str, Any]:
    """Return the median CPU ms of the JSON API for each of ``API_SCENARIOS`` (result cache cleared)."""
    client = app.test_client()
    found = {}
    for label, params in API_SCENARIOS:
        url = "/api/v1/search?" + urllib.parse.urlencode(params)
        client.get(url)
        cpu = []
        for _ in range(repeats):
            clear_cache()
            c0 = time.thread_time()
            with app.app_context():  # as in request_layers: each request its own g and database session
                answer = client.get(url)
            cpu.append((time.thread_time() - c0) * 1000)
            assert answer.status_code == 200, answer.status_code
        found[label] = round(percentile(cpu, 50), 2)
    return found


# --- phase: freshness ----------------------------------------------------------------------------------

def phase_freshness(instance: Path, seed: int) -> dict[str, Any]:
    """Publish notes while the worker runs; time from approve's commit until search finds each."""
    from hub import worker
    from hub.extensions import db
    from hub.models.project import Project
    from hub.models.user import Role
    from hub.services import accounts, notes

    import search_index
    from search_index import indexer

    scratch = instance.parent / (instance.name + "-freshness")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    shutil.copy2(instance / "hub.sqlite", scratch / "hub.sqlite")
    shutil.copy2(instance / "secret_key", scratch / "secret_key")
    shutil.copytree(instance / "index", scratch / "index", symlinks=True)
    try:
        return _freshness(scratch, seed, worker, db, Project, Role, accounts, notes, search_index, indexer)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _freshness(scratch, seed, worker, db, Project, Role, accounts, notes, search_index, indexer) -> dict[str, Any]:
    import sqlalchemy as sa

    app = make_app(scratch)
    app.config["WORKER_POLL_SECONDS"] = 0.2
    worker_times: dict[str, list[float]] = defaultdict(list)
    for attribute in ("position", "apply"):
        original = getattr(indexer.SearchIndexer, attribute)

        def timed(self, *args, _original=original, _name=attribute, **kwargs):
            t0 = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                worker_times[_name].append(time.perf_counter() - t0)

        setattr(indexer.SearchIndexer, attribute, timed)
    viewer = anonymous()
    rng = random.Random(seed + 5)
    result: dict[str, Any] = {"poll_seconds": 0.2, "measured_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}
    with app.app_context():
        home = db.session.scalar(sa.select(Project).order_by(Project.id))
        author = accounts.create_user(accounts.NewAccount(username="freshauthor", pseudonym="新鲜作者",
                                                          password="bench password 1"),
                                      role=Role.CONTRIBUTOR, project=home)
        moderator = accounts.create_user(accounts.NewAccount(username="freshmod", pseudonym="新鲜审核",
                                                             password="bench password 1"),
                                         role=Role.MODERATOR, project=home)
        db.session.commit()
        search_index.search("warm", viewer=viewer)  # this thread's searcher is open before timing
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(app,), kwargs={"stop": stop}, daemon=True)
        thread.start()
        time.sleep(2.0)
        # The idle worker's own CPU: this thread sleeps, so the process's CPU time is the worker's.
        cpu0, wall0 = os.times(), time.perf_counter()
        polls0 = len(worker_times["position"])
        time.sleep(4.0)
        cpu1, wall1 = os.times(), time.perf_counter()
        idle_polls = len(worker_times["position"]) - polls0
        result["idle_worker_cpu_pct"] = round(100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system))
                                              / (wall1 - wall0), 1)
        result["idle_polls_per_s"] = round(idle_polls / (wall1 - wall0), 2)
        delays = []
        for attempt in range(4):
            word = "fresh" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))
            data = notes.NoteInput(title=f"Freshness probe {attempt}",
                                   summary=f"A probe note about {word} for the search bench.",
                                   body=f"## Context\n\nThis note mentions {word} once, and 美沙酮 too.",
                                   language="en", visibility="public")
            note = notes.create_draft(author=author, data=data)
            notes.submit(note, by=author, confirm_privacy=True)
            applies_before = len(worker_times["apply"])
            notes.approve(note, by=moderator)
            committed = time.perf_counter()
            found_after = None
            while time.perf_counter() - committed < 20:
                if search_index.search(word, viewer=viewer).total:
                    found_after = time.perf_counter() - committed
                    break
                time.sleep(0.02)
            delays.append(round(found_after, 3) if found_after is not None else None)
            applied = worker_times["apply"][applies_before:]
            log(f"  freshness probe {attempt}: {delays[-1]} s (worker apply {[round(x, 3) for x in applied]})")
            time.sleep(1.5)  # let the worker go idle again
        stop.set()
        thread.join(10)
        result["delays_s"] = delays
        found = [d for d in delays if d is not None]
        result["median_s"] = round(sorted(found)[len(found) // 2], 3) if found else None
        result["max_s"] = max(found) if len(found) == len(delays) else None
        positions = worker_times["position"]
        result["position_ms_median"] = round(1000 * sorted(positions)[len(positions) // 2], 1) if positions else None
        applies = worker_times["apply"]
        result["apply_ms"] = [round(1000 * x) for x in applies]
    return result


# --- HTTP under gunicorn -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def run_http(instance: Path, seed: int, workdir: Path, seconds: float = 20.0, clients: int = 8, *,
             path: str = "/search") -> dict[str, Any]:
    """Start gunicorn on the hub in ``instance``; 8 clients on ``path`` (the search page or the JSON
    API) for ``seconds``; stop it."""
    port = _free_port()
    log_path = workdir / f"gunicorn-{instance.name}.log"
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    env = hub_env(instance)
    env.pop("PYTHONPATH", None)  # gunicorn puts the project root first anyway: the repository's code
    with log_path.open("w") as stream:
        server = subprocess.Popen([str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket",
                                   "--timeout", "120", "wsgi:app"], cwd=ROOT, env=env, stdout=stream,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    pool = http_pool(seed, 4000)
    result: dict[str, Any] = {"clients": clients, "workers": 2, "seconds": seconds, "path": path}
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(base + path + "?q=" + urllib.parse.quote("美沙酮"), timeout=60) as r:
                    r.read()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit(f"gunicorn did not answer; see {log_path}")
                time.sleep(0.5)
        position = [0]
        lock = threading.Lock()

        def next_url() -> str:
            with lock:
                kind, text, filters = pool[position[0] % len(pool)]
                position[0] += 1
            return base + path + "?" + urllib.parse.urlencode({"q": text, **filters})

        def client(until: float, times: list[float], errors: list[str]) -> None:
            while time.perf_counter() < until:
                url = next_url()
                t0 = time.perf_counter()
                try:
                    with urllib.request.urlopen(url, timeout=60) as r:
                        r.read()
                        if r.status != 200:
                            errors.append(str(r.status))
                except Exception as error:  # noqa: BLE001 - counted, not fatal
                    errors.append(type(error).__name__ + ": " + str(error)[:80])
                    continue
                times.append((time.perf_counter() - t0) * 1000)

        def load(duration: float) -> tuple[list[float], list[str], float]:
            times: list[list[float]] = [[] for _ in range(clients)]
            errors: list[str] = []
            until = time.perf_counter() + duration
            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(until, times[i], errors)) for i in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return [x for ts in times for x in ts], errors, time.perf_counter() - started

        log("  HTTP warm-up (8 clients, 6 s)")
        load(6.0)
        warm_requests = position[0]
        result["load_before"] = loadavg()
        log(f"  HTTP measured run (8 clients, {seconds:.0f} s)")
        times, errors, elapsed = load(seconds)
        result["load_after"] = loadavg()
        result["requests"] = len(times)
        result["errors"] = len(errors)
        result["error_sample"] = errors[:3]
        result["p50_ms"] = round(percentile(times, 50), 1)
        result["p95_ms"] = round(percentile(times, 95), 1)
        result["max_ms"] = round(max(times), 1) if times else None
        result["rps"] = round(len(times) / elapsed, 1)
        result["distinct_queries"] = len(pool)
        result["requests_sent_total"] = position[0]
        result["repeats"] = max(0, position[0] - len(pool))
        result["warm_requests"] = warm_requests
        result["worker_rss_mb"] = [round(rss_mb(pid)) for pid in _children(server.pid)]
        result["worker_hwm_mb"] = [round(rss_mb(pid, "VmHWM")) for pid in _children(server.pid)]
        result["worker_anon_mb"] = [round(rss_mb(pid, "RssAnon")) for pid in _children(server.pid)]
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    return result


# --- the report --------------------------------------------------------------------------------------

def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def summary_rows(size: int, r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Return (target, goal, measured, verdict) rows for one size."""
    rows = []
    q = r.get("queries")
    big = size >= 100_000
    if q:
        w, f = q["summary"]["whoosh"]["all"], q["summary"]["fts5"]["all"]
        ratio = w["p95"] / f["p95"] if f["p95"] else float("inf")
        if big:
            rows.append(("query mix p50 (Whoosh)", f"≤ {TARGETS['mix_p50_100k_ms']:.0f} ms", f"{w['p50']} ms",
                         verdict(w["p50"] <= TARGETS["mix_p50_100k_ms"])))
            rows.append(("query mix p95 (Whoosh)", f"≤ {TARGETS['mix_p95_100k_ms']:.0f} ms", f"{w['p95']} ms",
                         verdict(w["p95"] <= TARGETS["mix_p95_100k_ms"])))
        else:
            rows.append(("query mix p95 (Whoosh)", f"≤ {TARGETS['mix_p95_20k_ms']:.0f} ms", f"{w['p95']} ms",
                         verdict(w["p95"] <= TARGETS["mix_p95_20k_ms"] if size <= 20_000 else None)))
            rows.append(("query mix p50 (Whoosh)", "—", f"{w['p50']} ms", "info"))
        rows.append(("FTS5 + jieba baseline p50 / p95", "—", f"{f['p50']} / {f['p95']} ms", "info"))
        rows.append(("ratio Whoosh/FTS5 p95", f"≤ {TARGETS['ratio_p95_max']:.0f}×", f"{ratio:.2f}×",
                     verdict(ratio <= TARGETS["ratio_p95_max"]) if big else "info"))
        rows.append(("query mix CPU p95 (Whoosh / FTS5)", "—", f"{w['cpu_p95']} / {f['cpu_p95']} ms", "info"))
        for label, c in q.get("cold", {}).items():
            rows.append((f"cold: {label} p50 / p95", "—", f"{c['p50']} / {c['p95']} ms (n={c['n']})", "info"))
        layers = q.get("layers")
        if layers:
            engine, api = layers[ENGINE_LAYER], layers[API_LAYER]
            ratio = api["cpu_p95"] / engine["cpu_p95"] if engine["cpu_p95"] else float("inf")
            rows.append(("API p95 within 2× the engine's p95 (CPU)", f"≤ {TARGETS['api_over_engine_p95']:.0f}×",
                         f"{ratio:.2f}× ({api['cpu_p95']} / {engine['cpu_p95']} ms)",
                         verdict(ratio <= TARGETS["api_over_engine_p95"])))
    rb = r.get("rebuild")
    if rb:
        rows.append((f"full rebuild (procs={rb['procs']})", f"≥ {TARGETS['rebuild_notes_per_s']:.0f} notes/s",
                     f"{rb['notes_per_s']} notes/s ({rb['seconds']} s)",
                     verdict(rb["notes_per_s"] >= TARGETS["rebuild_notes_per_s"])))
    fr = r.get("freshness")
    if fr:
        worst = fr.get("max_s")
        rows.append(("event searchable after commit (worker idle)", f"≤ {TARGETS['freshness_s']:.0f} s",
                     f"median {fr['median_s']} s, max {worst if worst is not None else 'timeout'} s",
                     verdict(worst is not None and worst <= TARGETS["freshness_s"])))
    if q:
        rows.append(("memory after warm queries (fresh process)", f"≤ {TARGETS['memory_mb']:.0f} MB" if big else "—",
                     f"{q['rss_mb']} MB (private {q.get('rss_anon_mb', '?')}, mapped files {q.get('rss_file_mb', '?')}; "
                     f"peak {q['hwm_mb']} MB)",
                     verdict(q["rss_mb"] <= TARGETS["memory_mb"]) if big else "info"))
    h = r.get("http")
    if h:
        rss = max(h["worker_rss_mb"]) if h["worker_rss_mb"] else float("nan")
        rows.append(("gunicorn worker RSS after load", f"≤ {TARGETS['memory_mb']:.0f} MB" if big else "—",
                     f"{', '.join(map(str, h['worker_rss_mb']))} MB"
                     + (f" (private {', '.join(map(str, h['worker_anon_mb']))} MB)" if h.get("worker_anon_mb") else ""),
                     verdict(rss <= TARGETS["memory_mb"]) if big else "info"))
        rows.append(("search page p95, 8 clients, gunicorn -w 2", f"≤ {TARGETS['http_p95_ms']:.0f} ms" if big else "—",
                     f"{h['p95_ms']} ms (p50 {h['p50_ms']}, {h['rps']} req/s, {h['errors']} errors)",
                     verdict(h["p95_ms"] <= TARGETS["http_p95_ms"] and not h["errors"]) if big else "info"))
    a = r.get("http_api")
    if a:
        rows.append(("/api/v1/search p95, 8 clients, gunicorn -w 2", "—",
                     f"{a['p95_ms']} ms (p50 {a['p50_ms']}, {a['rps']} req/s, {a['errors']} errors)", "info"))
    return rows


def render_size(size: int, r: dict[str, Any]) -> str:
    """Return the Markdown section of one size."""
    out = [f"<!-- size:{size} -->", f"## {size:,} notes", ""]
    if r.get("command"):
        out += [f"Command: `{r['command']}`", ""]
    db = r.get("db", {})
    out.append(f"Corpus: {size:,} notes (seed {r['seed']}), average body {db.get('avg_body_chars', '?')} characters, "
               f"{db.get('public', '?')} public, {db.get('chinese', '?')} Chinese. Run started {r['started']}, "
               f"load average at start {r['load_start']}, at end {r['load_end']}.")
    out += ["", "| target | goal | measured | verdict |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(size, r)]
    q = r.get("queries")
    if q:
        out += ["", f"Query mix: {q['queries']} timed queries per engine ({q['distinct']} distinct), "
                    f"{len(KINDS)} kinds in turn (phase pass: first {q.get('phase_per_kind')} of each kind; "
                    f"cProfile: first {q.get('profile_count')}), anonymous reader, page 1 of 10, facets + highlights + DB re-check; "
                    f"Whoosh result cache cleared before each query; engines interleaved. Load average "
                    f"{q['load_before']} → {q['load_after']}. First query in a fresh process: "
                    f"{q['first_query_ms']} ms.", "",
                "| kind | n | Whoosh p50 | Whoosh p95 | Whoosh CPU p95 | FTS5 p50 | FTS5 p95 | FTS5 CPU p95 | "
                "ratio p95 | avg hits Whoosh / FTS5 | no hits W / F |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for kind in KINDS + ["all"]:
            w, f = q["summary"]["whoosh"][kind], q["summary"]["fts5"][kind]
            ratio = w["p95"] / f["p95"] if f["p95"] else float("inf")
            out.append(f"| {kind} | {w['n']} | {w['p50']} | {w['p95']} | {w['cpu_p95']} | {f['p50']} | {f['p95']} | "
                       f"{f['cpu_p95']} | {ratio:.1f}× | {w['avg_total']} / {f['avg_total']} | {w['zero']} / {f['zero']} |")
        phases = q["phases"]
        labels = [label for label in next(iter(phases.values())) if label != "TOTAL"]
        out += ["", "Where a Whoosh search spends its time (mean ms per query, exclusive, same mix, separate pass "
                    "with timers):", "",
                "| phase | " + " | ".join(KINDS) + " |", "|---|" + "---:|" * len(KINDS)]
        for label in labels + ["TOTAL"]:
            out.append(f"| {label} | " + " | ".join(f"{phases[k].get(label, 0):.1f}" for k in KINDS) + " |")
        if q.get("layers"):
            out += ["", "What a search request adds to the engine (same mix, five rounds of a pass per layer (medians), result cache "
                        "cleared before each query; CPU and wall-clock ms):", "",
                    "| layer | CPU p50 | CPU p95 | p50 | p95 |", "|---|---:|---:|---:|---:|"]
            for label, row in q["layers"].items():
                out.append(f"| {label} | {row['cpu_p50']} | {row['cpu_p95']} | {row['p50']} | {row['p95']} |")
        if q.get("api_scenarios"):
            out += ["", "The JSON API beyond page 1 of a found word (median CPU ms of 10, result cache cleared):", "",
                    "| request | CPU ms |", "|---|---:|"]
            out += [f"| {label} | {ms} |" for label, ms in q["api_scenarios"].items()]
    rb = r.get("rebuild")
    if rb:
        reused = f" (measured {rb.get('measured_at', 'earlier')}, index reused by this run)" if rb.get("reused") else ""
        out += ["", f"Rebuild{reused}: {rb['notes']:,} notes in {rb['seconds']} s = {rb['notes_per_s']} notes/s with procs="
                    f"{rb['procs']}; {rb['segments']} segments, {rb['index_mb']} MB on disk; CPU main process "
                    f"{rb['main_cpu_s']} s (database, Markdown, hand-off), sub-writers {rb['subwriters_cpu_s']} s "
                    f"(analysis, posting lists); peak RSS main {rb['peak_rss_main_mb']} MB, sub-writer "
                    f"{rb['peak_rss_subwriter_mb']} MB; load {rb['load_before']} → {rb['load_after']}."]
    fts = r.get("fts_build")
    if fts:
        out += ["", f"FTS5 baseline build: {fts['notes']:,} notes in {fts['seconds']} s ({fts['notes_per_s']} notes/s, "
                    f"jieba search mode on {r['procs']} processes), {fts['mb']} MB."]
    fr = r.get("freshness")
    if fr:
        out += ["", f"Freshness (measured {fr.get('measured_at', 'in this run')}): worker polling every "
                    f"{fr['poll_seconds']} s in a thread; delays commit → found: "
                    f"{fr['delays_s']} s; indexer position() median {fr['position_ms_median']} ms per poll, apply "
                    f"{fr['apply_ms']} ms; idle worker CPU {fr['idle_worker_cpu_pct']}% of one core "
                    f"({fr['idle_polls_per_s']} polls/s)."]
    old = r.get("freshness_before_indexer_fix")
    if old:
        out += ["", f"Freshness with the indexer as it was when this run started (re-reading the cursor, i.e. opening "
                    f"a searcher, on every poll): {old['delays_s']} s, position() median {old['position_ms_median']} "
                    f"ms, idle worker CPU {old['idle_worker_cpu_pct']}% of one core."]
    for h in (r.get("http"), r.get("http_api")):
        if not h:
            continue
        out += ["", f"HTTP `{h.get('path', '/search')}`: gunicorn -w 2, {h['clients']} client threads for "
                    f"{h['seconds']:.0f} s after a 6 s warm-up: "
                    f"{h['requests']} requests, {h['rps']} req/s, p50 {h['p50_ms']} ms, p95 {h['p95_ms']} ms, max "
                    f"{h['max_ms']} ms, {h['errors']} errors; {h['distinct_queries']} distinct queries, "
                    f"{h['requests_sent_total']} sent in all ({h['repeats']} repeats); worker RSS "
                    f"{h['worker_rss_mb']} MB (peak {h['worker_hwm_mb']}); load {h['load_before']} → {h['load_after']}."]
    if q:
        out += ["", "<details><summary>cProfile of the Whoosh mix (top by own time)</summary>", "", "```",
                q["profile_tottime"], "```", "", "```", q["profile_cumulative"], "```", "", "</details>"]
    out += [f"<!-- /size:{size} -->", ""]
    return "\n".join(out)


def write_results(sizes: dict[int, dict[str, Any]], command: str) -> None:
    """Replace the sections of the sizes just run in bench/search_results.md, keep the others."""
    sections: dict[int, str] = {}
    if RESULTS_MD.exists():
        for match in re.finditer(r"<!-- size:(\d+) -->.*?<!-- /size:\1 -->\n?", RESULTS_MD.read_text(), re.S):
            sections[int(match.group(1))] = match.group(0).rstrip() + "\n"
    for size, r in sizes.items():
        sections[size] = render_size(size, r)
    head = ["# Search benchmark results", "",
            f"Updated {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by `{command}`; each section below names the "
            "command and the start time of the run that measured it.  ",
            f"Machine: {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
            f"SQLite {sqlite3.sqlite_version}. The load average beside each figure says how busy the machine "
            "was (the benchmark's own work counts; when other work runs too, wall-clock figures suffer, "
            "CPU-time figures much less).", "",
            "Targets are the issue's; \"info\" rows have no target at that size. Wall-clock figures are per query "
            "as a reader waits; CPU figures are the thread's CPU time for the same query.", ""]
    RESULTS_MD.write_text("\n".join(head) + "\n".join(sections[s] for s in sorted(sections)))


def run_layers_only(size: int, args: argparse.Namespace, command: str) -> None:
    """Time the request layers on a corpus and index built before; print them and put them in its section."""
    instance = instance_dir(args.workdir, size, args.seed)
    if not (instance / "READY").exists() or not (instance / "index" / "current").exists():
        raise SystemExit(f"{instance} has no corpus or no index: run the bench without --layers-only first")
    run_child("migrate", instance, args, size)
    log(f"{size}: request layers")
    found = {**run_child("layers", instance, args, size), "command": command}
    (args.workdir / f"layers-{size}.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    print(f"\n=== {size:,} notes: what a search request adds to the engine (load {found['load_before']} → "
          f"{found['load_after']}) ===")
    for line in render_layers(found["layers"]):
        print(line)
    if not args.no_write:
        write_layers(size, found)
        print(f"\nwrote {RESULTS_MD.relative_to(ROOT)}")


def render_layers(layers: dict[str, dict[str, float]]) -> list[str]:
    """Return the table of request layers, with the API's p95 over the engine's (CPU)."""
    out = ["| layer | CPU p50 | CPU p95 | p50 | p95 |", "|---|---:|---:|---:|---:|"]
    out += [f"| {label} | {row['cpu_p50']} | {row['cpu_p95']} | {row['p50']} | {row['p95']} |"
            for label, row in layers.items()]
    engine, api = layers[ENGINE_LAYER], layers[API_LAYER]
    ratio = api["cpu_p95"] / engine["cpu_p95"] if engine["cpu_p95"] else float("inf")
    out += ["", f"API p95 ÷ engine p95 (CPU): {ratio:.2f}× (goal ≤ {TARGETS['api_over_engine_p95']:.0f}×: "
                f"{verdict(ratio <= TARGETS['api_over_engine_p95'])})"]
    return out


def write_layers(size: int, found: dict[str, Any]) -> None:
    """Put a --layers-only run in its size's section of bench/search_results.md, replacing the one before."""
    block = "\n".join([
        "<!-- layers -->", f"### Request layers, measured alone ({found['measured_at']})", "",
        f"Command: `{found['command']}`. Query mix of {found['queries']} queries, five rounds of a pass per layer (medians), result cache "
        f"and note-text caches cleared before each query; load average {found['load_before']} → "
        f"{found['load_after']}.", "", *render_layers(found["layers"]), "",
        "The JSON API beyond page 1 of a found word (median CPU ms of 10, result cache cleared): "
        + "; ".join(f"{label} {ms}" for label, ms in found["api_scenarios"].items()) + ".", "<!-- /layers -->", ""])
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
    section = re.search(rf"<!-- size:{size} -->.*?<!-- /size:{size} -->\n?", text, re.S)
    if section is None:
        text += f"<!-- size:{size} -->\n## {size:,} notes\n\n{block}<!-- /size:{size} -->\n"
    else:
        body = re.sub(r"<!-- layers -->.*?<!-- /layers -->\n", "", section.group(0), flags=re.S)
        body = body.replace(f"<!-- /size:{size} -->", block + f"<!-- /size:{size} -->")
        text = text[:section.start()] + body + text[section.end():]
    RESULTS_MD.write_text(text)


def print_summary(size: int, r: dict[str, Any]) -> None:
    print(f"\n=== {size:,} notes (load at start {r['load_start']}, at end {r['load_end']}) ===")
    rows = summary_rows(size, r)
    widths = [max(len(str(row[i])) for row in rows + [("target", "goal", "measured", "verdict")]) for i in range(4)]
    header = ("target", "goal", "measured", "verdict")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    q = r.get("queries")
    if q:
        print(f"\n{'kind':<12} {'W p50':>8} {'W p95':>8} {'F p50':>8} {'F p95':>8} {'ratio':>6}  hits W/F")
        for kind in KINDS + ["all"]:
            w, f = q["summary"]["whoosh"][kind], q["summary"]["fts5"][kind]
            ratio = w["p95"] / f["p95"] if f["p95"] else float("inf")
            print(f"{kind:<12} {w['p50']:>8} {w['p95']:>8} {f['p50']:>8} {f['p95']:>8} {ratio:>5.1f}×  "
                  f"{w['avg_total']}/{f['avg_total']}")
        print("\nphase breakdown (mean ms per Whoosh query):")
        for kind, phases in q["phases"].items():
            top = sorted(((v, k) for k, v in phases.items() if k != "TOTAL"), reverse=True)[:5]
            print(f"  {kind:<12} total {phases['TOTAL']:.1f}: " + "; ".join(f"{k} {v:.1f}" for v, k in top))


# --- main ------------------------------------------------------------------------------------------------

def parse_sizes(values: list[str] | None) -> list[int]:
    sizes = []
    for value in values or ["20000,100000"]:
        sizes += [int(v.replace("_", "")) for v in value.split(",") if v.strip()]
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", action="append", help="corpus sizes, repeatable or comma-separated "
                                                         "(default 20000,100000)")
    parser.add_argument("--queries", type=int, default=100, help="timed queries per engine, kinds in turn "
                                                                 "(default 100)")
    parser.add_argument("--skip-http", action="store_true", help="skip the gunicorn step")
    parser.add_argument("--skip-rebuild", action="store_true", help="reuse the index if one was built before")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"cache folder (default {DEFAULT_WORKDIR})")
    parser.add_argument("--procs", type=int, default=2, help="processes for the rebuild (default 2)")
    parser.add_argument("--seed", type=int, default=2026, help="corpus and query seed (default 2026)")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/search_results.md")
    parser.add_argument("--report-only", action="store_true", help="rewrite bench/search_results.md from the "
                                                                    "results saved in --workdir, measure nothing")
    parser.add_argument("--layers-only", action="store_true", help="only time what a search request adds to the "
                                                                    "engine, on a corpus and index built before")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process doing one step
        notes = parse_sizes(args.notes)[0]
        phases = {"build-db": lambda: phase_build_db(args.instance, notes, args.seed),
                  "fill-html": lambda: phase_fill_html(args.instance),
                  "migrate": lambda: phase_migrate(args.instance),
                  "build-fts": lambda: phase_build_fts(args.instance, args.procs),
                  "rebuild": lambda: phase_rebuild(args.instance, args.procs),
                  "queries": lambda: phase_queries(args.instance, args.queries, args.seed),
                  "layers": lambda: phase_layers(args.instance, args.queries, args.seed),
                  "freshness": lambda: phase_freshness(args.instance, args.seed)}
        emit(phases[args.phase]())
        return

    command = "python bench/search.py " + " ".join(sys.argv[1:])
    if args.report_only:
        for size in parse_sizes(args.notes):
            saved = json.loads((args.workdir / f"result-{size}.json").read_text())
            print_summary(size, saved)
            write_results({size: saved}, command)
        return
    if args.layers_only:
        for size in parse_sizes(args.notes):
            run_layers_only(size, args, command)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, Any]] = {}
    for size in parse_sizes(args.notes):
        r: dict[str, Any] = {"seed": args.seed, "procs": args.procs, "load_start": loadavg(), "command": command,
                             "started": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}
        instance = instance_dir(args.workdir, size, args.seed)
        ready = instance / "READY"
        if not ready.exists():
            log(f"{size}: generating the corpus and the hub database in {instance}")
            shutil.rmtree(instance, ignore_errors=True)
            instance.mkdir(parents=True)
            r["db"] = run_child("build-db", instance, args, size)
            ready.write_text(json.dumps(r["db"]))
        else:
            r["db"] = json.loads(ready.read_text())
            log(f"{size}: reusing the hub database in {instance}")
            run_child("migrate", instance, args, size)  # built by an older hub: its schema brought up to date
            if not r["db"].get("body_html"):  # built by an older bench, with a placeholder instead of HTML
                run_child("fill-html", instance, args, size)
                r["db"]["body_html"] = True
                ready.write_text(json.dumps(r["db"]))
        fts_ready = instance / "FTS_READY"
        if not fts_ready.exists():
            log(f"{size}: building the FTS5 + jieba baseline")
            r["fts_build"] = run_child("build-fts", instance, args, size)
            fts_ready.write_text(json.dumps(r["fts_build"]))
        else:
            r["fts_build"] = json.loads(fts_ready.read_text())
        if args.skip_rebuild and (instance / "index" / "current").exists():
            log(f"{size}: reusing the search index (--skip-rebuild)")
            if (instance / "REBUILD_RESULT.json").exists():
                r["rebuild"] = json.loads((instance / "REBUILD_RESULT.json").read_text())
                r["rebuild"]["reused"] = True
        else:
            log(f"{size}: rebuilding the search index with procs={args.procs}")
            r["rebuild"] = run_child("rebuild", instance, args, size)
            log(f"{size}: rebuild {r['rebuild']['notes_per_s']} notes/s")
        log(f"{size}: query mix")
        r["queries"] = run_child("queries", instance, args, size)
        log(f"{size}: freshness")
        r["freshness"] = run_child("freshness", instance, args, size)
        if not args.skip_http:
            log(f"{size}: HTTP")
            r["http"] = run_http(instance, args.seed, args.workdir)
            log(f"{size}: HTTP, JSON API")
            r["http_api"] = run_http(instance, args.seed, args.workdir, path="/api/v1/search")
        r["load_end"] = loadavg()
        results[size] = r
        (args.workdir / f"result-{size}.json").write_text(json.dumps(r, ensure_ascii=False, indent=1, default=str))
        print_summary(size, r)
        if not args.no_write:
            write_results({size: r}, command)
    if not args.no_write:
        print(f"\nwrote {RESULTS_MD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
