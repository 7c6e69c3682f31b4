"""Behaviour of the bilingual analyzer, pinned on a small in-memory Whoosh index."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import Index
from whoosh.qparser import QueryParser

from search_index.analysis import (
    BilingualTokenizer,
    bilingual_analyzer,
    query_tokens,
    segment,
)
from search_index.folding import to_simplified

from tests import spawn

REPO_ROOT = Path(__file__).resolve().parents[2]

NOTES = {
    "mmt": "我们在昆明开展美沙酮维持治疗，服药人员每天到门诊服药。",
    "nsp": "社区外展人员在城中村开展针具交换项目，并发放安全套。",
    "stigma": "很多感染者在就医时遭遇歧视，不敢告诉家人。",
    "service": "我们和服务对象一起讨论需求。",
    "kimono": "她穿着和服参加了活动。",
    "career": "他的成就业内公认。",
    "jobs": "同伴支持帮助康复人员重新就业。",
    "exhibit": "项目组对外展示了今年的成果。",
    "adverse": "药物不良反应需要及时处理。",
    "traditional": "香港的針具交換計劃由外展社工推行。",
    "fullwidth": "ＭＭＴ门诊的服药人数增加了。",
    "mixed": "Peer educators 在 HIV 检测前提供咨询, and referral to ART.",
    "english": "Clients reported being discriminated against at clinics.",
    "peer": "Weekly peer education sessions were run by outreach workers.",
    "split_peer": "Peer support groups and health education leaflets.",
    "unknown": "有人反映使用咪达唑仑后出现过量。",
    "plhiv": "为艾滋病病毒感染者提供关怀。",
    "should": "他们不应该这样对待服药人员。",
    "youth": "年轻人更愿意在网上咨询。",
}


def make_schema() -> Schema:
    return Schema(note_id=ID(stored=True, unique=True), body=TEXT(analyzer=bilingual_analyzer()))


def build_index(schema: Schema, storage=None) -> Index:
    index = (storage or RamStorage()).create_index(schema)
    with index.writer() as writer:
        for note_id, body in NOTES.items():
            writer.add_document(note_id=note_id, body=body)
    return index


@pytest.fixture(scope="module")
def index() -> Index:
    return build_index(make_schema())


def hits(index: Index, query: str) -> set[str]:
    with index.searcher() as searcher:
        parsed = QueryParser("body", index.schema).parse(query)
        return {hit["note_id"] for hit in searcher.search(parsed, limit=None)}


def test_word_is_found_inside_a_longer_compound(index):
    assert hits(index, "美沙酮") == {"mmt"}
    assert hits(index, "维持治疗") == {"mmt"}


def test_two_character_words_are_found_inside_sentences(index):
    assert hits(index, "针具") == {"nsp", "traditional"}
    assert hits(index, "歧视") == {"stigma"}
    assert hits(index, "门诊") == {"mmt", "fullwidth"}


def test_characters_inside_longer_words_are_not_indexed_on_their_own(index):
    # One-character queries find them through the terms that contain them (search_index.engine;
    # pinned in tests/unit/test_search.py): indexing each character again doubled the index.
    assert hits(index, "针") == set()
    words = [t.text for t in bilingual_analyzer()("针具交换", positions=True, mode="index") if not t.text.startswith("~")]
    assert words == ["针具交换", "针具", "交换"]


def test_word_does_not_match_its_characters_across_a_word_boundary(index):
    assert hits(index, "和服") == {"kimono"}
    assert hits(index, "就业") == {"jobs"}
    assert hits(index, "外展") == {"nsp", "traditional"}
    assert hits(index, "年轻人") == {"youth"}


def test_phrase_of_single_characters_does_not_match_them_inside_longer_words(index):
    # 不应 is no dictionary word: a phrase of 不 and 应, which must be words of their own there
    # (不|应该 in "should not" is no place of 不应).
    assert query_tokens("不应") == ["不", "应"]
    assert hits(index, '"不应"') == set()
    assert hits(index, '"咪达唑仑"') == {"unknown"}


def test_unknown_words_still_match_character_by_character(index):
    assert segment("咪达唑仑") == ["咪", "达", "唑", "仑"]
    assert hits(index, "咪达唑仑") == {"unknown"}
    assert hits(index, '"咪达唑仑"') == {"unknown"}


def test_traditional_query_finds_simplified_note(index):
    assert hits(index, "針具交換") == {"nsp", "traditional"}
    assert hits(index, "美沙酮維持治療") == {"mmt"}


def test_simplified_query_finds_traditional_note(index):
    assert hits(index, "计划") == {"traditional"}
    assert hits(index, "社工") == {"traditional"}


def test_english_words_match_by_stem(index):
    assert hits(index, "discrimination") == {"english"}
    assert hits(index, "Clinic") == {"english"}
    assert hits(index, "reporting") == {"english"}


def test_english_stop_words_are_dropped():
    assert query_tokens("The needles and the syringes") == ["needl", "syring"]


def test_abbreviations_are_not_stemmed(index):
    assert query_tokens("AIDS") == ["aids"]
    assert query_tokens("aid") == ["aid"]


def test_mixed_chinese_and_english_note_matches_both_languages(index):
    assert hits(index, "HIV 检测") == {"mixed"}
    assert hits(index, "referral") == {"mixed"}
    assert hits(index, '"hiv 检测"') == {"mixed"}


def test_quoted_phrase_matches_consecutive_words_only(index):
    assert hits(index, '"美沙酮 维持"') == {"mmt"}
    assert hits(index, '"维持 美沙酮"') == set()
    # "Peer educators" stems to the same phrase; "peer support ... health education" does not.
    assert hits(index, '"peer education"') == {"peer", "mixed"}
    assert hits(index, "peer education") == {"peer", "mixed", "split_peer"}


def test_quoted_phrase_spans_compound_and_next_word(index):
    assert hits(index, '"针具交换 项目"') == {"nsp"}
    assert hits(index, '"开展 美沙酮维持治疗"') == {"mmt"}


def test_quoted_phrase_reaches_words_inside_a_compound(index):
    # 艾滋病病毒感染者 is one segmented word: 病毒 is a unit, 感染 a word inside the unit 感染者.
    assert hits(index, '"病毒 感染"') == {"plhiv"}
    assert hits(index, '"感染 病毒"') == set()


def test_phrase_skips_english_stop_words(index):
    assert hits(index, '"referral to ART"') == {"mixed"}


def test_full_width_latin_is_folded(index):
    assert hits(index, "MMT") == {"fullwidth"}
    assert hits(index, "ｍｍｔ") == {"fullwidth"}


def test_prefix_query_is_folded_like_words(index):
    assert hits(index, "針具*") == {"nsp", "traditional"}
    assert hits(index, "ＤＩＳＣＲＩＭ*") == {"english"}


def test_a_query_that_is_one_word_is_that_word_and_longer_queries_are_phrases_of_units():
    assert query_tokens("美沙酮维持治疗") == ["美沙酮维持治疗"]
    assert query_tokens("和服") == ["和服"]
    assert query_tokens("社区外展工作人员") == ["社区", "外展", "工作", "人员"]
    assert query_tokens("针具 交换") == ["针具", "交换"]


def test_index_mode_gives_the_word_and_its_pieces_at_the_position_of_their_first_unit():
    tokens = [(t.text, t.pos) for t in bilingual_analyzer()("艾滋病人", positions=True, mode="index")]
    assert tokens[:4] == [("艾滋病", 0), ("艾滋", 0), ("病", 1), ("人", 2)]
    assert ("滋", 0) not in tokens and ("滋病", 1) not in tokens
    tokens = [(t.text, t.pos) for t in bilingual_analyzer()("美沙酮维持治疗门诊", positions=True, mode="index")]
    assert [(text, pos) for text, pos in tokens if not text.startswith("~")] == [
        ("美沙酮维持治疗门诊", 0), ("美沙酮维持治疗", 0), ("美沙酮", 0), ("维持", 1), ("治疗", 2), ("门诊", 3)]


def test_sub_words_are_the_pieces_of_the_word_s_own_split_not_every_dictionary_word_inside_it():
    def terms(text):
        return {t.text for t in bilingual_analyzer()(text, mode="index")}

    # The examples: 加大|力度, 各种|类型, 金融|业务, 北京|市委.
    assert {"加大", "力度"} <= terms("加大力度") and "大力" not in terms("加大力度")
    assert {"各种", "类型"} <= terms("各种类型") and "种类" not in terms("各种类型")
    assert {"金融", "业务"} <= terms("金融业务") and "金融业" not in terms("金融业务")
    assert {"北京", "市委"} <= terms("北京市委") and "北京市" not in terms("北京市委")
    # Three characters: two plus one unless the other split is clearly likelier (西南|部, 第一|次).
    assert "西南" in terms("西南部") and "南部" not in terms("西南部")
    assert "一次" not in terms("第一次") and "第一" in terms("第一次")
    # A number and what it counts: 三十|分钟; 十分 ("very") is not in it.
    assert "分钟" in terms("三十分钟") and "十分" not in terms("三十分钟")
    # A true piece stays a term: a reader searching 政府 or 孩子 expects 市政府 and 小孩子.
    assert "政府" in terms("市政府") and "孩子" in terms("小孩子") and "部分" in terms("大部分")


def test_a_glossary_term_is_found_wherever_its_units_stand_in_a_row():
    # 清洁针具交换's likeliest split is 清洁针具|交换, 清洁|针具: 针具交换 is no node of its tree, but it is
    # a run of its units and a term of the glossary, so the word holds it, at its first unit's position.
    tokens = [(t.text, t.pos) for t in bilingual_analyzer()("清洁针具交换", positions=True, mode="index")
              if not t.text.startswith("~")]
    assert ("针具交换", 1) in tokens and ("针具", 1) in tokens and ("交换", 2) in tokens
    assert len(tokens) == len(set(tokens))  # nothing twice: 针具交换点's own tree already holds 针具交换
    assert [text for text, _pos in tokens].count("针具交换") == 1
    index = RamStorage().create_index(make_schema())
    with index.writer() as writer:
        writer.add_document(note_id="clean", body="我们在夜市开展清洁针具交换。")
        writer.add_document(note_id="point", body="针具交换点晚上也开门。")
        writer.add_document(note_id="apart", body="针具不够，交换也停了。")
    assert hits(index, "针具交换") == {"clean", "point"}
    assert hits(index, '"针具 交换"') == {"clean", "point"}
    # Only the shipped glossary's terms: a dictionary word inside a longer word stays out of it
    # unless its own split gives it (加大|力度 never holds 大力).
    assert "大力" not in {t.text for t in bilingual_analyzer()("加大力度", mode="index")}


def test_character_offsets_point_into_the_original_text():
    text = "……ＭＭＴ門診 clinics"
    spans = {t.text: text[t.startchar:t.endchar]
             for t in bilingual_analyzer()(text, chars=True, mode="query")}
    assert spans == {"mmt": "ＭＭＴ", "门诊": "門診", "clinic": "clinics"}


def test_to_simplified_folds_traditional_and_keeps_simplified():
    assert to_simplified("針具交換與美沙酮維持治療") == "针具交换与美沙酮维持治疗"
    assert to_simplified("针具交换") == "针具交换"
    assert to_simplified("needle exchange") == "needle exchange"


def test_segment_returns_precise_words_after_folding():
    assert segment("我們和服務對象 MMT") == ["我们", "和", "服务", "对象", "MMT"]


def test_schema_survives_a_pickle_round_trip():
    schema = make_schema()
    restored = pickle.loads(pickle.dumps(schema))
    assert restored == schema
    assert isinstance(restored["body"].analyzer.items[0], BilingualTokenizer)
    text = NOTES["traditional"]
    assert ([t.text for t in restored["body"].analyzer(text, mode="index")]
            == [t.text for t in schema["body"].analyzer(text, mode="index")])


def test_index_on_disk_reopens_with_its_pickled_analyzer(tmp_path):
    build_index(make_schema(), FileStorage(str(tmp_path)))
    reopened = FileStorage(str(tmp_path)).open_index()
    assert hits(reopened, "針具") == {"nsp", "traditional"}


def test_pickled_analyzer_refers_to_stable_import_paths():
    payload = pickle.dumps(bilingual_analyzer())
    assert b"search_index.analysis" in payload and b"BilingualTokenizer" in payload
    assert b"jieba" not in payload


def test_import_is_cheap_and_first_use_logs_nothing():
    code = ("import sys, search_index.analysis as a; assert 'jieba' not in sys.modules;"
            " print(a.query_tokens('针具交换'))")
    result = spawn.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                       text=True, timeout=120, check=True)
    assert result.stdout.strip() == "['针具交换']"
    assert result.stderr == ""
