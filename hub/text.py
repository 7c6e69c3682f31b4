"""Render user-written Markdown to safe HTML, and derive plain text and excerpts.

Practice notes are written by peer educators and read by colleagues, so every
note is untrusted input.  This module is the ONLY place where Markdown becomes
HTML: markdown-it-py parses with raw HTML disabled (so ``<script>`` in a note is
shown as text), the token stream is adjusted (headings made an outline below the page's title, third-party
images turned into links, table alignment moved from ``style`` to ``class``),
and the resulting HTML is passed through nh3 with an explicit allow-list as a
second, independent line of defence.

Images are only rendered when they come from the hub itself.  Loading an image
from a third-party server would tell that server the reader's IP address and
the page they read, which is a real risk for people reading about drug use or
HIV.  A non-local image is rendered as an ordinary link whose text is the alt
text (or the URL when there is no alt text) so the reader can still choose to
open it.  Only the alt text is kept inside an existing link (links cannot
nest) and for non-web URLs such as ``data:`` (there is nothing safe to link).
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["ALLOWED_TAGS", "excerpt", "html_line", "html_text", "is_local_image_url", "plain_text", "render_markdown"]

ELLIPSIS = "…"

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "hr",
        "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li",
        "blockquote", "pre", "code",
        "em", "strong", "del", "s",
        "a", "img",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip

# ``class`` is deliberately absent here: it is granted per tag below with a
# fixed value set (th/td) or through the attribute filter (code).
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "code": {"class"},
}
_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
_TAG_ATTRIBUTE_VALUES = {"th": {"class": _ALIGN_CLASSES}, "td": {"class": _ALIGN_CLASSES}}
_URL_SCHEMES = {"http", "https", "mailto"}
_LINK_REL = "nofollow noopener noreferrer"
# Belt and braces: markdown-it never emits these (raw HTML is off), but if it
# ever did, drop their content instead of leaking it as text.
_CLEAN_CONTENT_TAGS = {"script", "style"}

_CODE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,32}")
_ALIGN_STYLE = re.compile(r"text-align:\s*(left|center|right)")
# Browsers silently drop tabs/newlines inside URLs and treat "\" like "/", so
# "/\tevil.example" or "/\\evil.example" can become protocol-relative.
_URL_TRAPS = re.compile(r"[\x00-\x20\x7f\\]")
_WHITESPACE = re.compile(r"\s+")
# Separators and opening brackets look broken right before an ellipsis.
_TRAILING_JUNK = " \t,，、;；:：-—–([{（【《〈“‘\"'"


def _markdown() -> MarkdownIt:
    """Build the single Markdown parser configuration used by the hub."""
    options = {"html": False, "linkify": False, "typographer": False, "xhtmlOut": False}
    return MarkdownIt("commonmark", options).enable(["table", "strikethrough"])


_MD = _markdown()


def is_local_image_url(url: str, local_hosts: AbstractSet[str] = frozenset()) -> bool:
    """Return True if an image URL points at the hub itself."""
    if not url or _URL_TRAPS.search(url):
        return False
    if url.startswith("/"):
        return not url.startswith("//")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on garbage such as "host:abc"
    except ValueError:
        return False
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return False
    if parts.username is not None or parts.password is not None:
        return False  # "https://hub@evil.example/" tricks human readers
    hosts = {h.lower() for h in local_hosts}
    host = parts.hostname.lower()
    return host in hosts or (port is not None and f"{host}:{port}" in hosts)


def _text_token(content: str) -> Token:
    """Create an inline text token."""
    return Token("text", "", 0, content=content)


def _is_linkable(url: str) -> bool:
    """Return True if a URL may become a link (web or hub-relative only)."""
    if _URL_TRAPS.search(url):
        return False
    try:
        return urlsplit(url).scheme.lower() in {"", "http", "https"}
    except ValueError:
        return False


def _image_replacement(image: Token, inside_link: bool) -> list[Token]:
    """Turn a non-local image into its alt text, wrapped in a link if possible."""
    src = str(image.attrGet("src") or "")
    label = list(image.children or []) or [_text_token(src)]
    if inside_link or not _is_linkable(src):
        return label
    link_open = Token("link_open", "a", 1, attrs={"href": src})
    title = image.attrGet("title")
    if title:
        link_open.attrSet("title", str(title))
    return [link_open, *label, Token("link_close", "a", -1)]


def _rewrite_inline(children: Sequence[Token], local_hosts: AbstractSet[str]) -> list[Token]:
    """Replace third-party images in an inline token list."""
    result: list[Token] = []
    link_depth = 0
    for token in children:
        if token.type == "link_open":
            link_depth += 1
        elif token.type == "link_close":
            link_depth -= 1
        if token.type == "image" and not is_local_image_url(
            str(token.attrGet("src") or ""), local_hosts
        ):
            result.extend(_image_replacement(token, inside_link=link_depth > 0))
        else:
            result.append(token)
    return result


def _outline(tokens: list[Token], top: int) -> dict[str, str]:
    """Map the heading tags a text uses onto an outline starting at ``top``, no level skipped.

    Authors write "## 背景" (the editor's hint) or start at "###"; under the page's <h1> the
    note's highest heading must be an <h2>, and the next one down an <h3>, whatever levels
    the Markdown used, or screen-reader users lose their place (axe: heading-order).
    """
    used = sorted({token.tag for token in tokens if token.type == "heading_open"})
    return {tag: f"h{min(top + rank, 6)}" for rank, tag in enumerate(used)}


def _alignment_to_class(token: Token) -> None:
    """Move table alignment from a style attribute to a fixed class name."""
    style = token.attrGet("style")
    if style is None:
        return
    token.attrs.pop("style", None)
    match = _ALIGN_STYLE.fullmatch(str(style).strip().rstrip(";"))
    if match:
        token.attrSet("class", f"align-{match.group(1)}")


def _rewrite_tokens(tokens: list[Token], local_hosts: AbstractSet[str], top: int) -> None:
    """Apply the hub's presentation rules to a parsed token stream in place."""
    outline = _outline(tokens, top)
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            token.tag = outline[token.tag]
        elif token.type in {"th_open", "td_open"}:
            _alignment_to_class(token)
        elif token.type == "inline" and token.children:
            token.children = _rewrite_inline(token.children, local_hosts)


@lru_cache(maxsize=32)
def _cleaner(local_hosts: frozenset[str], images: bool = True) -> nh3.Cleaner:
    """Build (and cache) the allow-list sanitiser for a set of local hosts."""

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        """Drop attribute values that the static allow-list cannot express."""
        if tag == "img" and attr == "src":
            return value if is_local_image_url(value, local_hosts) else None
        if tag == "code" and attr == "class":
            return value if _CODE_CLASS.fullmatch(value) else None
        return value

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS) if images else set(ALLOWED_TAGS) - {"img"},
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        tag_attribute_values=_TAG_ATTRIBUTE_VALUES,
        url_schemes=_URL_SCHEMES,
        link_rel=_LINK_REL,
        strip_comments=True,
    )


