"""The privacy scanner must catch personal data in the forms people really type it."""
from __future__ import annotations

import re
import time
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.services.privacy import Finding, highlight, mask_for_index, scan

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


def test_numerals_before_a_plus_86_mobile_are_not_read_as_an_id_number() -> None:
    # Found by the test above: 11 + 8613000110000 also reads as a 15-digit ID number (Beijing, 1900-01-10).
    text = "一一+8613000110000"
    assert [(f.kind, text[f.start : f.end]) for f in scan({"body": text})] == [("phone", "+8613000110000")]


@given(
    st.text(alphabet="0123456789一二三四五六七八九〇零幺两", min_size=1, max_size=6),
    st.sampled_from(["+86", "+86 ", "+ 86", "+0086", "(+86)"]),
    mobile_numbers(),
)
def test_digits_or_numerals_never_join_a_number_across_a_country_codes_plus(
    before: str, code: str, number: str
) -> None:
    text = before + code + number
    findings = scan({"body": text})
    assert [f.kind for f in findings] == ["phone"]
    assert text[findings[0].start : findings[0].end].endswith(number) and findings[0].start >= len(before) - 1


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
    # A quadratic e-mail pattern would take minutes of CPU here; a linear one takes a fraction of a
    # second. CPU time of this thread, not the clock: a shared machine's load must not decide it.
    started = time.thread_time()
    scan({"body": "a" * 200_000 + "1" * 200_000})
    assert time.thread_time() - started < 2


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


# ------------------------------------------------------------------ every written form, one table per kind
# Each positive case is (text, the part a finding of that kind must cover exactly).


def luhn_card(prefix: str, length: int) -> str:
    """Complete a card number that passes the Luhn check."""
    body = prefix + "0" * (length - len(prefix) - 1)
    for check in "0123456789":
        digits = [int(d) for d in reversed(body + check)]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return body + check
    raise AssertionError("unreachable")


ID_18 = with_check("51010419870625201")
ID_X = next(with_check(f"5101041987062520{n}") for n in range(10) if with_check(f"5101041987062520{n}")[-1] == "X")
CARD_19 = luhn_card("622202", 19)
CARD_16 = luhn_card("6228", 16)

PHONE_FORMS = [
    ("电话13812345678", "13812345678"),
    ("电话 138 1234 5678", "138 1234 5678"),  # 3-4-4
    ("电话 138 123 45678", "138 123 45678"),  # 3-3-5
    ("手机 1 3 8 1 2 3 4 5 6 7 8 谢谢", "1 3 8 1 2 3 4 5 6 7 8"),  # every digit spaced
    ("138.1234.5678", "138.1234.5678"),
    ("138/1234/5678", "138/1234/5678"),
    ("138-1234-5678", "138-1234-5678"),
    ("+86 138 1234 5678", "+86 138 1234 5678"),
    ("0086-13812345678", "0086-13812345678"),
    ("(+86)13812345678", "(+86)13812345678"),
    ("１３８１２３４５６７８", "１３８１２３４５６７８"),  # full-width
    ("138\u200b1234\u200d5678", "138\u200b1234\u200d5678"),  # zero-width space and joiner
    ("1\u20603\u206081234\u00ad5678", "1\u20603\u206081234\u00ad5678"),  # word joiner, soft hyphen
    ("打一三八一二三四五六七八", "一三八一二三四五六七八"),  # Chinese numerals
    ("壹叁捌壹贰叁肆伍陆柒捌", "壹叁捌壹贰叁肆伍陆柒捌"),  # financial numerals
    ("幺三八幺两三四五六拐八", "幺三八幺两三四五六拐八"),  # 幺 for 1, 两 for 2, 拐 for 7
    ("一三〇〇〇一三八零零零", "一三〇〇〇一三八零零零"),  # 〇 and 零 for 0
    ("幺三八洞洞幺三八洞洞洞", "幺三八洞洞幺三八洞洞洞"),  # 洞 for 0
    ("138零零13八000", "138零零13八000"),  # digits and numerals mixed
    ("幺3捌 零零幺三 8000", "幺3捌 零零幺三 8000"),
    ("张三13812345678", "13812345678"),  # a name ending in a numeral
    ("13812345678一直打不通", "13812345678"),  # a word starting with a numeral
    ("联系人张三幺三八洞洞幺三八洞洞洞", "幺三八洞洞幺三八洞洞洞"),
    ("微信同号13812345678", "13812345678"),  # reported as the mobile, not as a WeChat ID
    ("手机：138，1234，5678。", "138，1234，5678"),  # commas, enumeration commas, semicolons, bars
    ("打一三八、一二三四、五六七八", "一三八、一二三四、五六七八"),
    ("call 138, 1234, 5678 after six", "138, 1234, 5678"),
    ("138；1234；5678", "138；1234；5678"),
    ("138丨1234丨5678", "138丨1234丨5678"),
    ("电话 (+86) 138，1234，5678", "(+86) 138，1234，5678"),
    ("+八六幺三八，幺二三四，五六七八", "+八六幺三八，幺二三四，五六七八"),  # the country code glued on
]
PHONE_NOT = [
    "2026年12月6日", "2026-12-06", "12/6", "¥13800", "13800元", "13,812,345,678元",
    "订单号 13812345678", "ISBN 978-7-5086-1380-0", "下午 13:38，到场 123 人",
    "剂量 60 80 100 120 mg", "2019 2020 2021 2022 年", "第一二三四五组",
    "三三两两地来了二十几个人", "13812345678901", "1381234567",
    "三个月分别发放了138，1234，5678支针具", "分别为 138、1234、5678 个", "138，1234；5678",
    "1,381,234,567元", "238，1234，5678", "共 1339，656，7308 三组", "共 86191，8797，7564 三组", "999，138，1234，5678，42",
]


