"""Folding text to the index's one form: the quick NFKC path gives what unicodedata gives."""
from __future__ import annotations

import random
import unicodedata

from search_index.folding import _ONE_FOR_ONE, _nfkc, _swapped, normalise


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
