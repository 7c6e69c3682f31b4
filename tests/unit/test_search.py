"""Search through the search_index door: words, glossary, scripts, precision, facets, visibility."""
from __future__ import annotations

import datetime as dt
import types

import pytest

import search_index
from hub.extensions import db
from hub import worker
from hub.models.user import Role
from hub.services import notes, vocabulary
from tests.helpers import approve_checked


@pytest.fixture
def hub(app, make_user, project):
    vocabulary.seed()
    author = make_user("lee", role=Role.CONTRIBUTOR, pseudonym="小李", project=project)
    moderator = make_user("moder", role=Role.MODERATOR, pseudonym="山风")
    return {"app": app, "author": author, "moderator": moderator}


class Anonymous:
    is_authenticated = False
    is_active = False


def publish(hub, title, body, *, summary="摘要", language="zh_Hans", visibility="public", topics=()):
    term_ids = [vocabulary.by_slug("topic", slug).id for slug in topics]
    note = notes.create_draft(author=hub["author"], data=notes.NoteInput(
        title=title, summary=summary, body=body, language=language, visibility=visibility, term_ids=term_ids))
    notes.submit(note, by=hub["author"], confirm_privacy=True)
    approve_checked(note, by=hub["moderator"])
    return note


def index(hub) -> None:
    worker.run_once(hub["app"])


def titles(text, viewer=None, **kwargs) -> list[str]:
    page = search_index.search(text, viewer=viewer or Anonymous(), **kwargs)
    return [n.title for n in page.notes]


def test_a_chinese_word_is_found_inside_a_sentence(hub):
    publish(hub, "门诊经验", "我们的美沙酮维持治疗门诊每天早上开门。")
    publish(hub, "别的", "与此无关的内容。")
    index(hub)
    assert titles("美沙酮") == ["门诊经验"]
    assert titles("维持治疗") == ["门诊经验"]


@pytest.mark.parametrize("query", ["针具", "歧视"])
def test_two_character_queries_work(hub, query):
    publish(hub, "针具交换点", "外展员在针具交换点遇到的歧视问题。")
    index(hub)
    assert titles(query) == ["针具交换点"]


def test_one_character_queries_find_the_character_inside_words(hub):
    publish(hub, "服药", "服药人员每天到门诊，药物不良反应需要及时处理。")
    publish(hub, "针具", "外展员在城中村开展针具交换。")
    publish(hub, "别的", "与此无关的内容。")
    index(hub)
    assert titles("药") == ["服药"]
    assert titles("针") == ["针具"]
    assert titles("針") == ["针具"]  # Traditional, folded like the text


def test_a_word_does_not_match_characters_across_a_word_boundary(hub):
    publish(hub, "服务", "我们和服务对象一起讨论。")
    publish(hub, "衣服", "她穿着和服来参加活动。")
    index(hub)
    assert titles("和服", expand=False) == ["衣服"]


def test_a_query_that_is_one_word_is_not_found_where_its_parts_belong_to_other_words(hub):
    publish(hub, "门诊", "门诊工作人员每天都在。")
    publish(hub, "外展", "社区外展工作人员都来了。")  # 外展工作|人员: 工作人员 straddles two words
    publish(hub, "不应", "我们不应做这件事。")
    publish(hub, "应该", "他们不应该这样。")  # 不|应该
    index(hub)
    assert titles("工作人员", expand=False) == ["门诊"]
    assert titles("不应", expand=False) == ["不应"]


def test_a_word_that_no_note_holds_is_searched_as_a_phrase_of_its_units(hub):
    publish(hub, "分开写", "他们把针具 交换写成了两个词。")
    publish(hub, "别的", "交换意见，针具另说。")
    index(hub)
    assert titles("针具交换", expand=False) == ["分开写"]
    publish(hub, "一个词", "城中村的针具交换服务。")
    index(hub)
    assert titles("针具交换", expand=False) == ["一个词"]


def test_a_phrase_of_a_word_s_pieces_matches_wherever_the_word_is(hub):
    publish(hub, "交换点", "针具交换点每周开放。")
    publish(hub, "交换", "城中村的针具交换服务。")
    index(hub)
    for query in ("针具交换", '"针具 交换"', '"针具交换"', "針具交換"):
        assert set(titles(query, expand=False)) == {"交换点", "交换"}, query