@pytest.mark.parametrize(("text", "value"), PHONE_FORMS)
def test_mobile_forms_are_found(text: str, value: str) -> None:
    assert spans(findings_of("phone", text), text) == [value]


@pytest.mark.parametrize("text", PHONE_NOT)
def test_numbers_that_are_not_mobiles_are_not_flagged(text: str) -> None:
    assert scan({"body": text}) == []


ID_FORMS = [
    (f"身份证{ID_18}", ID_18),
    (f"身份证号：{ID_X}", ID_X),
    (f"id {ID_X.lower()}", ID_X.lower()),
    (f"{ID_18[:6]} {ID_18[6:14]} {ID_18[14:]}", f"{ID_18[:6]} {ID_18[6:14]} {ID_18[14:]}"),
    (f"{ID_18[:3]}-{ID_18[3:6]}-{ID_18[6:10]}-{ID_18[10:14]}-{ID_18[14:]}",
     f"{ID_18[:3]}-{ID_18[3:6]}-{ID_18[6:10]}-{ID_18[10:14]}-{ID_18[14:]}"),
    (f"证件 {ID_18.translate(FULL_WIDTH)}", ID_18.translate(FULL_WIDTH)),
    ("老身份证 510104870625201", "510104870625201"),  # 15 digits, born 1987-06-25
    ("身份证440524188001010014", "440524188001010014"),  # GB 11643's own example, born 1880
]
ID_NOT = [
    f"身份证{ID_18[:-1]}{'0' if ID_18[-1] != '0' else '1'}",  # wrong check digit
    "老身份证 510104871325201",  # 15 digits, month 13
    "老身份证 990104870625201",  # 15 digits, no such province
    "20261206143000123",  # a timestamp, 17 digits
]


@pytest.mark.parametrize(("text", "value"), ID_FORMS)
def test_id_number_forms_are_found(text: str, value: str) -> None:
    assert spans(findings_of("id_number", text), text) == [value]


@pytest.mark.parametrize("text", ID_NOT)
def test_id_like_numbers_are_not_flagged(text: str) -> None:
    assert scan({"body": text}) == []


