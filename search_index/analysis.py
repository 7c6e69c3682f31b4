"""Bilingual (Chinese/English) text analysis for the Whoosh search index.

Whoosh's default analyzer keeps a whole run of Han characters as one token, so 美沙酮 never matches
a note about 美沙酮维持治疗. ``bilingual_analyzer()`` replaces it, for indexing and for queries.

Normalisation (every mode)
    ``search_index.folding``: NFKC folds full-width Latin and digits (ＭＭＴ -> MMT); OpenCC ``t2s``
    folds Traditional to Simplified (針具交換 -> 针具交换) on the whole text, so OpenCC's phrase
    mappings apply; then lower-casing.

Non-Han words
    Split on non-word characters. English stop words are dropped without leaving a position gap, so
    "peer education for the people" still matches as a phrase. Porter2 stems ASCII words
    (discriminated, discrimination -> discrimin), except glossary abbreviations (AIDS is not "aid").

Han text
    jieba segments each run of Han characters in precise mode, without HMM, with its dictionary
    plus the glossary's Chinese terms. Each segmented word is then split the way it would be split
    if it were not in the dictionary, recursively, into a tree: the word, the pieces of its best
    split, their pieces, and so on (美沙酮维持治疗门诊 -> 美沙酮维持治疗|门诊 -> 美沙酮|维持|治疗).
    The leaves are the word's *units*: they take consecutive positions, like English words.

    Index mode emits every node of the tree: the word itself and each piece, at the position of
    its first unit; and each term of the shipped glossary that is a run of the word's units but no
    node of its tree (清洁针具交换 is 清洁针具|交换, 清洁|针具, and also holds 针具交换). Query mode emits the query's one word when it is a single segmented word (a
    dictionary word is looked up as that word: 针具交换 asks for the term 针具交换), and the units
    of all its words otherwise, as a phrase (社区外展工作人员 -> 社区 外展 工作 人员). A phrase
    that stands for one character must find that character as a word of its own there.
    Characters inside longer units are not indexed: a one-character query is answered from the
    terms that contain the character (``search_index.engine``).

    How a piece is split: a number and what it counts come apart after the number (三十|分钟,
    第一|次; jieba's dictionary tags such words as numerals); a three-character word is split AB|C
    or A|BC by jieba's word probabilities with a prior of three to one for AB|C, the usual shape
    of such words (西南|部, not 西|南部); a longer word follows jieba's most probable path through
    it without the word itself (加大力度 -> 加大|力度). A word of two characters, or one whose
    best split has no piece of two or more characters, is a leaf.

Why
    - Precision: a term matches a word, or a piece of a word's own split, never characters that
      straddle two words: 和服 does not match 和|服务, 就业 not 成就|业内, and a sub-word that is
      a dictionary word but no piece of the word's split is not indexed (大力 is not in
      加大|力度, 南部 not in 西南|部, 十分 "very" not in 三十|分钟). A query that is one word
      asks for that word, not for a phrase of its parts, so 工作人员 does not match
      外展工作|人员. Measured on gold-segmented text in ``bench/precision.py``.
    - Recall: pieces match inside longer words (美沙酮 finds 美沙酮维持治疗, 针具 finds 针具交换),
      and Traditional and Simplified text meet in one form.
    - Phrases: index and query share the unit grid, so a quoted phrase of consecutive units
      matches, also inside one word ("针具 交换" finds 针具交换点, "艾滋 病" finds 艾滋病).
    - No HMM: with it, jieba guesses unknown words from context, so one string can segment one way
      in a note and another way in a short query. Without it, unknown words fall apart into single
      characters (units of their own) on both sides and still match, character by character.

Trade-offs
    - A one-character query (药, 针) matches the character alone or inside a word, through every
      indexed term that contains it (the engine reads them from the lexicon, once per segment and
      character); one-character queries are imprecise by nature.
    - jieba's own mistakes stay: where it segments 年轻人|才 (the writer meant 年轻|人才), 年轻人
      matches and 人才 does not. A second opinion was measured (``bench/README.md``).
    - A query word that segments into several words (和服务, 艾滋病人) is a phrase of their
      units; words separated by spaces are ANDed (``search_index.query``).
    - Mixed-script terms (HIV检测) become separate tokens (hiv, 检测): they match as a phrase.
    - Segmentation depends on jieba's dictionary and on data/glossary.tsv: editing either needs a
      reindex. Terms that administrators add at run time expand queries but never change
      segmentation, so every process analyses text identically.
    - Excerpts do not run the analyzer: ``search_index.excerpts`` looks for the query's terms in
      the folded text.

Pickling
    Whoosh pickles the schema, analyzer included, into the index by import path: the names
    ``BilingualTokenizer`` and ``_stem_latin`` in ``search_index.analysis`` must not change. Neither
    holds state; jieba and OpenCC load lazily, once per process.
"""
from __future__ import annotations

