"""The search page through the HTTP client: what it says about the words it also searched and about its pages."""
from __future__ import annotations

import re

import pytest



def also_searched(page: str) -> list[str]:
    """Return the terms of the page's "Also searched:" line."""
    line = re.search(r"Also searched: (.*?) ·", page, re.S)
    assert line, "no 'Also searched' line"
    return line.group(1).split(", ")


def test_a_repeated_word_lists_what_it_also_searched_once(client, hub):
    once = also_searched(client.get("/search?q=美沙酮").get_data(as_text=True))
    assert once and len(once) == len(set(once))
    assert also_searched(client.get("/search", query_string={"q": " ".join(["美沙酮"] * 125)})  # 499 characters
                         .get_data(as_text=True)) == once


@pytest.mark.parametrize("page_number", ["2", "99999999999999999999"])
def test_a_page_past_the_last_says_there_are_no_more_results_and_links_the_first(client, hub, page_number):
    page = client.get(f"/search?q=outreach&page={page_number}").get_data(as_text=True)
    assert "2 notes found" in page  # the count stays true: it is the page that is past the last
    assert "No more results here: this search has only 1 page." in page
    assert '<a href="/search?q=outreach">Go to the first page</a>' in page
    assert "No notes found" not in page and 'rel="prev"' not in page
    first = client.get("/search?q=outreach").get_data(as_text=True)
    assert "No more results here" not in first and "Outreach in Kunming" in first


def test_a_page_past_the_last_says_so_in_chinese(client, hub):
    page = client.get("/search?q=同伴&page=5&lang=zh_Hans").get_data(as_text=True)
    assert "这里没有更多结果：这次搜索只有 1 页。" in page and ">回到第一页</a>" in page


def test_a_search_that_finds_nothing_still_says_to_try_other_words(client, hub):
    page = client.get("/search?q=nothing-like-this&page=3").get_data(as_text=True)
    assert "No notes found. Try fewer or other words." in page and "No more results here" not in page


@pytest.mark.parametrize("typed", ["   ", "\t", "\u3000", '"', "-", '" "'])
def test_a_query_of_spaces_or_a_lone_quote_is_the_blank_search_form_not_every_note(client, hub, typed):
    page = client.get("/search", query_string={"q": typed}).get_data(as_text=True)
    assert "notes found" not in page and "Outreach in Kunming" not in page and "Follow this search" not in page
    # With a filter chosen, the same query browses what the filter holds.
    assert re.search(r"\d+ notes? found", client.get("/search", query_string={"q": typed, "language": "en"}).get_data(as_text=True))


def test_did_you_mean_offers_a_word_as_the_notes_spell_it(client, hub):
    page = client.get("/search?q=markett").get_data(as_text=True)  # the index holds the stem "market"
    assert 'Did you mean: <a href="/search?q=market">market</a>' in page
    page = client.get("/search?q=walkz&lang=zh_Hans").get_data(as_text=True)  # the index holds "walk"
    assert '你是不是要找： <a href="/search?q=walk">walk</a>' in page
