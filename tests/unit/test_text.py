"""Markdown rendering must never let a note run script or load third-party content."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.text import ALLOWED_TAGS, excerpt, html_text, is_local_image_url, plain_text, render_markdown

LOCAL_HOSTS = frozenset({"hub.example"})

XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<details open ontoggle=alert(1)>",
    "<x onclick=alert(1)>click me",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<!--<script>alert(1)</script>-->",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](&#0000106avascript:alert(1))",
    "[x](java&NewLine;script:alert(1))",
    "[x](&Tab;javascript:alert(1))",
    "[x](javascript\\:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](javascript://%0Aalert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x][evil]\n\n[evil]: javascript:alert(1)",
    '[x][evil]\n\n[evil]: JAVASCRIPT:alert(1) "title"',
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    '[x](https://example.org "t\\" onmouseover=\\"alert(1)")',
    "[<img src=x onerror=alert(1)>](https://example.org)",
    "**<img src=x onerror=alert(1)>**",
    '![x" onerror="alert(1)](/a.png)',
    "![<img src=x onerror=alert(1)>](/a.png)",
    "![x](https://evil.example/x.png)",
    "![x](//evil.example/x.png)",
    "![x](/\\evil.example/x.png)",
    "![x](https://hub.example@evil.example/x.png)",
    "![x](https://hub.example.evil.example/x.png)",
    "![x](javascript:alert(1))",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x][pic]\n\n[pic]: https://evil.example/tracker.gif",
    "[![x](https://evil.example/x.png)](https://example.org)",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    '```"><script>alert(1)</script>\ncode\n```',
    "```js onclick=alert(1)\ncode\n```",
    "| <script>alert(1)</script> | x |\n|---|---|\n| <img src=x onerror=alert(1)> | y |",
    "> <script>alert(1)</script>\n> [x](javascript:alert(1))",
    "- [x](javascript:alert(1))\n- <svg onload=alert(1)>",
]

DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
_CONTROL_AND_SPACE = re.compile(r"[\x00-\x20\x7f]")
_TAG = re.compile(r"<[^>]*>")
_EVENT_ATTRIBUTE = re.compile(r"[\s/]on\w+\s*=", re.IGNORECASE)
_QUOTED_VALUE = re.compile(r"\"[^\"]*\"|'[^']*'")


class _TagCollector(HTMLParser):
    """Collect (tag, attributes) the way a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def _parse_tags(output: str) -> list[tuple[str, dict[str, str]]]:
    """Return the start tags of an HTML fragment."""
    collector = _TagCollector()
    collector.feed(output)
    collector.close()
    return collector.tags


def _url_as_browser_sees_it(value: str) -> str:
    """Drop the whitespace/controls browsers ignore in URLs (entities are already decoded)."""
    return _CONTROL_AND_SPACE.sub("", value).lower()


def assert_safe(output: str) -> None:
    """Fail if rendered HTML could run script or load a third-party image."""
    assert "<script" not in output.lower()
    for raw_tag in _TAG.findall(output):
        # Escaped text inside a quoted value (alt="x onerror=...") is inert; names are not.
        assert not _EVENT_ATTRIBUTE.search(_QUOTED_VALUE.sub('""', raw_tag)), raw_tag
    for tag, attrs in _parse_tags(output):
        assert tag in ALLOWED_TAGS, tag
        assert "style" not in attrs
        assert not any(name.startswith("on") for name in attrs), attrs
        for name in ("href", "src"):
            if name in attrs:
                assert not _url_as_browser_sees_it(attrs[name]).startswith(DANGEROUS_SCHEMES)
        if tag == "img":
            assert is_local_image_url(attrs.get("src", "/"), LOCAL_HOSTS), attrs


@pytest.mark.parametrize("source", XSS_VECTORS)
def test_xss_vector_is_neutralised(source: str) -> None:
    assert_safe(render_markdown(source, local_hosts=LOCAL_HOSTS))


def test_xss_vector_list_is_substantial() -> None:
    assert len(set(XSS_VECTORS)) >= 30