import functools
import itertools
import logging
import math
import re
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from whoosh.analysis import STOP_WORDS, StemFilter, Token, Tokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.lang.porter2 import stem as _porter2

from search_index import glossary
from search_index.concepts import ConceptFilter
from search_index.folding import HAN_RANGES, normalise, span

if TYPE_CHECKING:
    import jieba

__all__ = ["BilingualTokenizer", "bilingual_analyzer", "query_tokens", "segment", "word_units"]

# A Han run, or a word of other letters and digits ("e.g", "3.5" stay whole, as Whoosh's default).
_RUN = re.compile(rf"(?P<han>[{HAN_RANGES}]+)|[^\W_{HAN_RANGES}]+(?:\.[^\W_{HAN_RANGES}]+)*")
_HAN_WORD = re.compile(f"[{HAN_RANGES}]+")
# The characters jieba segments with its dictionary (its re_han_default, less Latin and digits).
_JIEBA_HAN = re.compile("[\u4e00-\u9fd5]+")
# The number at the start of a numeral word: an ordinal's 第 and the numeral characters after it.
_NUMBER = re.compile("第?[〇零一二三四五六七八九十百千万亿两几数半]+")

_segmenter_lock = threading.Lock()
_segmenter_instance: jieba.Tokenizer | None = None


# A term of a segmented word: text, offset in the word, number of the unit it starts in.
_WordTerm = tuple[str, int, int]


# One word of a text: its terms, its first position, its offset in the folded text, whether it is a
# stop word. A plain tuple: hundreds are made per note, and a named tuple costs a third more to make.
_Word = tuple[tuple[_WordTerm, ...], int, int, bool]


