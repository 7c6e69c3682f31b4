"""Starting the hub loads only what starting needs: pypinyin's dictionaries wait until pinyin is read.

Each test runs a fresh interpreter, as every CLI command, web process and worker starts one.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests import spawn

REPO_ROOT = Path(__file__).resolve().parents[2]

# Phrases whose characters read otherwise alone (重 zhong, 长 zhang, 行 xing, 乐 le, 单 dan, 尉 wei):
# pinyin read character by character would give other slugs and miss the names written in pinyin.
SLUGGED = ["重庆", "长沙银行", "音乐", "单于", "人民日报", "Ａ区 2号楼"]
# A name removed in Han characters, and the ways a translation or a comment writes it in pinyin.
WRITTEN = {"曾小明": ["Zeng Xiaoming", "Ceng Xiao-ming", "Xiaoming Zeng"],
           "欧阳明": ["Ouyang Ming", "Ming Ouyang"], "尉迟恭": ["Yuchi Gong", "Gong Yuchi"]}

FIRST_USE = """
import json, sys, threading
from hub import create_app
from hub.config import TestConfig
from hub.extensions import db

app = create_app(TestConfig)
with app.app_context():
    db.create_all()
pages = [app.test_client().get(path).status_code for path in ("/", "/healthz", "/notes")]
help_exit = app.test_cli_runner().invoke(args=["hub", "--help"]).exit_code
at_start = "pypinyin" in sys.modules

from hub.services import redaction, slugs

slugged, written = json.loads(sys.argv[1]), json.loads(sys.argv[2])
barrier, found = threading.Barrier(8), []

def first_use():
    barrier.wait()  # eight threads ask for pinyin at once, while it is still unloaded
    with app.app_context():
        found.append({"slugs": [slugs.slug_for(name) for name in slugged],
                      "scrubbed": {name: [redaction.scrub({"body": f"Met {text} today."},
                                                          redaction.Removed(literals=frozenset({name})),
                                                          language="en")["body"] for text in texts]
                                   for name, texts in written.items()}})

threads = [threading.Thread(target=first_use) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()

from pypinyin import Style, lazy_pinyin  # the library itself, as the hub called it when it imported it at start
print(json.dumps({"pages": pages, "help_exit": help_exit, "at_start": at_start, "found": found,
                  "eager": [lazy_pinyin(name, style=Style.NORMAL) for name in slugged]}))
"""


def test_a_cli_command_never_imports_pypinyin(tmp_path):
    env = {**os.environ, "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(tmp_path), "FLASK_APP": "wsgi"}
    env.pop("HUB_DATABASE_URL", None)
    done = spawn.run([sys.executable, "-X", "importtime", "-m", "flask", "hub", "mail-status"], env=env,
                     cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "mail:" in done.stdout, done.stderr[-2000:]
    imported = [line.rpartition("|")[2].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "hub.services.redaction" in imported and "hub.services.slugs" in imported  # the app was loaded whole
    assert not [name for name in imported if name.split(".")[0] == "pypinyin"]


def test_pinyin_is_loaded_at_first_use_from_many_threads_with_the_readings_of_an_eager_import():
    done = spawn.run([sys.executable, "-c", FIRST_USE, json.dumps(SLUGGED), json.dumps(WRITTEN)], cwd=REPO_ROOT,
                     capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])

    assert result["pages"] == [200, 200, 200] and result["help_exit"] == 0
    assert result["at_start"] is False
    found = result["found"]
    assert len(found) == 8 and all(each == found[0] for each in found)
    assert found[0]["slugs"][:-1] == ["-".join(syllables) for syllables in result["eager"][:-1]]
    assert found[0]["slugs"][-1] == "a-qu-2-hao-lou"
    assert {"chong-qing", "chang-sha-yin-hang", "yin-yue", "chan-yu"} <= set(found[0]["slugs"])
    for name, texts in WRITTEN.items():
        for text, scrubbed in zip(texts, found[0]["scrubbed"][name]):
            assert text not in scrubbed and scrubbed.startswith("Met ") and scrubbed.endswith(" today."), (name, text)


WEB_PROCESS = """
import json, sys, types
from hub import create_app
from hub.config import TestConfig
from hub.extensions import db
from search_index import analysis

app = create_app(TestConfig)
with app.app_context():
    db.create_all()
before = analysis._segmenter_instance is not None
import hub.gunicorn_conf as settings
settings.post_worker_init(types.SimpleNamespace(wsgi=app, log=None))  # as gunicorn calls it in each web process
print(json.dumps({"before": before, "after": analysis._segmenter_instance is not None}))
"""


def test_a_web_process_loads_the_segmenter_before_its_first_request():
    """gunicorn's post_worker_init warms search (search_index.warm): the first reader to search after a start
    does not wait for jieba's dictionary (1.3 s of CPU; more than gunicorn's 30 s under heavy load)."""
    done = spawn.run([sys.executable, "-c", WEB_PROCESS], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"before": False, "after": True}