EMAIL_FORMS = [
    ("邮箱 wang(at)example.org", "wang(at)example.org"),
    ("wang[at]example.org", "wang[at]example.org"),
    ("write to wang at qq.com today", "wang at qq.com"),
    ("王丽 wangli艾特163点com", "wangli艾特163点com"),
    ("wangli#163.com", "wangli#163.com"),
    ("wang@example[dot]org", "wang@example[dot]org"),
    ("wang (at) example (dot) org", "wang (at) example (dot) org"),
    ("wang at example dot org", "wang at example dot org"),
    ("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｏｒｇ", "ｗａｎｇ＠ｅｘａｍｐｌｅ．ｏｒｇ"),
    ("WANG @ 163.COM", "WANG @ 163.COM"),
    ("联系 ZHANG[AT]GMAIL [DOT] COM。她同意了", "ZHANG[AT]GMAIL [DOT] COM"),
    ("一二三四五六七八@qq.com", "一二三四五六七八@qq.com"),
    ("联系 wang @ example . org 谢谢", "wang @ example . org"),  # dots written apart
    ("wang@example . org", "wang@example . org"),
    ("wang (at) clinic . org . cn", "wang (at) clinic . org . cn"),
    ("邮箱 wang 艾特 163 。com", "wang 艾特 163 。com"),
    ("wang小老鼠qq点com", "wang小老鼠qq点com"),  # 小老鼠 and 圈a are what @ is called in Chinese
    ("wang圈aqq.com", "wang圈aqq.com"),
    ("write to wang @ example.org. Me too", "wang @ example.org"),  # a full stop is no dot of the address
]
EMAIL_NOT = [
    "see the guidance at who.int", "available at www.unaids.org", "C# and F# are languages",
    "价格 5@10元", "user@localhost", "我们在 12点 开会", "wang#example.zz",
    "we stayed at home . me and two peers", "room #3 . com", "x@y . Then we left",
]


@pytest.mark.parametrize(("text", "value"), EMAIL_FORMS)
def test_email_forms_are_found(text: str, value: str) -> None:
    assert spans(findings_of("email", text), text) == [value]


@pytest.mark.parametrize("text", EMAIL_NOT)
def test_email_like_text_is_not_flagged(text: str) -> None:
    assert findings_of("email", text) == []


WECHAT_FORMS = [
    ("微信peer_cd85", "peer_cd85"), ("微信号：wangxiaoli", "wangxiaoli"), ("VX: abc12345", "abc12345"),
    ("加vx wang-2024", "wang-2024"), ("wx：liu_fang", "liu_fang"), ("WeChat: zhangsan", "zhangsan"),
    ("wechat zhangxiaoli", "zhangxiaoli"),  # a pinyin name needs no colon
    ("威信 chen1990", "chen1990"), ("V信：Lin_88", "Lin_88"), ("微信ID wxid_8k2j4h6g", "wxid_8k2j4h6g"),
]
WECHAT_NOT = [
    "we use a wechat account for outreach", "用微信 wechat pay 付款", "微信群里有 120 人",
    "关注微信公众号，每周推送 3 篇", "微信 12000 人关注",
]


@pytest.mark.parametrize(("text", "value"), WECHAT_FORMS)
def test_wechat_id_forms_are_found(text: str, value: str) -> None:
    assert spans(findings_of("wechat", text), text) == [value]


@pytest.mark.parametrize("text", WECHAT_NOT)
def test_wechat_words_without_an_id_are_not_flagged(text: str) -> None:
    assert scan({"body": text}) == []


QQ_FORMS = [
    ("QQ 12345678", "12345678"), ("qq号：987654321", "987654321"), ("Q号 55667788", "55667788"),
    ("扣扣：幺二三四五六七八", "幺二三四五六七八"), ("加企鹅 10001", "10001"), ("QQ群 123 456 789", "123 456 789"),
]
QQ_NOT = ["QQ群里有 200 人", "用 QQ 联系了 3 次", "企鹅馆门票 120 元", "QQ空间 12345 次访问"]


@pytest.mark.parametrize(("text", "value"), QQ_FORMS)
def test_qq_number_forms_are_found(text: str, value: str) -> None:
    assert spans(findings_of("qq", text), text) == [value]


@pytest.mark.parametrize("text", QQ_NOT)
def test_qq_words_without_a_number_are_not_flagged(text: str) -> None:
    assert scan({"body": text}) == []


LANDLINE_FORMS = [
    ("座机 010-65528888", "010-65528888"), ("电话028-85551234", "028-85551234"),
    ("(028)85551234", "(028)85551234"), ("（028） 8555 1234", "（028） 8555 1234"),
    ("0831-2345678", "0831-2345678"), ("02885551234", "02885551234"),
    ("+86 28 8555 1234", "+86 28 8555 1234"), ("010-12345678", "010-12345678"),
    ("028-85551234 转 801", "028-85551234 转 801"), ("028-8555-1234-801", "028-8555-1234-801"),
    ("0755-88889999 ext. 12", "0755-88889999 ext. 12"), ("办公室电话 8555 1234", "8555 1234"),
    ("零二八-八五五五一二三四", "零二八-八五五五一二三四"),
]
LANDLINE_NOT = [
    "快递单号 SF867015024655", "The budget was ¥8691164 (15300 RMB)", "全国热线 12320",
    "400-161-9995", "电话随访 12 次", "0.25 0.5 0.75 mg", "数据：86 24 5 86 24 3 86 24",
]