def test_equal_scores_are_ordered_newest_first_then_by_note_id_on_every_page(hub):
    drafts = []
    for _ in range(4):
        note = notes.create_draft(author=hub["author"], data=notes.NoteInput(
            title="同一标题", summary="摘要", body="同伴教育的内容。", language="zh_Hans", visibility="public",
            term_ids=[]))
        drafts.append(notes.submit(note, by=hub["author"], confirm_privacy=True))
    a, b, c, d = drafts
    for note in (b, d, a, c):  # indexed in this order: document numbers follow neither ids nor dates
        notes.approve(note, by=hub["moderator"])
    same_time = a.published_at
    for note in (a, b, d):
        note.published_at = same_time
    c.published_at = same_time + dt.timedelta(days=1)
    db.session.commit()
    index(hub)
    pages = [search_index.search("同伴教育", viewer=Anonymous(), expand=False, per_page=2, page=number)
             for number in (1, 2)]
    assert [n.id for page in pages for n in page.notes] == [c.id, d.id, b.id, a.id]


def test_traditional_characters_find_simplified_text_and_back(hub):
    publish(hub, "交换", "针具交换服务在成都开展。")
    publish(hub, "繁體", "這是關於愛滋病檢測的筆記。")
    index(hub)
    assert titles("針具交換", expand=False) == ["交换"]
    assert titles("检测 笔记", expand=False) == ["繁體"]
    assert titles("艾滋病") == ["繁體"]  # Taiwan's 愛滋病 folds to 爱滋病; the glossary knows both


def test_glossary_expansion_finds_the_other_language_and_can_be_switched_off(hub):
    publish(hub, "美沙酮门诊", "美沙酮维持治疗的服务对象。")
    publish(hub, "Methadone clinic", "Clients of methadone maintenance come daily.", language="en")
    index(hub)
    page = search_index.search("methadone", viewer=Anonymous())
    assert {n.title for n in page.notes} == {"美沙酮门诊", "Methadone clinic"}
    assert "美沙酮" in page.expansions
    assert titles("methadone", expand=False) == ["Methadone clinic"]


def test_glossary_expansion_never_widens_a_chinese_word_to_the_word_it_holds_with_one_character_less(hub):
    publish(hub, "讲座", "这是一次为广大学生举办的讲座。")  # 广大|学生: 大学生 straddles two words
    publish(hub, "志愿者", "有几个大学生来做志愿者。")
    publish(hub, "Volunteers", "Two university students volunteered.", language="en")
    index(hub)
    page = search_index.search("大学生", viewer=Anonymous())
    assert {n.title for n in page.notes} == {"志愿者", "Volunteers"}
    assert "学生" not in page.expansions and "university students" in page.expansions
    assert {n.title for n in search_index.search("学生", viewer=Anonymous()).notes} == {"讲座", "志愿者", "Volunteers"}


def test_english_words_are_stemmed_and_mixed_text_works(hub):
    publish(hub, "Mixed", "同伴教育员 reported discrimination at the HIV检测 site.", language="en")
    index(hub)
    assert titles("discriminated") == ["Mixed"]
    assert titles("同伴教育员 discrimination") == ["Mixed"]


def test_and_falls_back_to_or_with_a_notice(hub):
    publish(hub, "A", "纳洛酮培训")
    publish(hub, "B", "丙肝转介")
    index(hub)
    page = search_index.search("纳洛酮 丙肝", viewer=Anonymous(), expand=False)
    assert page.fell_back_to_or and {n.title for n in page.notes} == {"A", "B"}
    page = search_index.search("纳洛酮 培训", viewer=Anonymous(), expand=False)
    assert not page.fell_back_to_or and [n.title for n in page.notes] == ["A"]


