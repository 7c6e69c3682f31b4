"""The privacy scanner must catch personal data in the forms people really type it."""
from __future__ import annotations

import re
import time
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.services.privacy import Finding, highlight, scan

COUNTRY_PREFIXES = ["", "+86", "+86 ", "0086", "0086-", "86", "86 ", "(+86)", "(+86) ", "(86)"]
FULL_WIDTH = str.maketrans("0123456789+-.() xX@", "０１２３４５６７８９＋－．（）　ｘＸ＠")

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
CHINESE_PUNCTUATION = st.sampled_from("，。！？、：；“”（）《》…")
chinese_text = st.text(alphabet=st.one_of(HAN, CHINESE_PUNCTUATION), max_size=20)
# Characters whose NFKC/case-folded form has a different length (none become digits).
LENGTH_CHANGING = st.sampled_from(["㍿", "ﬁ", "ß", "ǅ", "™", "㎏", "e\u0301", "\u200b", "ﾊﾟ", "…"])
tricky_text = st.lists(st.one_of(HAN, LENGTH_CHANGING), max_size=10).map("".join)


def id_check_char(first17: str) -> str:
    """Compute the GB 11643 check character from the standard's own weight formula."""
    total = sum(int(digit) * (2 ** (17 - i) % 11) for i, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def with_check(first17: str) -> str:
    """Append the correct check character."""
    return first17 + id_check_char(first17)


def findings_of(kind: str, text: str, **kwargs: object) -> list[Finding]:
    """Scan one body field and keep the findings of one kind."""
    return [f for f in scan({"body": text}, **kwargs) if f.kind == kind]  # type: ignore[arg-type]


def spans(findings: list[Finding], text: str) -> list[str]:
    """Return the original text under each finding."""
    return [text[f.start : f.end] for f in findings]


# ------------------------------------------------------------------ strategies


@st.composite
def mobile_numbers(draw: st.DrawFn) -> str:
    """Draw a valid mainland mobile number (11 digits, 1[3-9]...)."""
    rest = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    return "1" + draw(st.sampled_from("3456789")) + rest


@st.composite
def formatted_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """Draw (digits, how a person might write them)."""
    number = draw(mobile_numbers())
    prefix = draw(st.sampled_from(COUNTRY_PREFIXES))
    separators = st.sampled_from(["", " ", "-", ".", " - "])
    written = prefix + number[:3] + draw(separators) + number[3:7] + draw(separators) + number[7:]
    widen = draw(st.lists(st.booleans(), min_size=len(written), max_size=len(written)))
    written = "".join(ch.translate(FULL_WIDTH) if w else ch for ch, w in zip(written, widen))
    return number, written


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """Draw a valid 18-character resident ID number."""
    region = draw(st.integers(min_value=100000, max_value=999999))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return with_check(f"{region}{born:%Y%m%d}{sequence:03d}")


# ------------------------------------------------------------------ mobile numbers


@given(formatted_mobiles(), chinese_text, chinese_text)
def test_mobile_is_found_in_any_common_format_inside_chinese(
    mobile: tuple[str, str], before: str, after: str
) -> None:
    number, written = mobile
    text = before + written + after
    phones = findings_of("phone", text)
    assert [(f.start, f.end) for f in phones] == [(len(before), len(before) + len(written))]
    assert phones[0].masked(text) == f"{number[:3]}****{number[-4:]}"


@given(formatted_mobiles(), tricky_text, tricky_text)
def test_mobile_offsets_survive_length_changing_normalisation(
    mobile: tuple[str, str], before: str, after: str
) -> None:
    _, written = mobile
    text = before + written + after
    assert spans(findings_of("phone", text), text) == [written]


@pytest.mark.parametrize(
    "written",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "138.1234.5678",
        "+86 138-1234-5678",
        "+8613812345678",
        "0086 13812345678",
        "(+86) 138 1234 5678",
        "（＋８６）１３８－１２３４－５６７８",
        "１３８１２３４５６７８",
        "138\u200b1234\u200b5678",
        "138\u30001234\u30005678",
        "138—1234—5678",
        "138 12 34 5678",  # any grouping: people split numbers however they read them
    ],
)
def test_mobile_is_found_in_example_format(written: str) -> None:
    text = f"请联系{written}。"
    assert spans(findings_of("phone", text), text) == [written]


@pytest.mark.parametrize(
    "text",
    [
        "1381234567890",  # longer number
        "213812345678",  # digit before
        "订单号 9913812345678",
        "12812345678",  # 12x is not a mobile prefix
        "10012345678",
        "1381234567",  # only ten digits
        "138 1234 567",
    ],
)
def test_mobile_is_not_found_in_other_digit_runs(text: str) -> None:
    assert findings_of("phone", text) == []


def test_mobile_in_english_sentence_is_found() -> None:
    text = "Call Xiao Wang on 139 0000 1111 after 6pm."
    assert spans(findings_of("phone", text), text) == ["139 0000 1111"]


