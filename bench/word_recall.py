"""Count the public notes that hold a word and how many of them a search for it finds (issue 17).

Run from the project root, on a corpus that ``bench/search.py`` built (it caches one per size)::

    .venv/bin/python bench/word_recall.py --instance /tmp/hub-bench/hub-20000-seed2026 针具交换 美沙酮

For each word: the published public notes whose title, summary or Markdown hold it (a plain
substring scan of the database, folded as the index folds text), the notes an anonymous search
finds with glossary expansion off (every page), those held but not found (with a few lines of
context, to read why), and those found that the scan does not see (held in sections' text, or in
Traditional characters). The worker runs once first: it rebuilds an index of another format.
Work on a copy of the corpus when comparing two index formats: a rebuild replaces the index.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import search as bench_search  # noqa: E402  (bench/search.py: the corpus's environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", type=Path, required=True, help="a corpus folder that bench/search.py built")
    parser.add_argument("--show", type=int, default=5, help="notes held but not found to print (default 5)")
    parser.add_argument("words", nargs="+")
    args = parser.parse_args()
    app = bench_search.make_app(args.instance)

    import sqlalchemy as sa

    import search_index
    from hub import worker
    from hub.extensions import db
    from hub.models import Note
    from search_index.folding import normalise

    with app.test_request_context():
        worker.run_once(app)
        texts = {note_id: normalise(" ".join(part or "" for part in parts))[0]
                 for note_id, *parts in db.session.execute(
                     sa.select(Note.id, Note.title, Note.summary, Note.body)
                     .where(Note.state == "published", Note.visibility == "public"))}
        for word in args.words:
            folded = normalise(word)[0]
            holding = {note_id for note_id, text in texts.items() if folded in text}
            found: set[int] = set()
            page = 1
            while True:
                result = search_index.search(word, viewer=bench_search.anonymous(), expand=False, page=page,
                                             per_page=50, load="hits")
                found.update(note.id for note in result.notes)
                if len(result.notes) < 50:
                    break
                page += 1
            missed = sorted(holding - found)
            print(f"{word}: {len(holding)} notes hold it, search finds {len(found & holding)} of them "
                  f"({len(missed)} missed), {len(found - holding)} more found elsewhere in their text")
            for note_id in missed[:args.show]:
                at = texts[note_id].index(folded)
                print(f"  missed #{note_id}: …{texts[note_id][max(0, at - 12):at + len(folded) + 12]}…")


if __name__ == "__main__":
    main()