@pytest.mark.parametrize(("text", "value"), LANDLINE_FORMS)
def test_landline_forms_are_found(text: str, value: str) -> None:
    assert spans(findings_of("landline", text), text) == [value]


@pytest.mark.parametrize("text", LANDLINE_NOT)
def test_landline_like_numbers_are_not_flagged(text: str) -> None:
    assert scan({"body": text}) == []


BANK_FORMS = [
    (f"卡号{CARD_19}", CARD_19),
    (f"卡号 {' '.join([CARD_19[i:i + 4] for i in range(0, 19, 4)])}", " ".join(CARD_19[i:i + 4] for i in range(0, 19, 4))),
    (f"{CARD_16[:4]}-{CARD_16[4:8]}-{CARD_16[8:12]}-{CARD_16[12:]}", f"{CARD_16[:4]}-{CARD_16[4:8]}-{CARD_16[8:12]}-{CARD_16[12:]}"),
    (f"{CARD_19[:6]} {CARD_19[6:]}", f"{CARD_19[:6]} {CARD_19[6:]}"),
    (f"工资卡 {CARD_16.translate(FULL_WIDTH)}", CARD_16.translate(FULL_WIDTH)),
]
BANK_NOT = [
    f"卡号{CARD_19[:-1]}{(int(CARD_19[-1]) + 1) % 10}",  # fails Luhn
    "每周剂量 40 60 80 100 120 140 160 毫升",  # a list, whatever its checksum
    "2019 2020 2021 2022 2023 年",
    "圆周率取 3.1415926535897932",
]


@pytest.mark.parametrize(("text", "value"), BANK_FORMS)
def test_bank_card_forms_are_found(text: str, value: str) -> None:
    assert spans(findings_of("bank_card", text), text) == [value]


@pytest.mark.parametrize("text", BANK_NOT)
def test_card_like_numbers_are_not_flagged(text: str) -> None:
    assert findings_of("bank_card", text) == []


DOCUMENT_FORMS = [
    ("passport", "护照 E12345678", "E12345678"), ("passport", "护照号EA1234567", "EA1234567"),
    ("passport", "old passport g12345678", "g12345678"), ("passport", "公务护照 SE1234567", "SE1234567"),
    ("travel_permit", "港澳通行证 C12345678", "C12345678"), ("travel_permit", "CA1234567", "CA1234567"),
    ("travel_permit", "回乡证 H12345678", "H12345678"), ("travel_permit", "回乡证H1234567801", "H1234567801"),
    ("travel_permit", "M12345678", "M12345678"), ("travel_permit", "T12345678", "T12345678"),
    ("travel_permit", "台胞证 12345678", "12345678"),
    ("licence_plate", "车牌川A·12345", "川A·12345"), ("licence_plate", "川A12345", "川A12345"),
    ("licence_plate", "川AD12345", "川AD12345"), ("licence_plate", "粤B12345F", "粤B12345F"),
    ("licence_plate", "川 a 1234学", "川 a 1234学"), ("licence_plate", "京N·B2X45", "京N·B2X45"),
]
DOCUMENT_NOT = [
    "国药准字H20030564 美沙酮口服溶液", "型号 E12345678", "G1234次列车", "E12345 号房间",
    "四川A类地区 12345 人", "川AB 人数", "1E12345678",
]


@pytest.mark.parametrize(("kind", "text", "value"), DOCUMENT_FORMS)
def test_document_and_plate_forms_are_found(kind: str, text: str, value: str) -> None:
    assert spans(findings_of(kind, text), text) == [value]


@pytest.mark.parametrize("text", DOCUMENT_NOT)
def test_codes_that_are_not_documents_are_not_flagged(text: str) -> None:
    assert scan({"body": text}) == []