def test_several_mobiles_are_all_found() -> None:
    text = "A:13800000000，B:15900000000"
    assert spans(findings_of("phone", text), text) == ["13800000000", "15900000000"]


# ------------------------------------------------------------------ ID numbers


@given(id_numbers(), chinese_text, chinese_text, st.booleans(), st.booleans())
def test_valid_id_number_is_found(
    number: str, before: str, after: str, full_width: bool, lower_x: bool
) -> None:
    written = number.lower() if lower_x else number
    written = written.translate(FULL_WIDTH) if full_width else written
    text = before + written + after
    ids = findings_of("id_number", text)
    assert [(f.start, f.end) for f in ids] == [(len(before), len(before) + 18)]
    assert findings_of("phone", text) == []


@given(id_numbers(), st.data())
def test_id_number_with_wrong_check_digit_is_not_found(number: str, data: st.DataObject) -> None:
    wrong = data.draw(st.sampled_from([c for c in "0123456789X" if c != number[-1]]))
    assert scan({"body": f"身份证{number[:-1]}{wrong}号"}) == []


def test_id_number_with_impossible_birth_date_is_not_found() -> None:
    assert findings_of("id_number", with_check("11010119900230123")) == []
    assert findings_of("id_number", with_check("11010118491231123")) == []


def test_id_number_born_in_the_future_is_not_found() -> None:
    tomorrow = date.today() + timedelta(days=1)
    assert findings_of("id_number", with_check(f"110101{tomorrow:%Y%m%d}123")) == []


def test_id_number_with_group_separators_is_found() -> None:
    number = with_check("11010119900307123")
    written = f"{number[:6]} {number[6:14]} {number[14:]}"
    assert spans(findings_of("id_number", written), written) == [written]


def test_id_number_inside_longer_digit_run_is_not_found() -> None:
    assert findings_of("id_number", "9" + with_check("11010119900307123")) == []


def test_id_number_is_masked_to_first_and_last_three() -> None:
    number = with_check("11010119900307123")
    (finding,) = findings_of("id_number", number)
    assert finding.masked(number) == f"110{'*' * 12}{number[-3:]}"


# ------------------------------------------------------------------ e-mail


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("邮箱wang.li+hub@example.org。", "wang.li+hub@example.org"),
        ("写信到ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ吧", "ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
        ("QQ：12345678@qq.com", "12345678@qq.com"),
        ("Mail Peer.Team@Clinic.Example.CN, thanks", "Peer.Team@Clinic.Example.CN"),
        ("a@xn--fsqu00a.xn--fiqs8s 结束", "a@xn--fsqu00a.xn--fiqs8s"),
    ],
)
def test_email_is_found_without_swallowing_neighbours(text: str, email: str) -> None:
    assert spans(findings_of("email", text), text) == [email]


def test_mobile_used_as_email_local_part_is_reported_once_as_email() -> None:
    findings = scan({"body": "13812345678@163.com"})
    assert [f.kind for f in findings] == ["email"]


@pytest.mark.parametrize("text", ["user@localhost", "@someone 你好", "a@b.c", "价格 5@10元"])
def test_non_addresses_are_not_reported_as_email(text: str) -> None:
    assert findings_of("email", text) == []


def test_email_is_masked_to_first_letter_and_domain() -> None:
    text = "wang@example.org"
    (finding,) = findings_of("email", text)
    assert finding.masked(text) == "w***@example.org"


# ------------------------------------------------------------------ sensitive words


def test_sensitive_chinese_word_is_found_inside_sentence() -> None:
    text = "今天张医生在门诊值班"
    found = spans(findings_of("sensitive_word", text, sensitive_words=["张医生"]), text)
    assert found == ["张医生"]


def test_sensitive_latin_word_is_case_insensitive_and_width_insensitive() -> None:
    text = "Dr. ZHANG met dr. zhang and ＺＨＡＮＧ"
    found = spans(findings_of("sensitive_word", text, sensitive_words=["Zhang"]), text)
    assert found == ["ZHANG", "zhang", "ＺＨＡＮＧ"]


def test_sensitive_latin_word_needs_word_boundaries() -> None:
    text = "The police told Li; Lisa and Lili were not there."
    assert spans(findings_of("sensitive_word", text, sensitive_words=["li"]), text) == ["Li"]


def test_sensitive_latin_word_is_found_next_to_chinese() -> None:
    text = "我们和Li医生聊过"
    assert spans(findings_of("sensitive_word", text, sensitive_words=["li"]), text) == ["Li"]


def test_sensitive_word_tolerates_different_spacing() -> None:
    text = "met Zhang\u3000 Wei today"
    assert spans(findings_of("sensitive_word", text, sensitive_words=["zhang wei"]), text) == [
        "Zhang\u3000 Wei"
    ]


def test_sensitive_word_matches_composed_and_decomposed_forms() -> None:
    text = "Café and Cafe\u0301"
    assert spans(findings_of("sensitive_word", text, sensitive_words=["café"]), text) == [
        "Café",
        "Cafe\u0301",
    ]


