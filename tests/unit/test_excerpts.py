"""Highlighted excerpts: the analysed query terms marked in the text as the author wrote it."""
from __future__ import annotations

import random
import re

from search_index.excerpts import _matches, excerpt_html, html_text


def test_simplified_terms_mark_traditional_text_as_written():
    assert excerpt_html("我們在社區開展針具交換。", ["针具交换"]) == "我們在社區開展<mark>針具交換</mark>。"


def test_an_english_stem_marks_the_whole_word_and_only_at_a_word_start():
    html = excerpt_html("Discrimination at the start; art helps.", ["discrimin", "art"])
    assert html == "<mark>Discrimination</mark> at the start; <mark>art</mark> helps."


def test_everything_but_the_marks_is_escaped():
    html = excerpt_html('<script>alert(1)</script> needle & "exchange"', ["needl"])
    assert "<script>" not in html and "&lt;script&gt;" in html and "<mark>needle</mark>" in html


def test_far_apart_matches_become_two_fragments_with_ellipses():
    text = "intro " * 20 + "methadone clinic " + "filler " * 60 + "naloxone kits " + "tail " * 40
    html = excerpt_html(text, ["methadon", "naloxon"])
    assert html.startswith("…") and html.endswith("…") and " … " in html
    assert html.count("<mark>") == 2 and len(html) < 2 * 160 + 60


def test_no_match_gives_nothing():
    assert excerpt_html("nothing to see", ["methadon"]) == ""
    assert excerpt_html("", ["methadon"]) == ""
    assert excerpt_html("text", []) == ""


def test_html_text_keeps_words_apart_at_blocks_and_together_inside_them():
    source = "<p>在<strong>针具交换</strong>点 &amp; more</p><section><h2>背景</h2><p>x</p></section>"
    assert html_text(source) == "在针具交换点 & more 背景 x"


def test_fragments_never_repeat_text_nor_cut_a_match():
    text = "methadone " + "x" * 150 + " methadone tail " + "y" * 300
    html = excerpt_html(text, ["methadon"])
    assert html.count("<mark>methadone</mark>") == 2
    assert html.count("x") == 150  # the 40 characters before the second match are shown once
    assert " … " not in html and html.endswith("…")  # nothing left out between the two: no ellipsis


def test_matches_that_touch_are_one_highlight():
    assert excerpt_html("我们在美沙酮门诊安排同伴值班。", ["美沙酮", "门诊"]) == "我们在<mark>美沙酮门诊</mark>安排同伴值班。"
    assert excerpt_html("美沙酮 门诊", ["美沙酮", "门诊"]) == "<mark>美沙酮</mark> <mark>门诊</mark>"


def test_stems_are_found_where_a_look_behind_finds_them():
    """Words checked for their start after each match give what the look-behind pattern gave."""
    def by_look_behind(lowered, terms):
        found = sorted((m.span() for t in terms for m in re.finditer(rf"(?<![a-z0-9]){re.escape(t)}[a-z0-9]*", lowered)),
                       key=lambda span: (span[0], -span[1]))
        kept = []
        for start, end in found:
            if not kept or start >= kept[-1][1]:
                kept.append((start, end))
        return kept

    rng = random.Random(3)
    pieces = ["peer", "peers", "compeer", "pe", "er", "2", "24", "peer2peer", " ", " ", "-", "é", "，", "同伴"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        terms = rng.sample(["peer", "pe", "er", "2", "24"], rng.randint(1, 3))
        assert _matches(text, terms) == by_look_behind(text, terms), (text, terms)


def test_an_excerpt_is_what_the_sanitiser_gives_back_without_asking_it_for_ordinary_text(monkeypatch):
    # Quotes, ampersands, no-break spaces, markup-looking text, combining marks, byte order marks, carriage
    # returns and NULs: the excerpt is what the sanitiser gives back for it, and the sanitiser runs only
    # where its parser would change the text (carriage return, NUL, a leading byte order mark).
    from search_index import excerpts

    sanitiser = excerpts._MARKS_ONLY
    pieces = ["a", "b c", "&", "<", ">", '"', "'", "\xa0", "\n", "\t", "&amp;", "<mark>", "</mark>", "<b>", "<!--",
              "美沙酮", "門診", "e\u0301", "ﬁ", "😀", "\u3000", "\ufeff", "\r", "\x00", "\x0c", "]]>", "&#x27;"]
    rng = random.Random(17)
    cleaned = []
    monkeypatch.setattr(excerpts, "_MARKS_ONLY", type("Spy", (), {"clean": lambda self, html: (
        cleaned.append(html), sanitiser.clean(html))[1]})())
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))
        terms = rng.sample(["a", "b", "美沙酮", "门诊", "amp", "mark", "fi", "e"], rng.randint(1, 3))
        cleaned.clear()
        html = excerpt_html(text, terms)
        if cleaned:  # what the sanitiser gave back (it may take one more leading byte order mark out if asked again)
            assert any(char in text for char in "\r\x00\ufeff")
        else:
            assert html == sanitiser.clean(html)
    cleaned.clear()
    assert excerpt_html('He said "needle & syringe" isn\'t <enough>.', ["needl"]) == (
        'He said "<mark>needle</mark> &amp; syringe" isn\'t &lt;enough&gt;.')
    assert cleaned == []
