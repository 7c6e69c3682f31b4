"""Search precision in Chinese: does a query find the word, or characters that straddle two words?

Run from the project root::

    .venv/bin/python bench/precision.py --conllu /path/to/zh_gsdsimp-ud-dev.conllu --conllu /path/to/zh_gsdsimp-ud-test.conllu
    .venv/bin/python bench/precision.py --conllu ... --before 3aa7ee1      # beside the search of a git revision
    .venv/bin/python bench/precision.py --conllu ... --show 20             # labelled occurrences to review by hand

The development set is text segmented by people, not by the analyzer under test:

- ``--conllu FILE`` (repeatable): a Universal Dependencies treebank in CoNLL-U; the figures in
  bench/README.md use UD Chinese GSDSimp (Wikipedia, CC BY-SA 4.0: not news, unlike the owners'
  held-out set). Its files are not in this repository; see bench/README.md for where to get them.
- ``bench/data/practice_notes.txt`` (always): practice-note sentences in this project's field,
  written and segmented by hand, one sentence a line, words separated by spaces.

Each sentence is one document. Every occurrence of a query string in a document is labelled with
the gold segmentation: a *word* (it starts and ends at word boundaries), *inside* a longer word
(美沙酮 in 美沙酮维持治疗: neither counted for nor against), or *straddling* a boundary (大力 in
加大|力度). A document is *relevant* when the query occurs there as a word, a *trap* when every
occurrence straddles. Queries are gold words of Han characters that are relevant somewhere and
(from two characters on) a trap somewhere, drawn per length (1, 2, 3, 4+); one-character queries
cannot straddle, only their recall is measured. Queries are split in two halves by a hash of
their text: change the method on the "tune" half, read the "check" half to see it generalise.

Per query: recall = relevant documents found / relevant documents; trap rate = trap documents
found / trap documents. Printed: their means per length and half, for the hub's search (the
query as a person types it into the search box: ``search_index.query``, glossary expansion on,
or off with ``--no-expand``), for jieba's precise mode (the query's words among the document's
words, as a phrase) and for jieba's search mode (every query word among the document's search-mode
words), and, with ``--before REV``, for the hub's search at a git revision (its ``search_index``
run in a child process).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import subprocess
import sys
import tempfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # appended, so that a PYTHONPATH variant of search_index wins

PRACTICE_NOTES = ROOT / "bench" / "data" / "practice_notes.txt"
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
BUCKETS = ("1", "2", "3", "4+")


@dataclass
class Document:
    """One gold-segmented sentence: its text and the character offsets of its word boundaries."""

    text: str
    boundaries: frozenset[int]
    source: str


def read_conllu(path: Path) -> list[list[str]]:
    """Return the sentences of a CoNLL-U file as lists of word forms (multi-word ranges skipped)."""
    sentences, words = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append(words)
            words = []
        elif not line.startswith("#"):
            number, form = line.split("\t")[:2]
            if number.isdigit():
                words.append(form)
    if words:
        sentences.append(words)
    return sentences


def read_practice_notes(path: Path) -> list[list[str]]:
    """Return the hand-segmented practice-note sentences (words separated by spaces)."""
    return [line.split() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def document(words: list[str], source: str) -> Document:
    """Join gold words into a document, remembering where each word starts and ends.

    Traditional characters are folded to Simplified one by one (as the hub folds text, so that
    queries drawn from the words are the ones a reader of either script would type).
    """
    words = [_simplified(word) for word in words]
    boundaries, offset = {0}, 0
    for word in words:
        offset += len(word)
        boundaries.add(offset)
    return Document("".join(words), frozenset(boundaries), source)


def _simplified(word: str) -> str:
    import opencc

    global _T2S
    if _T2S is None:
        _T2S = opencc.OpenCC("t2s")
    folded = _T2S.convert(word)
    return folded if len(folded) == len(word) else "".join(_T2S.convert(char) for char in word)


_T2S = None


def label(doc: Document, query: str) -> str | None:
    """Return "word", "trap" or "inside" for a document by its occurrences of query, None if none."""
    kinds = set()
    start = doc.text.find(query)
    while start >= 0:
        end = start + len(query)
        if start in doc.boundaries and end in doc.boundaries:
            kinds.add("word")
        elif any(b in doc.boundaries for b in range(start + 1, end)):
            kinds.add("straddle")
        else:
            kinds.add("inside")
        start = doc.text.find(query, start + 1)
    if not kinds:
        return None
    if "word" in kinds:
        return "word"
    return "trap" if kinds == {"straddle"} else "inside"


def bucket(query: str) -> str:
    return str(len(query)) if len(query) < 4 else "4+"


def half(query: str) -> str:
    """Split queries in two stable halves: one to tune on, one to check on."""
    return "tune" if zlib.crc32(query.encode("utf-8")) % 2 == 0 else "check"


def choose_queries(docs: list[Document], per_bucket: int, seed: int) -> dict[str, dict[str, set[int]]]:
    """Return query -> {"relevant": documents, "trap": documents}, up to per_bucket per length."""
    candidates = {word for doc in docs for word in _gold_words(doc) if _HAN.fullmatch(word)}
    candidates |= _dictionary_compounds(docs)
    labelled = {}
    for query in sorted(candidates):
        relevant, traps = set(), set()
        for number, doc in enumerate(docs):
            kind = label(doc, query)
            if kind == "word":
                relevant.add(number)
            elif kind == "trap":
                traps.add(number)
        if relevant and (traps or len(query) == 1):
            labelled[query] = {"relevant": relevant, "trap": traps}
    rng = random.Random(seed)
    chosen = {}
    for name in BUCKETS:
        pool = [query for query in sorted(labelled) if bucket(query) == name]
        rng.shuffle(pool)
        chosen.update((query, labelled[query]) for query in pool[:per_bucket])
    return chosen


def _dictionary_compounds(docs: list[Document]) -> set[str]:
    """Return runs of two or three gold words that jieba's dictionary holds as one word.

    Gold standards split compounds that people search for as one word (GSD: 市场|经济); such a
    run is a query too, found as a word where its ends are word boundaries.
    """
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    frequencies = jieba.dt.FREQ
    found = set()
    for doc in docs:
        words = _gold_words(doc)
        for size in (2, 3):
            for first in range(len(words) - size + 1):
                run = "".join(words[first:first + size])
                if len(run) >= 3 and frequencies.get(run, 0) > 0 and _HAN.fullmatch(run):
                    found.add(run)
    return found


def _gold_words(doc: Document) -> list[str]:
    ends = sorted(doc.boundaries)
    return [doc.text[start:end] for start, end in zip(ends, ends[1:])]


# --- what each method finds -----------------------------------------------------------------------


def hub_matches(docs: list[Document], queries: list[str], *, expand: bool) -> dict[str, list[int]]:
    """Return, per query, the documents the hub's search finds (the whole result, unranked)."""
    from whoosh.filedb.filestore import RamStorage

    from search_index.engine import Snapshot
    from search_index.glossary import default_glossary
    from search_index.postings import HubCodec
    from search_index.query import build, parse
    from search_index.schema import build_schema

    index = RamStorage().create_index(build_schema())
    writer = index.writer(codec=HubCodec())
    published = dt.datetime(2024, 1, 1)
    for number, doc in enumerate(docs):
        writer.add_document(id=str(number), kind="note", title="", summary="", body=doc.text,
                            visibility="public", published=published)
    writer.commit()
    found = {}
    with index.searcher() as searcher:
        snapshot = Snapshot(searcher.ixreader)
        ids = [int(fields["id"]) for fields in searcher.all_stored_fields()]
        glossary = default_glossary() if expand else None
        for query in queries:
            plan = build(parse(query), glossary=glossary, mode="and").plan
            result = snapshot.run(plan, public_only=False, filters={}, limit=len(docs), newest=False, facets=False)
            found[query] = sorted(ids[docnum] for docnum in result.docnums)
    return found