def test_longest_sensitive_word_wins() -> None:
    text = "张三丰来了"
    found = spans(findings_of("sensitive_word", text, sensitive_words=["张三", "张三丰"]), text)
    assert found == ["张三丰"]


def test_blank_sensitive_words_are_ignored() -> None:
    assert scan({"body": "任何文本 any text"}, sensitive_words=["", "  ", "\u200b"]) == []


def test_sensitive_word_is_masked_to_first_character() -> None:
    text = "张医生"
    (finding,) = findings_of("sensitive_word", text, sensitive_words=["张医生"])
    assert finding.masked(text) == "张**"


# ------------------------------------------------------------------ scan()


def test_scan_reports_field_names_in_field_order() -> None:
    fields = {
        "title": "联系13800000000",
        "summary": "无",
        "body": "邮箱 a@example.org",
        "attachment:名单.pdf": with_check("11010119900307123"),
    }
    assert [(f.field, f.kind) for f in scan(fields)] == [
        ("title", "phone"),
        ("body", "email"),
        ("attachment:名单.pdf", "id_number"),
    ]


def test_scan_of_empty_fields_finds_nothing() -> None:
    assert scan({}) == []
    assert scan({"title": "", "body": ""}) == []


@given(
    st.text(
        alphabet=st.one_of(
            HAN, CHINESE_PUNCTUATION, st.sampled_from(" \n\tabcXYZ.-+()"), st.just("　")
        ),
        max_size=200,
    )
)
def test_chinese_text_without_digits_or_at_sign_has_no_findings(text: str) -> None:
    assert scan({"title": text, "body": text}) == []


def test_long_runs_of_address_characters_are_scanned_quickly() -> None:
    # A quadratic e-mail pattern would take minutes here; a linear one takes milliseconds.
    started = time.perf_counter()
    scan({"body": "a" * 200_000 + "1" * 200_000})
    assert time.perf_counter() - started < 2


def test_offsets_map_to_original_text_after_expanding_characters() -> None:
    text = "㍿ﬁß13800000000"
    (finding,) = scan({"body": text})
    assert (finding.start, finding.end) == (3, 14)


# ------------------------------------------------------------------ Finding hygiene


@given(formatted_mobiles())
def test_finding_repr_never_contains_the_number(mobile: tuple[str, str]) -> None:
    number, written = mobile
    (finding,) = scan({"body": written})
    shown = repr(finding) + str(finding)
    assert number not in shown
    assert number[3:7] not in shown and number[-4:] not in shown


@given(id_numbers())
def test_finding_repr_never_contains_the_id_number(number: str) -> None:
    (finding,) = scan({"body": f"身份证号{number}"})
    assert not re.search(r"\d{4}", repr(finding))


def test_finding_repr_hides_attachment_file_name() -> None:
    finding = Finding("phone", "attachment:13800000000.pdf", 0, 11)
    assert "13800000000" not in repr(finding)
    assert "attachment:…" in repr(finding)


def test_finding_stores_no_value() -> None:
    assert set(Finding.__dataclass_fields__) == {"kind", "field", "start", "end"}


def test_finding_rejects_unknown_kind_and_empty_span() -> None:
    with pytest.raises(ValueError):
        Finding("address", "body", 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Finding("phone", "body", 3, 3)


def test_masking_with_the_wrong_text_is_refused() -> None:
    with pytest.raises(ValueError):
        Finding("phone", "body", 0, 11).masked("short")


# ------------------------------------------------------------------ highlight()


def test_highlight_marks_findings_and_keeps_the_rest() -> None:
    text = "电话13800000000，邮箱a@example.org"
    assert highlight(text, scan({"body": text})) == [
        ("电话", False),
        ("13800000000", True),
        ("，邮箱", False),
        ("a@example.org", True),
    ]


def test_highlight_merges_overlapping_findings() -> None:
    findings = [Finding("sensitive_word", "body", 0, 4), Finding("phone", "body", 2, 6)]
    assert highlight("abcdefgh", findings) == [("abcdef", True), ("gh", False)]


def test_highlight_can_select_one_field() -> None:
    findings = scan({"title": "13800000000", "body": "正文 13900000000"})
    assert highlight("正文 13900000000", findings, field="body") == [
        ("正文 ", False),
        ("13900000000", True),
    ]


def test_highlight_without_findings_returns_whole_text() -> None:
    assert highlight("全文", []) == [("全文", False)]
    assert highlight("", []) == []


@given(st.text(max_size=50), st.lists(st.tuples(st.integers(0, 60), st.integers(1, 20))))
def test_highlight_segments_always_rebuild_the_text(
    text: str, raw_spans: list[tuple[int, int]]
) -> None:
    findings = [Finding("phone", "body", start, start + size) for start, size in raw_spans]
    segments = highlight(text, findings)
    assert "".join(segment for segment, _ in segments) == text
    assert all(segment for segment, _ in segments)
    flags = [flag for _, flag in segments]
    assert all(a != b for a, b in pairwise(flags))  # touching spans are merged
