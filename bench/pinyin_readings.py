"""Compare slugs and redaction's pinyin at a revision with this worktree's, side by side, on a large sample.

    .venv/bin/python bench/pinyin_readings.py          # against main
    .venv/bin/python bench/pinyin_readings.py a85668f~1

Loads ``hub/services/slugs.py`` and ``hub/services/redaction.py`` of REV as modules of their own
beside this worktree's, then compares slugs of every pypinyin phrase, every CJK character, surname
names and seeded mixed strings; redaction's romanised forms, readings, syllable and surname sets; the
patterns of removed names and ``scrub`` of texts holding them (seed 2026). Prints the differences.
About a minute.
"""
import itertools
import random
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
rev = sys.argv[1] if len(sys.argv) > 1 else "main"

from hub import create_app
from hub.config import TestConfig
from hub.extensions import db
from hub.services import redaction as new_red, slugs as new_slugs, real_names


def old(name, path):
    module = types.ModuleType(name)
    module.__file__ = path  # as REV had it: pypinyin imported at the top
    sys.modules[name] = module
    source = subprocess.check_output(["git", "show", f"{rev}:{path}"], cwd=ROOT, text=True)
    exec(compile(source, path, "exec"), module.__dict__)
    return module


old_slugs = old("old_slugs", "hub/services/slugs.py")
old_red = old("old_redaction", "hub/services/redaction.py")
from pypinyin.constants import PHRASES_DICT

rng = random.Random(2026)
chars = [chr(c) for r in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)) for c in range(r[0], r[1] + 1)]
phrases = sorted(PHRASES_DICT)
given = list("小明红丽华伟芳娜敏静强磊军洋勇艳杰娟涛超秀英霞平刚桂兰长重乐行朝单曾解查仇朴区")
pairs = list(itertools.permutations(given, 2))
names = ([s + g for s in real_names.SURNAMES for g in given]
         + [s + g + h for s in real_names.SURNAMES for g, h in pairs[:200]]
         + [s + g for s in real_names.COMPOUND_SURNAMES for g in given]
         + [s + g + h for s in real_names.COMPOUND_SURNAMES for g, h in pairs[:60]])
notes = [l.strip() for l in open(ROOT / "bench/data/practice_notes.txt", encoding="utf-8") if l.strip()]
mixed = ["".join(rng.choice([rng.choice(chars), rng.choice(phrases), " ", "-", "abc", "Ünïcode", "1998", "'", "！"])
                 for _ in range(rng.randint(1, 12))) for _ in range(20000)]
slug_inputs = phrases + chars + names + notes + mixed
print(f"slug inputs: {len(slug_inputs)} ({len(phrases)} phrases, {len(chars)} characters, {len(names)} names, "
      f"{len(notes)} note sentences, {len(mixed)} mixed strings)")
t = time.process_time()
diff = [s for s in slug_inputs if old_slugs.slug_for(s) != new_slugs.slug_for(s)]
print("slug differences:", len(diff), diff[:5], f"({time.process_time() - t:.1f} s)")

han_names = [p for p in phrases if len(p) in range(2, 5)] + names
diff = [n for n in han_names if old_red._romanised_forms(n) != new_red._romanised_forms(n)]
print(f"romanised forms of {len(han_names)} runs of 2-4 characters: differences", len(diff), diff[:5])
diff = [c for c in chars if old_red._readings(c) != new_red._readings(c)]
print(f"readings of {len(chars)} characters: differences", len(diff))
print("syllables equal:", old_red._syllables() == new_red._syllables(), len(new_red._syllables()))
print("surnames equal:", old_red._surnames() == new_red._surnames())

app = create_app(TestConfig)
with app.app_context():
    db.create_all()
    latin = [" ".join(new_red.pinyin.syllables(n)).title() for n in names[:3000]]
    latin += ["".join(new_red.pinyin.syllables(n)) for n in names[3000:4000]]
    latin += ["John Smith", "Li Ming", "Hu Man", "human"]
    differences = 0
    samples = 0
    changed = 0
    for literal in rng.sample(names, 1500) + latin:
        o, n = old_red.Removed(literals=frozenset({literal})), new_red.Removed(literals=frozenset({literal}))
        po, pn = o.romanised, n.romanised
        assert (po and po.pattern) == (pn and pn.pattern) and o.pinyin_names == n.pinyin_names, literal
        for _ in range(2):
            other = rng.choice(names)
            other_latin = " ".join(new_red.pinyin.syllables(other)).title()
            text = (f"{rng.choice(notes)} {literal} {rng.choice(notes)} {other_latin} "
                    f"{other} {''.join(new_red.pinyin.syllables(literal))} {rng.choice(notes)}")
            fields = {"body": text, "title": literal}
            samples += 1
            before, after = old_red.scrub(fields, o, language="zh_Hans"), new_red.scrub(fields, n, language="zh_Hans")
            differences += before != after
            changed += after != fields
    print(f"Removed patterns of {1500 + len(latin)} literals equal; scrub of {samples} texts: differences",
          differences, "; texts scrub changed:", changed)