def jieba_matches(docs: list[Document], queries: list[str], *, mode: str) -> dict[str, list[int]]:
    """Return, per query, the documents jieba's precise or search mode finds."""
    import jieba

    jieba.setLogLevel(60)
    if mode == "precise":
        doc_words = [jieba.lcut(doc.text) for doc in docs]
        found = {}
        for query in queries:
            wanted = jieba.lcut(query)
            size = len(wanted)
            found[query] = [number for number, words in enumerate(doc_words)
                            if any(words[i:i + size] == wanted for i in range(len(words) - size + 1))]
        return found
    doc_words = [set(jieba.lcut_for_search(doc.text)) for doc in docs]
    return {query: [number for number, words in enumerate(doc_words) if set(jieba.lcut_for_search(query)) <= words]
            for query in queries}


# --- scoring and printing -----------------------------------------------------------------------


def score(chosen: dict[str, dict[str, set[int]]], found: dict[str, list[int]]) -> dict[tuple[str, str], tuple]:
    """Return (half, length) -> (queries, mean recall, queries with traps, mean trap rate)."""
    recalls, traps = defaultdict(list), defaultdict(list)
    for query, labels in chosen.items():
        hits = set(found[query])
        for key in ((half(query), bucket(query)), (half(query), "all"), ("both", bucket(query)), ("both", "all")):
            recalls[key].append(len(hits & labels["relevant"]) / len(labels["relevant"]))
            if labels["trap"]:
                traps[key].append(len(hits & labels["trap"]) / len(labels["trap"]))
    return {key: (len(recalls[key]), _mean(recalls[key]), len(traps[key]), _mean(traps[key])) for key in recalls}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def print_table(results: dict[str, dict], chosen: dict[str, dict[str, set[int]]]) -> None:
    """Print recall and trap rate per half and query length for every method."""
    methods = list(results)
    print("| half | length | queries (with traps) | " + " | ".join(f"{m} recall / traps" for m in methods) + " |")
    print("|---|---|---|" + "---|" * len(methods))
    for part in ("tune", "check", "both"):
        for name in (*BUCKETS, "all"):
            row = {m: results[m].get((part, name)) for m in methods}
            first = next(iter(row.values()))
            if first is None:
                continue
            cells = [f"{_pct(r[1])} / {_pct(r[3])}" for r in row.values()]
            print(f"| {part} | {name} | {first[0]} ({first[2]}) | " + " | ".join(cells) + " |")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def show(docs: list[Document], chosen: dict[str, dict[str, set[int]]], found: dict[str, list[int]], count: int,
         seed: int) -> None:
    """Print labelled documents, the gold segmentation with the query marked, to review by hand."""
    rng = random.Random(seed)
    queries = [q for q in sorted(chosen) if chosen[q]["trap"]]
    for query in rng.sample(queries, min(count, len(queries))):
        labels = chosen[query]
        for kind in ("relevant", "trap"):
            number = rng.choice(sorted(labels[kind]))
            doc = docs[number]
            words = "|".join(_gold_words(doc)).replace(query, f"[{query}]")
            hit = "found" if number in set(found[query]) else "not found"
            print(f"{query}\t{kind}\t{hit}\t{words[:160]}")


