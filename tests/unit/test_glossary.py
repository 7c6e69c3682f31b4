"""Behaviour of the harm-reduction glossary and its link to word segmentation."""
from __future__ import annotations

import re

import pytest

from search_index.analysis import query_tokens, segment
from search_index.folding import to_simplified
from search_index.glossary import (
    GLOSSARY_PATH,
    Glossary,
    abbreviations,
    chinese_terms,
    default_glossary,
)

HAN = re.compile(r"[\u3400-\u9fff]+")


def test_glossary_has_at_least_80_concepts_in_both_languages():
    concepts = default_glossary().concepts
    assert len(concepts) >= 80
    assert all(concept.zh and concept.en for concept in concepts)
    assert len({concept.concept_id for concept in concepts}) == len(concepts)


def test_glossary_file_documents_its_format():
    lines = GLOSSARY_PATH.read_text(encoding="utf-8").splitlines()
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert "concept_id <TAB> Chinese terms <TAB> English terms" in header


def test_every_glossary_term_analyses_to_index_terms():
    empty = [term for concept in default_glossary().concepts for term in concept.terms
             if not query_tokens(term)]
    assert empty == []


@pytest.mark.parametrize(("query", "expected"), [
    ("美沙酮", {"methadone", "MMT", "methadone maintenance treatment"}),
    ("针具交换", {"needle exchange", "NSP", "needle and syringe programme"}),
    ("纳洛酮", {"naloxone"}),
    ("同伴教育", {"peer education"}),
    ("外展", {"outreach"}),
    ("丙肝", {"hepatitis C", "HCV"}),
    ("暴露前预防", {"PrEP"}),
    ("抗病毒治疗", {"ART", "antiretroviral therapy"}),
    ("自愿咨询检测", {"VCT"}),
    ("歧视", {"discrimination", "stigma"}),
])
def test_chinese_terms_expand_to_english(query, expected):
    assert expected <= set(default_glossary().expand([query]))


@pytest.mark.parametrize(("query", "expected"), [
    ("methadone", {"美沙酮", "美沙酮维持治疗"}),
    ("NSP", {"针具交换"}),
    ("naloxone", {"纳洛酮"}),
    ("HCV", {"丙肝", "丙型肝炎"}),
    ("PrEP", {"暴露前预防"}),
    ("stigma", {"歧视", "污名", "discrimination"}),
])
def test_english_terms_expand_to_chinese_and_synonyms(query, expected):
    assert expected <= set(default_glossary().expand([query]))


def test_expansion_leaves_out_what_was_asked():
    expansions = default_glossary().expand(["methadone"])
    assert "methadone" not in expansions
    assert "美沙酮" in expansions


def test_expansion_ignores_case_width_script_inflection_and_spacing():
    glossary = default_glossary()
    assert "暴露前预防" in glossary.expand(["ｐｒｅｐ"])
    assert "needle exchange" in glossary.expand(["針具交換"])
    assert "同伴教育" in glossary.expand(["Peer", "Educators"])
    assert "针具交换" in glossary.expand(["Needle-Exchange programs"])


def test_expansion_prefers_the_longest_glossary_term():
    expansions = default_glossary().expand(["艾滋病病毒"])
    assert "HIV" in expansions
    assert "acquired immunodeficiency syndrome" not in expansions


def test_unknown_terms_expand_to_nothing():
    assert default_glossary().expand(["weather", "天气"]) == []


def test_admin_rows_add_synonyms_to_an_existing_concept():
    extended = default_glossary().with_rows([("mmt", "喝药", "")])
    assert "methadone" in extended.expand(["喝药"])
    assert "喝药" in extended.expand(["MMT"])
    assert default_glossary().expand(["喝药"]) == []
    assert len(extended) == len(default_glossary())


def test_admin_rows_add_new_concepts():
    row = ("drop_in_cafe", "减害咖啡馆|減害咖啡館", "harm reduction cafe")
    extended = default_glossary().with_rows([row])
    assert extended.expand(["harm reduction cafe"]) == ["减害咖啡馆"]
    assert len(extended) == len(default_glossary()) + 1


@pytest.mark.parametrize("row", [("Bad Id", "美沙酮", "methadone"), ("empty", " | ", "")])
def test_malformed_admin_rows_are_rejected(row):
    with pytest.raises(ValueError):
        default_glossary().with_rows([row])


def test_glossary_can_be_built_from_concepts():
    glossary = Glossary(default_glossary().concepts[:1])
    assert glossary.expand(["MMT"]) and glossary.expand(["NSP"]) == []


def test_chinese_terms_for_the_segmenter_are_simplified_han_words():
    terms = chinese_terms()
    assert {"针具交换", "纳洛酮", "丙肝", "外展"} <= set(terms)
    assert all(HAN.fullmatch(term) and len(term) > 1 for term in terms)
    assert all(to_simplified(term) == term for term in terms)
    assert "C肝" not in terms


def test_segmentation_knows_glossary_terms():
    # jieba's own dictionary cuts 针具交换 into 针/具/交换 and lacks 针具 and 减害.
    words = segment("社区小组开展针具交换和减害宣传，也发放针具。")
    assert "针具交换" in words and "减害" in words and "针具" in words


def test_abbreviations_keep_acronyms_but_not_their_plurals():
    found = abbreviations()
    assert {"aids", "mmt", "prep", "hiv"} <= found
    assert "arvs" not in found and "methadone" not in found