NAME_FORMS = [
    ("姓名：王小明，男，35岁", "王小明"),  # after a label
    ("姓名: 李红", "李红"),
    ("**姓名**：王小明", "王小明"),
    ("姓名：**王小明**", "王小明"),
    ("他的真名叫张伟，大家叫他阿伟", "张伟"),
    ("真实姓名是陈秀英。", "陈秀英"),
    ("她说：我叫王五，今年30岁", "王五"),
    ("他叫李红今年三十岁", "李红"),  # 今 ends the given name
    ("一个名叫刘洋的年轻人", "刘洋"),
    ("联系人：赵敏 随时联系", "赵敏"),
    ("姓名：欧阳娜娜", "欧阳娜娜"),  # a compound surname
    ("王小明先生来门诊领药", "王小明"),  # before a form of address
    ("感谢李红女士的支持", "李红"),
    ("感谢王明先生", "王明"),  # 谢 is a surname too, but 王 starts the name
    ("按摩店的陈丽小姐说", "陈丽"),
    ("诸葛亮先生", "诸葛亮"),
    ("姓名：Wang Xiaoming", "Wang Xiaoming"),
    ("Name: John Smith", "John Smith"),
    ("Full name: Anna Lee-Wilson", "Anna Lee-Wilson"),
    ("my name is Minh Tran and I came", "Minh Tran"),
    ("他说My name is Sarah Brown。", "Sarah Brown"),  # glued to Chinese
    ("Her case worker, Ms Anna Wilson, came too", "Anna Wilson"),
    ("Mr. John Smith", "John Smith"),
    ("外展时遇到了Mrs Lan Nguyen", "Lan Nguyen"),
    ("Name: 王小明.", "王小明"),  # an English label, a name in Chinese characters
    ("name:王小明", "王小明"),
    ("Name：欧阳娜娜，35", "欧阳娜娜"),
    ("Real name: 李红", "李红"),
    ("The client's name is 陈秀英 and she", "陈秀英"),
    ("Ms 李红 came", "李红"),
]
NAME_NOT = [
    "王先生来了", "李女士说", "谢谢王先生", "我们向王先生借了桌子", "向高先生借了桌子", "上周高女士来过",
    "每周五王先生值班", "关于王先生的事", "谢谢文先生", "老王先生", "小王先生", "这位陈先生",
    "王医生说剂量可以减", "李老师也来了", "他叫了车", "我叫张医生过来", "我叫他别去", "实名制登记", "名字不重要",
    "联系人员有三位", "名字叫什么都行", "王姐和李哥在值班",
    "Mr Smith came", "Ms Wang said", "Dr John Smith", "My name is John", "my name is not important",
    "Project name: Harm Reduction Network", "The drug is called Suboxone", "name: wang li",
    "Name: 王先生", "Name: 王医生", "Project name: 美沙酮门诊", "Mr 王 came", "Mission: 王小明",
]


@pytest.mark.parametrize(("text", "value"), NAME_FORMS)
def test_a_full_name_introduced_as_a_name_is_found(text: str, value: str) -> None:
    assert spans(findings_of("name", text), text) == [value]


@pytest.mark.parametrize("text", NAME_NOT)
def test_surnames_titles_and_name_words_alone_are_not_flagged(text: str) -> None:
    assert scan({"body": text}) == []


def test_a_name_is_found_where_it_stands_in_the_original_text() -> None:
    text = "\u200b１３８ 同伴&#20320;说：我叫王小明。"  # characters before it fold to other lengths
    (finding,) = findings_of("name", text)
    assert text[finding.start:finding.end] == "王小明" and highlight(text, [finding])[1] == ("王小明", True)


def test_names_are_not_blanked_out_of_the_search_index() -> None:
    # Names are like the admins' listed words: an author or moderator kept them on purpose.
    assert mask_for_index("我叫王小明，电话 13812345678") == "我叫王小明，电话 " + " " * 11


# ------------------------------------------------------------------ masks and labels