class BilingualTokenizer(Tokenizer):
    """Whoosh tokenizer for Chinese/English text; see the module docstring for the design."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        """Yield the terms of value; mode "query" gives query terms, anything else index terms."""
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:  # the whole value as one term, folded like words (prefix and wildcard queries)
            whole = normalise(value)[0].strip().lower()
            if whole:
                token.text, token.stopped, token.boost, token.original = whole, False, 1.0, value
                token.pos, token.startchar, token.endchar = start_pos, start_char, start_char + len(value)
                yield token
            return
        normalised, bounds = normalise(value)
        spans = chars or keeporiginal
        # The hot loop of indexing, hundreds of terms per note: attribute stores, and spans only if asked.
        for terms, pos, offset, stopped in _words(normalised, index=mode != "query", keep_stops=not removestops):
            for text, term_offset, unit_number in terms:
                token.text = text
                token.stopped = stopped
                token.boost = 1.0  # reset: the token object is shared, later filters may change it
                if positions:
                    token.pos = start_pos + pos + unit_number
                if spans:
                    start, end = span(bounds, offset + term_offset, offset + term_offset + len(text))
                    if keeporiginal:
                        token.original = value[start:end]
                    token.startchar = start_char + start
                    token.endchar = start_char + end
                yield token


def bilingual_analyzer() -> CompositeAnalyzer:
    """Return the analyzer for bilingual text fields: BilingualTokenizer, English stemming, concept tokens."""
    return BilingualTokenizer() | StemFilter(stemfn=_stem_latin) | ConceptFilter()


def query_tokens(text: str) -> list[str]:
    """Return the terms of a query string as the index holds them."""
    return [token.text for token in _query_analyzer()(text, mode="query")]


def word_units(term: str) -> list[str]:
    """Return the units of an analysed Han word (a query term): the phrase it is searched as where
    no note holds the word itself (any other term is its own one unit)."""
    if not _HAN_WORD.fullmatch(term):
        return [term]
    return [unit for unit, _offset, _number in _word_terms(term)[0]]


def segment(text: str) -> list[str]:
    """Split text into words: jieba precise-mode words for Chinese, other words as written."""
    normalised, _ = normalise(text)
    words: list[str] = []
    for match in _RUN.finditer(normalised):
        if match.lastgroup == "han":
            words.extend(_cut(match.group()))
        else:
            words.append(match.group())
    return words


def _stem_latin(word: str) -> str:
    """Stem an ASCII word with Porter2; leave abbreviations, numbers and other scripts alone."""
    if not word.isascii() or not word.isalpha() or word in _abbreviations():
        return word
    return _porter2(word)


stem_latin = _stem_latin  # the name for other modules; pickled indexes refer to _stem_latin


def _words(normalised: str, index: bool, keep_stops: bool) -> Iterator[_Word]:
    """Yield the words of folded text with their terms (index or query terms) and positions."""
    if not index:
        whole = _one_han_word(normalised)
        if whole is not None:
            yield ((whole.group(), 0, 0),), 0, whole.start(), False
            return
    pos = 0
    for match in _RUN.finditer(normalised):
        if match.lastgroup != "han":
            word = match.group().lower()
            stopped = word in STOP_WORDS
            if not stopped or keep_stops:
                yield ((word, 0, 0),), pos, match.start(), stopped
            pos += not stopped  # stop words leave no gap, so phrases around them still match
            continue
        offset = match.start()
        for word in _cut(match.group()):
            units, terms = _word_terms(word)
            yield (terms if index else units), pos, offset, False
            pos += len(units)
            offset += len(word)


def _one_han_word(normalised: str) -> re.Match | None:
    """Return the match of the text's only word when that is one segmented Han word, else None."""
    matches = list(itertools.islice(_RUN.finditer(normalised), 2))
    if len(matches) == 1 and matches[0].lastgroup == "han" and len(_cut(matches[0].group())) == 1:
        return matches[0]
    return None


def _cut(run: str) -> list[str]:
    """Return jieba's precise-mode words of a Han run without HMM, as ``cut(run, HMM=False)`` does.

    jieba segments blocks of the characters of its own Han range; any other character of the run
    (extension A, compatibility ideographs, …) is a word of its own. Calling the path search
    directly skips jieba's generator layers, a measurable share of indexing time.
    """
    words: list[str] = []
    end = 0
    for block in _JIEBA_HAN.finditer(run):
        words.extend(run[end:block.start()])
        words.extend(_route(block.group()))
        end = block.end()
    words.extend(run[end:])
    return words


def _route(sentence: str) -> list[str]:
    """Return jieba's most probable path through a block, as ``Tokenizer.calc`` finds it.

    The candidates from each character are jieba's DAG (dictionary words found by extending a
    prefix while it is in the dictionary; the single character when none is), scored with the
    same float operations, ties going to the longer word as with jieba's ``max`` over tuples.
    """
    table = _word_table()
    get = table.get
    prefix, unknown = _PREFIX_ONLY, table.unknown
    size = len(sentence)
    scores = [0.0] * (size + 1)  # best log probability of sentence[start:]
    ends = list(range(1, size + 2))  # end of the first word of that best path
    for start in range(size - 1, -1, -1):
        best = None
        end = start + 1
        entry = get(sentence[start])
        while entry is not None:
            if entry is not prefix:
                score = entry + scores[end]
                if best is None or score >= best:
                    best, ends[start] = score, end
            if end == size:
                break
            end += 1
            entry = get(sentence[start:end])
        scores[start] = unknown + scores[start + 1] if best is None else best
    words = []
    start = 0
    while start < size:
        words.append(sentence[start:ends[start]])
        start = ends[start]
    return words


# Log odds of the usual shape of a three-character word, a two-character word first (AB|C), over
# A|BC. Among the jieba words that the gold segmentation of bench/precision.py splits, AB|C is 3.6
# times as common. (The like prior for AB|CD among four characters, 20 times as common there,
# cost recall and removed no trap: bench/README.md.)
_USUAL_SHAPE = {3: math.log(3)}

