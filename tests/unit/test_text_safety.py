"""Names are shown safely: no invisible or direction-changing characters, and look-alikes compare equal."""
from __future__ import annotations

import pytest

from hub import text_safety
from hub.text_safety import UnsafeName, clean_name, skeleton

INVISIBLE = {
    "zero-width space": "\u200b", "zero-width non-joiner": "\u200c", "stray zero-width joiner": "\u200d",
    "word joiner": "\u2060", "byte-order mark": "\ufeff", "soft hyphen": "\u00ad",
    "left-to-right mark": "\u200e", "right-to-left mark": "\u200f", "Arabic letter mark": "\u061c",
    "right-to-left override": "\u202e", "left-to-right override": "\u202d", "right-to-left embedding": "\u202b",
    "pop directional formatting": "\u202c", "right-to-left isolate": "\u2067", "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069", "tag letter": "\U000e0041", "invisible separator": "\u2063",
    "Hangul filler": "\u3164", "combining grapheme joiner": "\u034f", "NUL": "\x00", "escape": "\x1b",
    "newline": "\n", "delete": "\x7f", "line separator": "\u2028", "private use": "\ue000",
    "variation selector on a letter": "\ufe0f",
}


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("position", ["start", "middle", "end"])
def test_names_with_invisible_or_direction_characters_are_refused(character: str, position: str) -> None:
    name = {"start": character + "小李 Lee", "middle": "小李" + character + "Lee", "end": "小李 Lee" + character}
    if character.isspace() and position != "middle":  # a line break around a name is only stripped
        assert clean_name(name[position]) == "小李 Lee"
        return
    with pytest.raises(UnsafeName) as refused:
        clean_name(name[position])
    assert refused.value.reason == "invisible"


@pytest.mark.parametrize(
    "name",
    [
        "小李", "Peer Lee", "山风 (成都)", "Zoë", "李-2", "👩\u200d⚕\ufe0f 医生", "👨\u200d👩\u200d👧",
        "❤\ufe0f同伴", "1\ufe0f\u20e3号", "👍🏽", "🇨🇳 team", "葛\U000e0100",  # an ideographic variant
    ],
)
def test_ordinary_names_and_emoji_sequences_are_kept(name: str) -> None:
    assert clean_name(name) == name


def test_names_are_nfc_normalised_and_stripped() -> None:
    assert clean_name("  Zoe\u0308 ") == "Zoë"
    assert clean_name("") == ""


@pytest.mark.parametrize("name", ["\u2800", "\u2800 \u3000", "\u0301"])
def test_names_that_draw_nothing_are_refused_as_empty(name: str) -> None:
    with pytest.raises(UnsafeName) as refused:
        clean_name(name)
    assert refused.value.reason == "empty"


@pytest.mark.parametrize(
    ("name", "look_alike"),
    [
        ("paypal", "pаypal"),  # Cyrillic а
        ("Lily", "LiIy"),  # capital I for l
        ("Lily", "Ｌｉｌｙ"),  # full-width
        ("Mary P", "Ｍａｒｙ Ｐ"),  # full-width ｒ, which confusables.txt leaves to NFKC
        ("peer01", "peerOl"),  # O for 0, l for 1
        ("ΡΑΥ", "PAY"),  # Greek capitals
        ("小李", "小李\u200b"),  # an invisible character is no difference
        ("Zoë", "Zoe\u0308"),  # composed and decomposed
        ("modern", "rnodern"),  # rn for m
    ],
)
def test_look_alike_names_have_the_same_skeleton(name: str, look_alike: str) -> None:
    assert skeleton(name) == skeleton(look_alike)


@pytest.mark.parametrize(("name", "other"), [("小李", "小孝"), ("Lily", "Lilly"), ("山风", "山峰"), ("peer", "beer")])
def test_different_names_have_different_skeletons(name: str, other: str) -> None:
    assert skeleton(name) != skeleton(other)


def test_skeleton_is_case_folded() -> None:
    assert skeleton("PEER") == skeleton("peer") == skeleton("Peer")


def test_skeleton_uses_unicodes_own_data(tmp_path, monkeypatch) -> None:
    changed = tmp_path / "confusables.txt"
    changed.write_bytes(text_safety.CONFUSABLES.read_bytes().replace(b"0430 ;\t0061 ;", b"0430 ;\t0062 ;"))
    monkeypatch.setattr(text_safety, "CONFUSABLES", changed)
    text_safety._prototypes.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="checksum"):
            skeleton("pаypal")
    finally:
        monkeypatch.undo()
        text_safety._prototypes.cache_clear()
    assert len(text_safety._prototypes()) > 6000


@pytest.mark.parametrize("text, limit, kept", [
    ("abc", 5, "abc"),
    ("abcdef", 3, "abc"),
    ("abq\u0301c", 3, "ab"),  # q and its accent go together
    ("abq\u0301c", 4, "abq\u0301"),
    ("ab\U0001f469\u200d\u2695\ufe0f", 3, "ab"),  # 👩‍⚕️ whole or not at all
    ("ab\U0001f469\u200d\u2695\ufe0fz", 6, "ab\U0001f469\u200d\u2695\ufe0f"),
    ("x\U0001f44d\U0001f3fd", 2, "x"),  # a thumb keeps its skin tone
    ("\u845b\U000e0100\u845b", 1, ""),  # an ideographic variation selector stays with its character
    ("评\U0001f600", 2, "评\U0001f600"),  # one code point: Python never splits a surrogate pair
])
def test_cut_never_splits_a_character_cluster(text, limit, kept):
    assert text_safety.cut(text, limit) == kept