@pytest.mark.parametrize(
    ("kind", "text", "masked"),
    [
        ("phone", "幺三八洞洞幺三八洞洞洞", "138****8000"),
        ("landline", "(028)85551234 转 801", "028-****1234"),
        ("landline", "办公室电话 8555 1234", "******34"),
        ("bank_card", f"卡号 {CARD_19[:6]} {CARD_19[6:]}", f"{CARD_19[:4]}****{CARD_19[-4:]}"),
        ("phone", "一三八、一二三四、五六七八", "138****5678"),
        ("email", "wangli艾特163点com", "w***@163.com"),
        ("email", "wang @ example . org", "w***@example.org"),
        ("name", "姓名：欧阳娜娜", "欧***"),
        ("name", "Mr John Smith", "J*********"),
        ("wechat", "微信号 wangxiaoli", "wa******li"),
        ("qq", "扣扣：幺二三四五六七八", "12****78"),
        ("passport", "护照 e12345678", "E1*****78"),
        ("travel_permit", "通行证 C12345678", "C1*****78"),
        ("licence_plate", "川A·12345", "川A****5"),
    ],
)
def test_each_kind_is_masked_without_its_middle(kind: str, text: str, masked: str) -> None:
    (finding,) = findings_of(kind, text)
    assert finding.masked(text) == masked


def test_every_kind_has_a_label_in_both_languages(app) -> None:
    from flask_babel import force_locale

    from hub.services.privacy import KIND_LABELS, KINDS

    assert set(KIND_LABELS) == KINDS
    with app.test_request_context():
        with force_locale("en"):
            english = {kind: str(label) for kind, label in KIND_LABELS.items()}
        with force_locale("zh_Hans"):
            chinese = {kind: str(label) for kind, label in KIND_LABELS.items()}
    assert english["wechat"] == "WeChat ID" and chinese["wechat"] == "微信号"
    assert all(english[kind] != chinese[kind] for kind in KINDS)
    assert all(re.search(r"[\u4e00-\u9fff]", chinese[kind]) for kind in KINDS)


def test_scanning_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    scan({"body": f"电话 13812345678 身份证 {ID_18} 微信 wangxiaoli"}, sensitive_words=["张三"])
    assert caplog.records == []


# ------------------------------------------------------------------ mask_for_index()


def test_mask_for_index_blanks_every_kind_of_contact_data_and_keeps_the_length() -> None:
    from hub.services.privacy import mask_for_index

    text = (f"电话幺三八洞洞幺三八洞洞洞，身份证 {ID_18}，卡号 {CARD_19}，座机 028-85551234，"
            "QQ 12345678，微信 wangxiaoli，邮箱 wang(at)qq.com，护照 E12345678，车牌 川A·12345。美沙酮 60mg")
    masked = mask_for_index(text)
    assert len(masked) == len(text)
    assert scan({"body": masked}) == []
    assert not re.search(r"\d{5}|幺三八|wangxiaoli|qq\.com|川A", masked)
    assert "电话" in masked and "美沙酮 60mg" in masked and "护照" in masked


def test_mask_for_index_leaves_ordinary_text_and_listed_words_alone() -> None:
    from hub.services.privacy import mask_for_index

    text = "张医生说 2026年12月6日 有 138 人来，费用 ¥13800，ISBN 978-7-5086-1380-0。"
    assert mask_for_index(text) == text
    assert mask_for_index("") == ""


@pytest.mark.parametrize(("written", "kind"), [
    ("call &#49;&#51;&#56;&#49;&#50;&#51;&#52;&#53;&#54;&#55;&#56; today", "phone"),
    ("call &#x31;&#x33;&#x38;12345678 today", "phone"),
    (r"or 138\-1234\-5678", "phone"),
    ("138**1234**5678", "phone"),
    ("138`1234`5678", "phone"),
    ("138&#8203;1234&#8203;5678", "phone"),
    ("wangxm&#64;example.com", "email"),
    ("51010219900307123&#52;", "id_number"),
])
def test_data_hidden_in_markdown_or_character_references_is_found_where_it_is_written(written: str, kind: str) -> None:
    """Readers see Markdown rendered: 138&#56;… shows 1388…, so the check reads what is shown and
    points at the source that shows it (for highlighting and redaction)."""
    [finding] = scan({"body": written})
    assert finding.kind == kind
    found = written[finding.start:finding.end]
    assert found.startswith(("&#", "138", "wangxm", "5101")) and found.endswith(("8", ";", "com"))


@pytest.mark.parametrize("text", ["2 * 3 = 6 and a_b", "我们 &amp; 你们", "&#0;&#99999999; &bogus; \\", "3*4*5 = 60"])
def test_markup_that_shows_no_number_finds_nothing(text: str) -> None:
    assert scan({"body": text}) == []