# In _WordTable: a prefix of dictionary words that is no word itself (frequency 0 in jieba).
_PREFIX_ONLY = math.inf


class _WordTable(dict):
    """jieba's dictionary as word -> ``log(frequency) - log(total)``, or _PREFIX_ONLY."""

    def __init__(self, segmenter: jieba.Tokenizer) -> None:
        log_total = math.log(segmenter.total)
        super().__init__((word, math.log(count) - log_total if count else _PREFIX_ONLY)
                         for word, count in segmenter.FREQ.items())
        self.unknown = math.log(1) - log_total  # a character outside the dictionary, as jieba scores it


@functools.cache
def _word_table() -> _WordTable:
    """Return this process's word table for the segmenter's dictionary."""
    return _WordTable(_segmenter())


@functools.lru_cache(maxsize=100_000)
def _word_terms(word: str) -> tuple[tuple[_WordTerm, ...], tuple[_WordTerm, ...]]:
    """Return a segmented word's units and its index terms, the latter in unit order."""
    units: list[_WordTerm] = []
    terms: list[_WordTerm] = []
    _walk(word, 0, units, terms)
    terms.extend(_glossary_runs(units, terms))
    # Whoosh needs each term's positions in ascending order: emit unit by unit (parents first).
    terms.sort(key=lambda term: term[2])
    return tuple(units), tuple(terms)


def _walk(piece: str, offset: int, units: list[_WordTerm], terms: list[_WordTerm]) -> None:
    """Add piece and, recursively, the pieces of its best split; the leaves are its units."""
    terms.append((piece, offset, len(units)))
    pieces = _pieces(piece)
    if pieces is None:
        units.append((piece, offset, len(units)))
        return
    for part in pieces:
        _walk(part, offset, units, terms)
        offset += len(part)


def _glossary_runs(units: list[_WordTerm], terms: list[_WordTerm]) -> Iterator[_WordTerm]:
    """Yield the glossary's terms that are runs of two or more of a word's units but no node of its tree.

    A word's tree follows its likeliest split, which may group its units around a glossary term:
    清洁针具交换 is 清洁针具|交换, 清洁|针具, so 针具交换 would not be one of its terms, and a search
    for that term (or for the phrase of its units, found through it) would miss the notes that
    write 清洁针具交换. A glossary term is a word of the field wherever its units stand in a row; a
    run that cuts through a unit is not a run of units and is never added (a straddle).
    """
    if len(units) < 3:
        return
    known = {(text, offset) for text, offset, _number in terms}
    shipped = _glossary_words()
    longest = min(len(units), _longest_glossary_units())
    for first in range(len(units) - 1):
        start = units[first][1]
        for last in range(first + 1, min(len(units), first + longest)):
            text = "".join(unit[0] for unit in units[first:last + 1])
            if text in shipped and (text, start) not in known:
                yield text, start, first


def _pieces(word: str) -> list[str] | None:
    """Return the best split of word into shorter dictionary words and characters, or None.

    None when the word has fewer than three characters (its characters are found through the
    terms that contain them) or when no piece of the split is a word of two or more characters.
    """
    if len(word) < 3:
        return None
    number = _NUMBER.match(word) if word in _numeral_words() else None
    if number and number.end() < len(word):
        # A number and what it counts: 三十|分钟, 第一|次, never 三|十分钟 (十分 is "very").
        return [word[:number.end()], word[number.end():]]
    pieces = _best_split(word)
    return pieces if any(len(piece) > 1 for piece in pieces) else None


@functools.cache
def _glossary_words() -> frozenset[str]:
    """Return the shipped glossary's Chinese terms (those added to the segmenter's dictionary)."""
    return frozenset(glossary.chinese_terms())


@functools.cache
def _longest_glossary_units() -> int:
    """Return the most units a shipped glossary term has (its characters, at most)."""
    return max((len(term) for term in _glossary_words()), default=0)


