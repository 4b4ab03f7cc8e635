"""`python -m assistant.prepare`: build the demo (or configured) knowledge base and intent model when missing."""

from __future__ import annotations

import sys
import time

from assistant.content import ContentManager
from assistant.embedding import CachingEmbedder
from assistant.errors import AssistantError
from assistant.settings import get_settings
from assistant.st_embedder import load_embedder


def main() -> int:
    """Prepare content with progress on stderr; exit 2 with a message on bad content."""
    settings = get_settings()
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[prepare] {message}", file=sys.stderr, flush=True)

    try:
        say(f"loading the embedding model {settings.embedding_model} ({settings.embedding_backend})")
        embedder = load_embedder(
            settings.embedding_model, settings.embedding_backend, cache_dir=settings.model_cache_dir
        )
        content = ContentManager(settings, CachingEmbedder(embedder))
        content.prepare(progress=True, say=say)
    except AssistantError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    say(f"ready in {elapsed:.1f} s: KB {content.kb.version}, intents in {settings.intent_model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
