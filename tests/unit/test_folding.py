"""Folding text to the index's one form: the quick NFKC path gives what unicodedata gives."""
from __future__ import annotations

import json
import random
import sys
import tempfile
import unicodedata
from pathlib import Path

import opencc

from search_index.folding import T2S_CHANGES, _ONE_FOR_ONE, _converter, _nfkc, _swapped, normalise, to_simplified

from tests import spawn


def test_the_quick_nfkc_of_every_character_is_unicodedata_s():
    # The BMP and the supplementary ideographic plane (compatibility ideographs at U+2F800).
    chars = (chr(code) for code in range(0x30000) if not 0xD800 <= code <= 0xDFFF)
    assert [char for char in chars if _nfkc(char) != unicodedata.normalize("NFKC", char)] == []


def test_the_quick_nfkc_of_mixed_text_is_unicodedata_s():
    # Characters that fold one for one, expand (…, ㎎), compose (combining marks, Hangul jamo), or stay.
    pool = (list("，：；？！（）ＭＭＴ１２３…㎎ﬁ①가각") + [chr(c) for c in range(0x300, 0x370)]
            + [chr(c) for c in range(0x1100, 0x1176)] + list("美沙酮針具交換abc Zé"))
    rng = random.Random(17)
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(5000)]
    texts += ["美沙酮维持治疗，同伴（ＭＭＴ）：每日１次。", "Ａ\u0301", "e\u0301\u0323", "\u1100\u1161\u11a8"]
    assert [text for text in texts if _nfkc(text) != unicodedata.normalize("NFKC", text)] == []


def test_the_table_swap_is_the_dict_swap_in_and_beyond_the_bmp():
    # Through the BMP table, and through the dict when a character lies beyond it (𠀀, 丽) or is a lone surrogate.
    pool = list("，：ＭＭＴ１…㎎ﬁ美沙酮針具abc \ud800\udfff") + ["\U00020000", "\U0002f800", "\U0001f600"]
    rng = random.Random(5)
    texts = [""] + ["".join(rng.choice(pool) for _ in range(rng.randint(1, 20))) for _ in range(3000)]
    assert [text for text in texts if _swapped(text) != text.translate(_ONE_FOR_ONE)] == []
    assert _swapped("同伴，ＭＭＴ") == "同伴,MMT"


def test_normalise_keeps_offsets_where_the_length_changes():
    folded, bounds = normalise("美沙酮…針具")
    assert folded == "美沙酮...针具" and bounds[3:6] == [(3, 4)] * 3 and bounds[6] == (4, 5)
    assert normalise("同伴，ＭＭＴ") == ("同伴,MMT", None)


def t2s_changes_of_installed_opencc() -> list[str]:
    """Return the keys of the installed OpenCC's t2s dictionaries whose value (the first: what it converts to)
    differs from the key, read with the ``opencc_dict`` tool its wheel ships."""
    clib = Path(opencc.__file__).parent / "clib"
    config = json.loads((clib / "share" / "opencc" / "t2s.json").read_text(encoding="utf-8"))
    files: list[str] = []

    def collect(node):
        if isinstance(node, dict):
            files.extend([node["file"]] if "file" in node else [])
            [collect(value) for value in node.values()]
        elif isinstance(node, list):
            [collect(value) for value in node]

    collect(config)
    changed = []
    with tempfile.TemporaryDirectory() as folder:
        for name in files:
            out = Path(folder) / (name + ".txt")
            spawn.run([str(clib / "bin" / "opencc_dict"), "-i", str(clib / "share" / "opencc" / name), "-o", str(out),
                       "-f", "ocd2", "-t", "text"], check=True, capture_output=True)
            for line in out.read_text(encoding="utf-8").splitlines():
                key, values = line.split("\t")
                if values.split(" ")[0] != key:
                    changed.append(key)
    return sorted(set(changed))


def write_t2s_changes() -> None:
    """Write search_index/data/t2s_changes.txt for the installed OpenCC (after upgrading it)."""
    T2S_CHANGES.write_text(f"# OpenCC {opencc.__version__} t2s\n" + "".join(f"{key}\n" for key in t2s_changes_of_installed_opencc()),
                           encoding="utf-8")


def test_the_list_of_what_t2s_converts_is_the_installed_opencc_s():
    header, *keys = T2S_CHANGES.read_text(encoding="utf-8").splitlines()
    assert header == f"# OpenCC {opencc.__version__} t2s", f"rewrite it: {sys.executable} {__file__}"
    assert keys == t2s_changes_of_installed_opencc(), f"rewrite it: {sys.executable} {__file__}"


def test_text_t2s_would_leave_alone_skips_it_and_the_rest_is_converted():
    # Simplified text, Traditional characters, phrases t2s converts although it leaves their characters alone
    # (回覆: 回复; 么麼), characters it leaves alone in a phrase it converts (乾隆), and beyond the BMP.
    keys = T2S_CHANGES.read_text(encoding="utf-8").splitlines()[1:]
    pool = (list("美沙酮维持治疗同伴回复反覆覆回么乾隆干針具交換门诊，。abc 1") + ["回覆", "反反覆覆", "么麼", "藉口", "找藉口"]
            + random.Random(3).sample(keys, 300) + ["\U00020000", "\U0002a6d6"])
    rng = random.Random(11)
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 30))) for _ in range(20000)]
    texts += ["美沙酮维持治疗，同伴教育。", "回覆", "答覆与回复", "么", "么麼", "乾隆年间", "干净"]
    assert [text for text in texts if to_simplified(text) != _converter().convert(text)] == []
    assert to_simplified("答覆与回复") == "答复与回复" and to_simplified("針具") == "针具"


def test_simplified_text_is_not_given_to_opencc(monkeypatch):
    def refuse():
        raise AssertionError("OpenCC was asked")

    monkeypatch.setattr("search_index.folding._converter", refuse)
    assert to_simplified("美沙酮维持治疗，同伴教育：回复与反复。") == "美沙酮维持治疗，同伴教育：回复与反复。"
    assert normalise("同伴，ＭＭＴ") == ("同伴,MMT", None)


if __name__ == "__main__":
    write_t2s_changes()