_FRAGMENTS = [
    "<", ">", "\"", "'", "`", "[", "]", "(", ")", "!", "*", "_", "\n", "\n\n", " ",
    "javascript:", "data:", "//evil.example/", "/x.png", "&#58;", "&#x6A;", "\\",
    "<script>", "<img src=x ", "onerror=alert(1)", "<a href=", "![a](", "[b](", "]: ",
    "```", "|---|", "| ", "# ", "> ", "- ", "1. ", "中文", "alert(1)",
]  # fmt: skip


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join))
def test_random_mixture_of_dangerous_fragments_renders_safely(source: str) -> None:
    assert_safe(render_markdown(source, local_hosts=LOCAL_HOSTS))


@given(st.text(max_size=200))
def test_arbitrary_text_renders_safely(source: str) -> None:
    assert_safe(render_markdown(source, local_hosts=LOCAL_HOSTS))


# ------------------------------------------------------------------ what survives


def test_raw_html_is_shown_as_text() -> None:
    assert render_markdown("a <b>bold</b>") == "<p>a &lt;b&gt;bold&lt;/b&gt;</p>\n"


def test_table_renders_with_alignment_as_class_not_style() -> None:
    output = render_markdown("| 项目 | 人数 |\n|:--|--:|\n| 美沙酮 | 12 |")
    assert "<table>" in output and "<thead>" in output and "<tbody>" in output
    assert '<th class="align-left">项目</th>' in output
    assert '<td class="align-right">12</td>' in output
    assert "style" not in output


@pytest.mark.parametrize(
    ("source", "tags"),
    [("# 标题\n\n## 小节", ["h2", "h3"]), ("## 背景\n\n## 做法", ["h2", "h2"]),
     ("## 背景\n\n#### 细节\n\n## 做法", ["h2", "h3", "h2"]), ("##### 五\n\n###### 六", ["h2", "h3"]),
     ("# 1\n## 2\n### 3\n#### 4\n##### 5\n###### 6", ["h2", "h3", "h4", "h5", "h6", "h6"])],
)
def test_headings_form_an_outline_below_the_page_title(source: str, tags: list[str]) -> None:
    assert re.findall(r"<(h\d)>", render_markdown(source)) == tags


def test_headings_of_a_text_under_a_section_title_start_one_level_lower() -> None:
    assert re.findall(r"<(h\d)>", render_markdown("## 背景\n\n### 细节", top=3)) == ["h3", "h4"]


def test_fenced_code_keeps_language_class_and_escapes_content() -> None:
    output = render_markdown("```python\nif a < b:\n    print('<b>')\n```")
    assert output.startswith('<pre><code class="language-python">')
    assert "if a &lt; b:" in output
    assert "&lt;b&gt;" in output


def test_inline_code_is_escaped() -> None:
    assert render_markdown("`<i>x</i>`") == "<p><code>&lt;i&gt;x&lt;/i&gt;</code></p>\n"


def test_chinese_text_is_preserved() -> None:
    source = "同伴教育员在**美沙酮门诊**开展了~~三次~~四次小组活动。"
    assert render_markdown(source) == (
        "<p>同伴教育员在<strong>美沙酮门诊</strong>开展了<s>三次</s>四次小组活动。</p>\n"
    )


def test_lists_blockquote_hr_and_emphasis_render() -> None:
    output = render_markdown("3. 一\n4. 二\n\n- a\n- b\n\n> 引用 *强调*\n\n---")
    for fragment in ('<ol start="3">', "<li>一</li>", "<ul>", "<blockquote>", "<em>强调</em>"):
        assert fragment in output
    assert "<hr>" in output


def test_links_get_nofollow_noopener_noreferrer() -> None:
    output = render_markdown('[指南](https://example.org/guide "标题")')
    assert output == (
        '<p><a href="https://example.org/guide" title="标题" '
        'rel="nofollow noopener noreferrer">指南</a></p>\n'
    )


def test_mailto_and_relative_links_are_kept() -> None:
    output = render_markdown("[信](mailto:team@hub.example) [笔记](/notes/1)")
    assert 'href="mailto:team@hub.example"' in output
    assert 'href="/notes/1"' in output


def test_relative_local_image_is_kept() -> None:
    output = render_markdown('![活动照片](/uploads/a.png "标题")')
    assert output == '<p><img src="/uploads/a.png" alt="活动照片" title="标题"></p>\n'


