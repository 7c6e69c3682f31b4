"""Pinyin readings of Han characters, from pypinyin imported the first time one is asked for.

Importing pypinyin loads its dictionaries (47,000 phrases, 41,000 characters) and builds its phrase
segmenter: about 0.4 s of CPU and 55 MB in every process, and slower garbage collections after. Only
slugs (a name in pinyin) and redaction (a name removed in one script, looked for in the other) read
pinyin, so the hub imports it then and not at start: a CLI command, a web process, the worker or a
test that reads no pinyin never pays for it (figures: ``bench/startup.py`` in bench/README.md).

Thread-safe without a lock of our own: a thread that asks while another is importing pypinyin waits
on Python's import lock for that one import, then reads the same dictionaries. Nothing is warmed at
start: gunicorn does not preload the app (``hub/gunicorn_conf.py``), so each process imports the hub
itself and there is no parent to warm once; the first request in a process that reads pinyin (a
moderator's redaction of a name) pays about 0.7 s once, where warming would charge every process.
The readings are pypinyin's own, phrases included (重庆 is chong qing): the same as an eager import.
"""
from __future__ import annotations


def syllables(text: str) -> list[str]:
    """Return the toneless pinyin of each Han character of ``text``, phrases read as phrases (重庆: chong, qing)."""
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(text, style=Style.NORMAL)


def readings(character: str) -> list[str]:
    """Return every toneless reading of one Han character (曾: zeng, ceng), the commonest first."""
    from pypinyin import Style, pinyin

    return pinyin(character, style=Style.NORMAL, heteronym=True)[0]


def every_reading() -> set[str]:
    """Return every toneless reading pypinyin knows for any character (ü written v)."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    return set(map(to_normal, {reading for value in pinyin_dict.values() for reading in value.split(",")}))