def test_phrases_and_exclusions(hub):
    publish(hub, "Peer", "Peer education in the clinic.", language="en")
    publish(hub, "Loose", "Education for peer workers.", language="en")
    index(hub)
    assert titles('"peer education"', expand=False) == ["Peer"]
    assert set(titles("peer education", expand=False)) == {"Peer", "Loose"}
    assert titles("education -clinic", expand=False) == ["Loose"]


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR NOT", "(((", "-", "a:b:c", "*?", "\\", "\x00", "😀" * 50])
def test_malformed_queries_never_fail(hub, query):
    publish(hub, "Any", "Some text.", language="en")
    index(hub)
    search_index.search(query, viewer=Anonymous())


def test_did_you_mean_for_misspelled_english_words(hub):
    publish(hub, "Naloxone", "Naloxone training for outreach workers.", language="en")
    index(hub)
    page = search_index.search("naloxome", viewer=Anonymous(), expand=False)
    assert page.total == 0 and page.suggestion == "naloxone"  # a word, not the index's stem


def test_title_and_summary_weigh_more_than_body(hub):
    publish(hub, "其他", "正文里提到外展。", summary="别的")
    publish(hub, "外展", "正文。", summary="别的")
    index(hub)
    assert titles("外展", expand=False) == ["外展", "其他"]


def test_facets_count_and_narrow(hub):
    publish(hub, "A", "外展工作", topics=["outreach"])
    publish(hub, "B", "外展和针具", topics=["outreach", "nsp"])
    publish(hub, "C", "外展 in English", language="en", topics=["nsp"])
    index(hub)
    page = search_index.search("外展", viewer=Anonymous(), expand=False)
    assert dict(page.facets["topic"]) == {"outreach": 2, "nsp": 2}
    assert dict(page.facets["language"]) == {"zh_Hans": 2, "en": 1}
    assert set(titles("外展", filters={"topic": "nsp", "language": "zh_Hans"}, expand=False)) == {"B"}


def test_members_only_notes_are_not_found_by_anonymous_visitors(hub, make_user):
    publish(hub, "Members", "只给成员看的外展笔记", visibility="members")
    index(hub)
    member = make_user("mary")
    assert titles("外展") == []
    assert titles("外展", viewer=member) == ["Members"]


def test_a_draft_is_never_indexed_nor_found_even_by_its_author(hub):
    notes.create_draft(author=hub["author"], data=notes.NoteInput(title="草稿", summary="s", body="独一无二的词语绿萝卜"))
    publish(hub, "Public", "普通内容")
    index(hub)
    assert titles("绿萝卜", viewer=hub["author"]) == []
    assert search_index.status()["indexed"] == 1


def test_unpublished_and_deleted_notes_leave_the_index(hub):
    gone = publish(hub, "Gone", "即将下线的笔记内容")
    deleted = publish(hub, "Deleted", "即将删除的笔记内容")
    index(hub)
    assert set(titles("笔记")) == {"Gone", "Deleted"}
    notes.unpublish(gone, by=hub["moderator"], reason="过时")
    notes.delete(deleted, by=hub["author"])
    index(hub)
    assert titles("笔记") == []
    assert search_index.status()["lag"] == 0


def test_visibility_is_rechecked_in_the_database_before_the_index_catches_up(hub):
    note = publish(hub, "Stale", "内容会被撤下")
    index(hub)
    notes.withdraw(note, by=hub["author"])  # the index has not seen this yet
    assert titles("撤下") == []


def test_highlighted_excerpts_mark_the_words_in_both_scripts(hub):
    publish(hub, "Excerpt", "我们在社区开展<b>针具交换</b>，效果很好。needle exchange works.")
    index(hub)
    page = search_index.search("针具交换", viewer=Anonymous())
    excerpt = page.excerpts[page.notes[0].id]
    assert "<mark>" in excerpt and "<b>" not in excerpt


def test_similar_notes(hub):
    one = publish(hub, "纳洛酮培训一", "我们为外展员做纳洛酮培训，处理过量。")
    publish(hub, "纳洛酮培训二", "纳洛酮培训和过量处理的经验。")
    publish(hub, "就业", "合作社帮助服务对象就业。")
    index(hub)
    assert [n.title for n in search_index.similar(one, viewer=Anonymous())][:1] == ["纳洛酮培训二"]


def test_search_status_reports_counts_and_lag(hub):
    publish(hub, "A", "内容")
    assert search_index.status()["available"] is False or search_index.status()["lag"] > 0
    index(hub)
    info = search_index.status()
    assert (info["indexed"], info["published"], info["lag"]) == (1, 1, 0)


def test_admin_glossary_additions_expand_queries(hub, make_user):
    from hub.services import vocabulary as vocab

    admin = make_user("ada", role=Role.ADMIN)
    publish(hub, "本地叫法", "服务对象都叫它喝药。")
    index(hub)
    assert titles("美沙酮") == []
    vocab.add_glossary_entry(concept="美沙酮", terms_zh="喝药", terms_en="", by=admin)
    assert titles("美沙酮") == ["本地叫法"]


def test_the_note_page_shows_similar_notes(hub, client):
    one = publish(hub, "纳洛酮培训一", "我们为外展员做纳洛酮培训，处理过量。")
    publish(hub, "纳洛酮培训二", "纳洛酮培训和过量处理的经验。")
    index(hub)
    html = client.get(f"/notes/{one.id}?lang=en").get_data(as_text=True)
    assert "Similar notes" in html and "纳洛酮培训二" in html.split("Similar notes", 1)[1]


def test_the_index_commit_a_page_is_keyed_by_may_be_a_moment_old_and_no_older(hub, monkeypatch):
    # search_index's own clock, moved by the test: publishing and indexing take longer than a second
    # on a loaded machine, and the worker's loops read the real one.
    clock = [1000.0]
    monkeypatch.setattr(search_index, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    publish(hub, "纳洛酮培训一", "我们为外展员做纳洛酮培训。")
    index(hub)
    first = search_index.commit(max_age=1.0)
    assert first is not None
    publish(hub, "纳洛酮培训二", "纳洛酮培训的经验。")
    index(hub)
    newest = search_index.commit()  # without max_age: looked at now
    assert newest != first
    assert search_index.commit(max_age=1.0) == newest  # what this process saw last, not what it saw first
    publish(hub, "纳洛酮培训三", "更多纳洛酮的经验。")
    index(hub)
    clock[0] += 0.9
    assert search_index.commit(max_age=1.0) == newest  # within the second: what this process saw last
    clock[0] += 0.6
    assert search_index.commit(max_age=1.0) not in (first, newest)  # past it: looked at again


def test_body_sections_and_tags_are_indexed_from_the_rendered_html_without_section_titles(hub):
    from search_index import indexer

    note = notes.create_draft(author=hub["author"], data=notes.NoteInput(
        title="结构", summary="摘要", body="**正文**里的 [链接文字](https://example.org) &amp; 更多", language="zh_Hans",
        visibility="public", sections={"context": "这里提到纳洛酮"}, tags=["冬季"]))
    text = indexer.body_text(note)
    assert "正文" in text and "链接文字" in text and "纳洛酮" in text and "冬季" in text
    assert "<" not in text and "**" not in text and "&amp;" not in text  # markup and entities become text
    notes.submit(note, by=hub["author"], confirm_privacy=True)
    notes.approve(note, by=hub["moderator"])
    index(hub)
    assert titles("纳洛酮") == ["结构"] and titles("冬季") == ["结构"]
    assert titles("背景") == []  # the section's title is the interface's, not the author's words


def test_an_images_alt_text_is_indexed(hub):
    from hub.models.note import Note
    from search_index import indexer

    note = Note(body_html='<p>活动现场<img src="/attachments/3" alt="义诊帐篷"></p>', tags=[])
    assert "义诊帐篷" in indexer.body_text(note)


# The ID number has a valid check character (it is GB 11643's example).
CONTACT_NOTE = dict(
    title="外展记录 13800138000", summary="小王的情况，电话 13800138000",
    body="今天在门诊遇到小王，他的电话 138 0013 8000，身份证 11010519491231002X，"
         "微信 wangxiaoli88，邮箱 wang.xl@example.org。他想参加美沙酮维持治疗。")


@pytest.mark.parametrize("query", [
    "13800138000", "138 0013 8000", "138-0013-8000", "1380013", "0013800", "38001380",  # the mobile, whole or any 7+ digits
    "11010519491231002X", "110105194912", "19491231",  # the ID number and parts of it
    "wangxiaoli88", "wang.xl@example.org", "wang.xl",
])
def test_contact_data_in_a_note_is_never_found_by_search(hub, query):
    publish(hub, **CONTACT_NOTE)
    index(hub)
    assert titles("美沙酮") == [CONTACT_NOTE["title"]]  # the note is indexed, its words are found
    assert titles("小王") == [CONTACT_NOTE["title"]]
    assert titles(query) == []


def test_ordinary_numbers_stay_searchable_beside_blanked_contact_data(hub):
    publish(hub, "热线", "全国艾滋病咨询热线 12320，门诊电话 13800138000。")
    index(hub)
    assert titles("12320") == ["热线"]
    assert titles("13800138000") == []


def test_search_pages_and_api_do_not_find_a_note_by_its_phone_number(hub, client):
    publish(hub, **CONTACT_NOTE)
    index(hub)
    found = client.get("/search", query_string={"q": "美沙酮"}).get_data(as_text=True)
    assert "外展记录" in found
    for query in ("13800138000", "1380013"):
        page = client.get("/search", query_string={"q": query})
        assert page.status_code == 200 and "外展记录" not in page.get_data(as_text=True)
        api = client.get("/api/v1/search", query_string={"q": query}).get_json()
        assert api["total"] == 0 and api["results"] == []