def test_absolute_image_on_local_host_is_kept() -> None:
    output = render_markdown("![x](https://HUB.example/u/a.png)", local_hosts={"hub.example"})
    assert '<img src="https://HUB.example/u/a.png" alt="x">' in output


def test_local_host_with_port_must_match_exactly() -> None:
    assert is_local_image_url("https://hub.example:8443/a.png", {"hub.example:8443"})
    assert not is_local_image_url("https://hub.example:9999/a.png", {"hub.example:8443"})


def test_external_image_becomes_link_with_alt_text() -> None:
    output = render_markdown("![海报](https://evil.example/x.png)")
    assert "<img" not in output
    assert (
        '<a href="https://evil.example/x.png" rel="nofollow noopener noreferrer">海报</a>' in output
    )


def test_external_image_without_alt_uses_url_as_link_text() -> None:
    output = render_markdown("![](https://evil.example/x.png)")
    assert ">https://evil.example/x.png</a>" in output


def test_external_image_inside_link_becomes_alt_text() -> None:
    output = render_markdown("[![海报](https://evil.example/x.png)](https://example.org)")
    assert output == (
        '<p><a href="https://example.org" rel="nofollow noopener noreferrer">海报</a></p>\n'
    )


def test_data_image_becomes_plain_alt_text() -> None:
    assert render_markdown("![图](data:image/png;base64,iVBORw0KGgo=)") == "<p>图</p>\n"


def test_relative_image_without_leading_slash_is_not_local() -> None:
    assert not is_local_image_url("uploads/a.png")
    assert not is_local_image_url("//hub.example/a.png", {"hub.example"})


# ------------------------------------------------------------------ plain text


def test_plain_text_drops_markup_and_collapses_whitespace() -> None:
    source = "# 标题\n\n段落 *强调*   和 [链接](https://example.org)\n\n- 一\n- 二"
    assert plain_text(source) == "标题 段落 强调 和 链接 一 二"


def test_plain_text_keeps_code_and_image_alt_text() -> None:
    assert plain_text("![活动照片](/a.png)\n\n```\nx = 1\n```") == "活动照片 x = 1"


def test_html_text_keeps_image_alt_text_like_plain_text() -> None:
    rendered = '<p>看<img src="/attachments/7" alt="活动照片 &amp; 人群">这里</p><p>下一段</p>'
    assert html_text(rendered) == "看 活动照片 & 人群 这里\n\n下一段"


def test_plain_text_is_unescaped_text_not_html() -> None:
    assert plain_text("a &amp; b <script>") == "a & b <script>"


def test_plain_text_of_empty_source_is_empty() -> None:
    assert plain_text("") == ""


# ------------------------------------------------------------------ excerpts


def test_excerpt_returns_short_text_unchanged() -> None:
    assert excerpt("短文本", 10) == "短文本"


def test_excerpt_collapses_whitespace() -> None:
    assert excerpt("a \n\n b", 10) == "a b"


def test_excerpt_cuts_english_at_word_boundary() -> None:
    assert excerpt("harm reduction saves lives", 20) == "harm reduction…"


def test_excerpt_cuts_chinese_between_any_characters() -> None:
    assert excerpt("减少伤害项目为社区提供服务", 6) == "减少伤害项…"


def test_excerpt_does_not_split_latin_word_inside_chinese() -> None:
    assert excerpt("我们使用methadone治疗", 9) == "我们使用…"


def test_excerpt_strips_trailing_punctuation_before_ellipsis() -> None:
    assert excerpt("第一，第二，第三", 4) == "第一…"


def test_excerpt_hard_cuts_a_single_overlong_word() -> None:
    assert excerpt("a" * 50, 10) == "a" * 9 + "…"


def test_excerpt_keeps_combining_marks_with_their_letter() -> None:
    assert excerpt("cafe\u0301 cafe\u0301", 6) == "cafe\u0301…"


def test_excerpt_rejects_non_positive_length() -> None:
    with pytest.raises(ValueError):
        excerpt("text", 0)


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_excerpt_never_exceeds_length_and_is_a_prefix(text: str, length: int) -> None:
    result = excerpt(text, length)
    normalised = " ".join(text.split())
    assert len(result) <= length
    if result.endswith("…") and result != normalised:
        assert normalised.startswith(result[:-1])
    else:
        assert result == normalised