def render_markdown(source: str, *, local_hosts: AbstractSet[str] = frozenset(), top: int = 2) -> str:
    """Render untrusted Markdown to sanitised HTML, its headings an outline from ``<h{top}>`` down."""
    hosts = frozenset(h.lower() for h in local_hosts)
    env: dict[str, Any] = {}
    tokens = _MD.parse(source, env)
    _rewrite_tokens(tokens, hosts, top)
    html = _MD.renderer.render(tokens, _MD.options, env)
    return _cleaner(hosts).clean(html)


def sanitize_html(source: str, *, images: bool = True) -> str:
    """Sanitise HTML made elsewhere (a partner hub's note) with the same allow-list as rendered Markdown."""
    return _cleaner(frozenset(), images).clean(source)


def html_text(source: str) -> str:
    """Return the readable text of sanitised HTML, a blank line after each block (not HTML: escape it).

    An image counts as its alt text, as in :func:`plain_text`: it is what the author wrote about it.
    """
    marked = _BLOCK_END.sub(lambda m: m.group(0) + "\n\n", _IMAGE.sub(r" \1 ", source or ""))
    plain = html.unescape(nh3.clean(marked, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in plain.splitlines())).strip()


def html_line(source: str) -> str:
    """Return the readable text of sanitised HTML on one line, spaces collapsed (not HTML: escape it)."""
    return " ".join(html_text(source).split())


_IMAGE = re.compile(r'<img\b[^>]*?\balt="([^"]*)"[^>]*>', re.IGNORECASE)  # as the sanitiser writes it
_BLOCK_END = re.compile(r"(</(p|h[1-6]|li|blockquote|pre|tr|section)>|<br\s*/?>)", re.IGNORECASE)


def _inline_text(children: Sequence[Token]) -> str:
    """Collect the readable text of inline tokens (alt text for images)."""
    parts: list[str] = []
    for token in children:
        if token.type in {"text", "code_inline"}:
            parts.append(token.content)
        elif token.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        elif token.type == "image":
            parts.append(_inline_text(token.children or []))
    return "".join(parts)


def plain_text(source_markdown: str) -> str:
    """Return the text of a Markdown document without markup, whitespace collapsed.

    The result is NOT HTML: characters such as ``<`` are returned as-is, so
    templates must escape it like any other string.
    """
    parts: list[str] = []
    for token in _MD.parse(source_markdown):
        if token.type == "inline":
            parts.append(_inline_text(token.children or []))
        elif token.type in {"fence", "code_block"}:
            parts.append(token.content)
        parts.append(" ")  # every block boundary separates words
    return _WHITESPACE.sub(" ", "".join(parts)).strip()


def _breaks_anywhere(char: str) -> bool:
    """Return True for scripts written without spaces (Han, kana)."""
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= code <= 0x4DBF  # CJK Extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0xF900 <= code <= 0xFAFF  # CJK Compatibility Ideographs
        or 0x20000 <= code <= 0x3FFFF  # CJK Extensions B and later
    )


def _is_word_char(char: str) -> bool:
    """Return True for characters of space-separated words (Latin, digits, ...)."""
    return (char.isalnum() or char in "'’_") and not _breaks_anywhere(char)


def _is_glued(left: str, right: str) -> bool:
    """Return True if cutting between two characters would split a word or glyph."""
    if unicodedata.combining(right) or right in "\u200d\ufe0e\ufe0f" or left == "\u200d":
        return True
    return _is_word_char(left) and _is_word_char(right)


def _cut_position(text: str, limit: int) -> int:
    """Find the last sensible cut position at or before limit."""
    floor = max(limit // 2, 1)  # a single overlong "word" is cut hard rather than dropped
    for cut in range(limit, floor - 1, -1):
        if not _is_glued(text[cut - 1], text[cut]):
            return cut
    return limit


def excerpt(text: str, length: int = 200) -> str:
    """Shorten text to at most length characters, ending with an ellipsis if cut.

    Space-separated words are not split (unless one word fills more than half
    the excerpt); Chinese/Japanese text may be cut between any two characters
    because it has no spaces.  The ellipsis counts towards ``length``.
    """
    if length < 1:
        raise ValueError("length must be at least 1")
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) <= length:
        return text
    head = text[: _cut_position(text, length - 1)]
    return (head.rstrip(_TRAILING_JUNK) or head) + ELLIPSIS
