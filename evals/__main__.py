"""`python -m evals <command> [options]`: quality evals, benchmarks and reports (each command is a module's main)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# command -> (module whose `main(argv) -> int` runs it, one-line help). Add new commands here.
COMMANDS: dict[str, tuple[str, str]] = {
    "report": ("evals.report", "the weekly support review (analytics summary) as markdown"),
    "gaps": ("evals.gap_eval", "knowledge-gap clustering: threshold from the dev split, purity on the test set"),
    "intents": ("evals.intent_benchmarks", "BANKING77, CLINC150, xSID-zh and demo intents beside published figures"),
    "kb": ("evals.kb_eval", "FAQ retrieval: top-1, recall@3, MRR, out-of-scope rejection"),
    "dialogues": ("evals.dialogue_replay", "replay labelled dialogues through the HTTP API"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command's module, passing the remaining arguments through."""
    parser = argparse.ArgumentParser(
        prog="python -m evals",
        description="Quality evals and reports.",
        epilog="\n".join(f"  {name:<8} {text}" for name, (_, text) in COMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=sorted(COMMANDS), help="what to run (see below)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="options of the command (try `<command> --help`)")
    args = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    code: int = module.main(args.args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
