"""Evaluation of intent predictions: accuracy, macro-F1, in-scope accuracy, out-of-scope recall, confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.intents.types import OOS, IntentPrediction


@dataclass(frozen=True)
class Evaluation:
    """Figures as the intent literature reports them: in-scope accuracy and out-of-scope recall apart."""

    examples: int
    accuracy: float  # over all examples, `oos` counted as a label
    macro_f1: float  # over the gold labels, `oos` included when present
    in_scope_accuracy: float | None  # in-scope examples predicted with their intent (rejections count as errors)
    closed_set_accuracy: float | None  # top-ranked in-scope intent, ignoring rejection (classic benchmark accuracy)
    in_scope_rejected: float | None  # in-scope examples rejected as out of scope
    oos_recall: float | None  # out-of-scope examples rejected; None when the set has none
    oos_examples: int
    confused: list[tuple[str, str, int]] = field(default_factory=list)  # (gold, predicted, count), worst first
    unknown_intents: list[str] = field(default_factory=list)  # gold intents the model does not know

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    labels = sorted(set(gold))
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    scores = []
    for label in labels:
        denom = 2 * tp[label] + fp[label] + fn[label]
        scores.append(2 * tp[label] / denom if denom else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def evaluate(
    gold: Sequence[str], predictions: Sequence[IntentPrediction], known: Sequence[str] = (), top_confusions: int = 10
) -> Evaluation:
    """Compare predictions with gold intents (`oos` for out-of-scope); `known` lists the model's intents."""
    pred = [p.intent for p in predictions]
    n = len(gold)
    in_idx = [i for i, g in enumerate(gold) if g != OOS]
    oos_idx = [i for i, g in enumerate(gold) if g == OOS]

    def share(hits: int, total: int) -> float | None:
        return round(hits / total, 4) if total else None

    confused = Counter((gold[i], pred[i]) for i in range(n) if gold[i] != pred[i])
    return Evaluation(
        examples=n,
        accuracy=round(sum(g == p for g, p in zip(gold, pred, strict=True)) / n, 4) if n else 0.0,
        macro_f1=round(_f1(gold, pred), 4),
        in_scope_accuracy=share(sum(pred[i] == gold[i] for i in in_idx), len(in_idx)),
        closed_set_accuracy=share(
            sum(bool(predictions[i].ranking) and predictions[i].ranking[0][0] == gold[i] for i in in_idx), len(in_idx)
        ),
        in_scope_rejected=share(sum(pred[i] == OOS for i in in_idx), len(in_idx)),
        oos_recall=share(sum(pred[i] == OOS for i in oos_idx), len(oos_idx)),
        oos_examples=len(oos_idx),
        confused=[(g, p, c) for (g, p), c in confused.most_common(top_confusions)],
        unknown_intents=sorted({gold[i] for i in in_idx} - set(known)) if known else [],
    )