@functools.cache
def _numeral_words() -> frozenset[str]:
    """Return the dictionary's words of three or more characters tagged as numerals (m, mq)."""
    words = set()
    with _segmenter().get_dict_file() as lines:
        for line in lines:
            fields = line.split()
            if len(fields) == 3 and fields[2] in (b"m", b"mq"):
                word = fields[0].decode("utf-8")
                if len(word) > 2:
                    words.add(word)
    return frozenset(words)


def _best_split(word: str) -> list[str]:
    """Return the likeliest split of word into shorter dictionary words and characters.

    jieba's most probable path through the word without the word itself, except that a word of
    three characters takes its usual shape, a two-character word and one more (西南|部, 第一|次),
    unless A|BC is clearly likelier. The plain unigram score knows nothing of word shapes and
    prefers any split with a common word in it (西|南部, 第|一次).
    """
    pieces = _route_without(word)
    shape = _USUAL_SHAPE.get(len(word))
    if shape is not None:
        usual = [word[:2], word[2:]]
        if (usual != pieces and all(len(piece) == 1 or _is_word(piece) for piece in usual)
                and _score(usual) + shape > _score(pieces)):
            return usual
    return pieces


def _is_word(text: str) -> bool:
    return _word_table().get(text, _PREFIX_ONLY) is not _PREFIX_ONLY


def _score(pieces: list[str]) -> float:
    """Return the log probability of a split into dictionary words and characters, as jieba scores it."""
    return sum(_char_score(piece) if len(piece) == 1 else _word_table()[piece] for piece in pieces)


def _char_score(char: str) -> float:
    """Return jieba's log probability of a single character."""
    table = _word_table()
    score = table.get(char, _PREFIX_ONLY)
    return table.unknown if score is _PREFIX_ONLY else score


def _route_without(word: str) -> list[str]:
    """Return jieba's most probable split of word into dictionary words and characters, not word."""
    segmenter = _segmenter()
    freq, log_total = segmenter.FREQ, math.log(segmenter.total)
    size = len(word)
    # best[end] = (log probability, start of last piece) of the best split of word[:end];
    # scored like jieba's own route: a piece weighs log(frequency or 1) - log(total).
    best: list[tuple[float, int]] = [(0.0, 0)] + [(-math.inf, 0)] * size
    for end in range(1, size + 1):
        for start in range(end):
            piece = word[start:end]
            count = freq.get(piece, 0)
            if end - start > 1 and (count <= 0 or (start, end) == (0, size)):
                continue
            score = best[start][0] + math.log(count or 1) - log_total
            if score > best[end][0]:
                best[end] = (score, start)
    pieces = []
    end = size
    while end:
        start = best[end][1]
        pieces.append(word[start:end])
        end = start
    return pieces[::-1]


def _segmenter() -> jieba.Tokenizer:
    """Return this process's jieba tokenizer, loading it with the glossary terms on first use."""
    global _segmenter_instance
    if _segmenter_instance is None:
        with _segmenter_lock:
            if _segmenter_instance is None:
                _segmenter_instance = _load_segmenter()
    return _segmenter_instance


def _load_segmenter() -> jieba.Tokenizer:
    """Load jieba's dictionary quietly and add the glossary's Chinese terms to it."""
    with warnings.catch_warnings():
        # jieba 0.42 imports pkg_resources (deprecated) and has invalid escapes: noise that is not
        # ours to fix, and that newer setuptools and Pythons print on every start.
        warnings.simplefilter("ignore")
        import jieba
    jieba.setLogLevel(logging.WARNING)  # it logs every dictionary load to stderr at DEBUG
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    # Shorter terms first, so that a compound's suggested frequency builds on its parts.
    for term in sorted(glossary.chinese_terms(), key=lambda term: (len(term), term)):
        tokenizer.add_word(term)
    return tokenizer


@functools.cache
def _abbreviations() -> frozenset[str]:
    """Return the lower-cased glossary abbreviations that stemming must leave alone."""
    return glossary.abbreviations()


@functools.cache
def _query_analyzer() -> CompositeAnalyzer:
    """Return a shared analyzer for query_tokens (analyzers hold no per-call state)."""
    return bilingual_analyzer()


# The glossary matches terms by the tokens a query would have; it is given them here rather than
# importing this module (which reads the glossary's terms for segmentation and stemming).
glossary.use_tokenizer(query_tokens)
