"""Regenerate the shipped fusion prior (`knowledge_base/data/prior_fusion.json`, see `knowledge_base.prior`).

`python -m evals.kb_prior [--faq demo/faq] [--out FILE] [--seed N]`: calibrates the default index on a FAQ rich in
alternative questions and writes its plain and follow-up models.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from knowledge_base.prior import MIN_ALTERNATIVES_SHARE, PRIOR_FILE, alternatives_share, prior_document

ROOT = Path(__file__).resolve().parent.parent


def main(argv: Sequence[str] | None = None) -> int:
    """Calibrate on the given FAQ with the default index and write the prior file."""
    from assistant.st_embedder import BUNDLED_MODEL, load_embedder
    from knowledge_base.builder import build_knowledge_base
    from knowledge_base.sources import load_faq

    parser = argparse.ArgumentParser(prog="python -m evals.kb_prior", description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=Path, default=Path("demo/faq"))
    parser.add_argument("--out", type=Path, default=ROOT / "knowledge_base" / PRIOR_FILE)
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    embedder = load_embedder(BUNDLED_MODEL, "onnx", cache_dir=args.model_cache)
    entries = load_faq([args.faq])
    if alternatives_share(entries) < MIN_ALTERNATIVES_SHARE:
        print(f"error: {args.faq} has too few alternative questions to calibrate a prior", file=sys.stderr)
        return 2
    kb = build_knowledge_base(entries, embedder, seed=args.seed)
    document = prior_document(kb.models.plain, kb.models.context, embedder.name, str(args.faq), args.seed)
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} (calibrated on {len(entries)} entries of {args.faq}, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
