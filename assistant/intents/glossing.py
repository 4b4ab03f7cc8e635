"""The English-gloss view of intent examples: Chinese read through the dictionary, for an English-only encoder.

The bundled encoder maps most Chinese characters to `[UNK]`, so a Chinese message's own vector says little about
what it asks. Its English gloss (the knowledge base's `gloss`: each word's dictionary senses, function words
dropped) is text the encoder reads: "能退钱吗" and "申请退款" both become "refund"-like phrases. The classifier
appends the gloss vector to the text vector when its training data holds Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.embedding import Embedder, embed_all
from assistant.text import has_cjk
from knowledge_base.analysis import gloss


def uses_gloss(texts: Sequence[str]) -> bool:
    """Whether a model trained on `texts` reads glosses: when any of them holds Chinese."""
    return any(has_cjk(t) for t in texts)


def gloss_vectors(embedder: Embedder, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """The gloss vector of each text; a text without Chinese is its own gloss, so its row of `vectors` is reused.

    The knowledge base embeds the same gloss texts for its searches, so a served turn finds them in the
    embedding cache (or passes them in) instead of calling the model again.
    """
    out = np.array(vectors, dtype=np.float32, copy=True).reshape(len(texts), -1)
    pending = [(i, g) for i, t in enumerate(texts) if (g := gloss(t)) != t]
    if pending:
        out[[i for i, _ in pending]] = embed_all(embedder, [g for _, g in pending])
    return out


def text_and_gloss_vectors(embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Both views of a few texts in one model call (the classifier's own path, when nothing is given)."""
    glosses = [gloss(t) for t in texts]
    extra = list(dict.fromkeys(g for g, t in zip(glosses, texts, strict=True) if g != t))
    rows = embedder.embed([*texts, *extra])
    text = np.asarray(rows[: len(texts)], dtype=np.float32)
    by_gloss = dict(zip(extra, rows[len(texts) :], strict=True))
    glossed = np.array(text, copy=True)
    for i, (g, t) in enumerate(zip(glosses, texts, strict=True)):
        if g != t:
            glossed[i] = by_gloss[g]
    return text, glossed