def load_documents(conllu: list[str]) -> list[Document]:
    """Return the practice-note sentences and the sentences of every CoNLL-U file, as documents."""
    docs = [document(words, "practice notes") for words in read_practice_notes(PRACTICE_NOTES)]
    for path in conllu:
        docs += [document(words, Path(path).name) for words in read_conllu(Path(path))]
    return docs


def evaluate(args: argparse.Namespace) -> tuple[list[Document], dict, dict[str, dict[str, list[int]]]]:
    """Load the documents, choose the queries and run every method; return them all."""
    docs = load_documents(args.conllu)
    chosen = choose_queries(docs, args.queries, args.seed)
    queries = sorted(chosen)
    found = {"hub": hub_matches(docs, queries, expand=args.expand)}
    if args.before:
        found[f"hub at {args.before}"] = _hub_at(args.before, args)
    if args.jieba:
        found["jieba precise"] = jieba_matches(docs, queries, mode="precise")
        found["jieba search"] = jieba_matches(docs, queries, mode="search")
    return docs, chosen, found


def _hub_at(revision: str, args: argparse.Namespace) -> dict[str, list[int]]:
    """Run the hub's search of a git revision (its search_index package) in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "search_index"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        command = [sys.executable, __file__, "--child", *sum((["--conllu", p] for p in args.conllu), []),
                   "--queries", str(args.queries), "--seed", str(args.seed)]
        if not args.expand:
            command.append("--no-expand")
        output = subprocess.run(command, check=True, capture_output=True, text=True,
                                env={"PYTHONPATH": folder, "PATH": "/usr/bin:/bin"}).stdout
    return json.loads(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conllu", action="append", default=[], help="a gold-segmented CoNLL-U file (repeatable)")
    parser.add_argument("--queries", type=int, default=150, help="queries per length at most (default 150)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-expand", dest="expand", action="store_false", help="glossary expansion off")
    parser.add_argument("--before", help="also measure the hub's search at this git revision")
    parser.add_argument("--no-jieba", dest="jieba", action="store_false", help="leave out jieba's modes")
    parser.add_argument("--show", type=int, default=0, help="print this many labelled pairs to review by hand")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        docs = load_documents(args.conllu)
        chosen = choose_queries(docs, args.queries, args.seed)
        print(json.dumps(hub_matches(docs, sorted(chosen), expand=args.expand)))
        return
    docs, chosen, found = evaluate(args)
    sources = defaultdict(int)
    for doc in docs:
        sources[doc.source] += 1
    print(f"documents: {len(docs)} sentences ({', '.join(f'{n} from {s}' for s, n in sources.items())}), "
          f"{sum(len(d.text) for d in docs)} characters; queries: {len(chosen)}; glossary expansion "
          f"{'on' if args.expand else 'off'}")
    print()
    print_table({name: score(chosen, hits) for name, hits in found.items()}, chosen)
    if args.show:
        print()
        show(docs, chosen, found["hub"], args.show, args.seed)


if __name__ == "__main__":
    main()
