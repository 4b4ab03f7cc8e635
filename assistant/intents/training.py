"""Training: fit features and a linear SVM, calibrate on out-of-fold (or validation) scores, pick the threshold."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from assistant.embedding import Embedder, embed_all
from assistant.errors import InvalidInput
from assistant.intents.calibration import ThresholdChoice, choose_threshold, fit_temperature, softmax
from assistant.intents.data import Example, data_checksum, validate_for_training
from assistant.intents.encoder import FineTunedEncoder, FineTuning, fine_tune
from assistant.intents.features import Featurizer
from assistant.intents.glossing import gloss_vectors, uses_gloss
from assistant.intents.model import HybridIntentClassifier
from assistant.intents.types import OOS

Progress = Callable[[str], None]
# Chosen on validation splits of the BANKING77 and CLINC150 training data (never their test splits).
DEFAULT_BLOCKS: dict[str, dict[str, float]] = {
    "char": {"min_df": 2, "weight": 1.0},
    "word": {"min_df": 1, "weight": 1.0},
    "pinyin": {"min_df": 2, "weight": 0.5},
}
MISSING_CLASS_SCORE = -10.0  # score of a class a cross-validation fold never saw (margins are about ±1)


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of the hybrid classifier."""

    blocks: dict[str, dict[str, float]] = field(default_factory=lambda: dict(DEFAULT_BLOCKS))
    embedding_weight: float = 2.0
    c: float = 1.0
    folds: int | None = None  # None: 10 folds up to 2,000 examples, 5 up to 20,000, else 3
    seed: int = 0
    # Epochs of fine-tuning an intent-specific encoder (encoder.py) before the linear model; 0: the shared
    # embedding as is. Needs a validation set: cross-validation would have to fine-tune once per fold.
    fine_tune_epochs: float = 0.0
    # Append each text's English-gloss vector to its text vector (glossing.py). None: when the examples hold
    # Chinese (and no encoder is fine-tuned), train both ways and keep the better held-out in-scope accuracy.
    gloss: bool | None = None


def fit_linear(
    texts: Sequence[str], vectors: np.ndarray, y: np.ndarray, n_classes: int, config: TrainingConfig
) -> tuple[Featurizer, np.ndarray, np.ndarray]:
    """Fit the featurizer and a class-balanced linear SVM; weights as (features × n_classes, n_classes)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    featurizer = Featurizer.fit(texts, config.blocks, config.embedding_weight)
    features = featurizer.transform(texts, vectors)
    present = np.unique(y)
    with warnings.catch_warnings():
        # An SVM stopped at max_iter is still a good classifier; the warning would only alarm users.
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm = LinearSVC(C=config.c, class_weight="balanced", max_iter=5000, random_state=config.seed)
        svm.fit(features, y)
    coef, bias = np.asarray(svm.coef_), np.asarray(svm.intercept_)
    if len(present) == 2:  # a binary SVM keeps one row: score the first class with its negation
        coef, bias = np.vstack([-coef[0], coef[0]]), np.array([-bias[0], bias[0]])
    wide = np.zeros((coef.shape[1], n_classes), dtype=np.float32)
    intercept = np.full(n_classes, MISSING_CLASS_SCORE, dtype=np.float32)
    wide[:, present] = coef.T
    intercept[present] = bias
    return featurizer, wide, intercept


def _n_folds(config: TrainingConfig, n: int) -> int:
    # Fold models see (k-1)/k of the data and are less confident than the final model, which biases the
    # threshold upwards; more folds where they are cheap keep that bias small.
    return config.folds or (10 if n <= 2000 else 5 if n <= 20_000 else 3)


def _folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Stratified fold ids; classes with fewer examples than folds simply miss from some folds."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=np.int64)
    offset = 0
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return fold


def out_of_fold_scores(
    texts: list[str], vectors: np.ndarray, y: np.ndarray, n_classes: int, config: TrainingConfig, say: Progress
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of every example by a model trained on the other folds, and which rows got scores."""
    k = _n_folds(config, len(y))
    fold = _folds(y, k, config.seed)
    scores = np.zeros((len(y), n_classes), dtype=np.float32)
    scored = np.zeros(len(y), dtype=bool)
    for f in range(k):
        train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        if len(test) == 0 or len(np.unique(y[train])) < 2:
            continue  # tiny data: this fold cannot train a classifier
        say(f"  fold {f + 1}/{k}")
        featurizer, coef, intercept = fit_linear([texts[i] for i in train], vectors[train], y[train], n_classes, config)
        features = featurizer.transform([texts[i] for i in test], vectors[test])
        scores[test] = np.asarray(features @ coef) + intercept
        scored[test] = True
    if not scored.any():
        raise InvalidInput("too few examples to calibrate: give each intent at least 2 examples")
    return scores, scored


def decisions(probs: np.ndarray, y: np.ndarray, oos_col: int | None) -> dict[str, np.ndarray]:
    """Top in-scope intent, its confidence, whether it is right, and whether the `oos` class won."""
    in_probs = probs.copy()
    if oos_col is not None:
        in_probs[:, oos_col] = -1.0
    top = in_probs.argmax(axis=1)
    conf = in_probs.max(axis=1)
    pred_oos = probs[:, oos_col] > conf if oos_col is not None else np.zeros(len(y), dtype=bool)
    return {"confidence": conf, "correct": top == y, "predicted_oos": pred_oos}


def _metrics(d: dict[str, np.ndarray], is_oos: np.ndarray, threshold: float) -> dict[str, float]:
    rejected = (d["confidence"] < threshold) | d["predicted_oos"]
    in_scope = ~is_oos
    out: dict[str, float] = {}
    if in_scope.any():
        out["in_scope_accuracy"] = round(float((d["correct"] & ~rejected)[in_scope].mean()), 4)
        out["closed_set_accuracy"] = round(float(d["correct"][in_scope].mean()), 4)
        out["in_scope_rejected"] = round(float(rejected[in_scope].mean()), 4)
    if is_oos.any():
        out["oos_recall"] = round(float(rejected[is_oos].mean()), 4)
    return out


@dataclass
class _Fitted:
    """A trained and calibrated candidate model, and its held-out figures."""

    featurizer: Featurizer
    coef: np.ndarray
    intercept: np.ndarray
    temperature: float
    choice: ThresholdChoice
    metrics: dict[str, float]
    source: str
    glossed: bool = False

    @property
    def score(self) -> float:
        """What candidates are compared by: held-out in-scope accuracy (rejected in-scope rows count as wrong)."""
        return self.metrics.get("in_scope_accuracy", self.metrics.get("closed_set_accuracy", 0.0))


def _fit_and_calibrate(
    texts: list[str],
    dense: np.ndarray,
    y: np.ndarray,
    classes: tuple[str, ...],
    oos_col: int | None,
    config: TrainingConfig,
    validation: Sequence[Example] | None,
    v_dense: np.ndarray | None,
    say: Progress,
) -> _Fitted:
    """Fit on every example, then calibrate temperature and threshold on the validation set or out-of-fold."""
    say(f"training on {len(texts)} examples, {len(classes)} classes")
    featurizer, coef, intercept = fit_linear(texts, dense, y, len(classes), config)
    if validation and v_dense is not None:
        say(f"calibrating on {len(validation)} validation examples")
        index = {c: i for i, c in enumerate(classes)}
        v_texts = [ex.text for ex in validation]
        scores = np.asarray(featurizer.transform(v_texts, v_dense) @ coef) + intercept
        v_y = np.array([index.get(ex.intent, -1) for ex in validation])  # -1: `oos` the model has no class for
        v_is_oos = np.array([ex.intent == OOS for ex in validation])
        source = "validation"
    else:
        say("cross-validating for calibration")
        scores, scored = out_of_fold_scores(texts, dense, y, len(classes), config, say)
        v_y, v_is_oos = y[scored], (y == (-1 if oos_col is None else oos_col))[scored]
        source = "cross-validation"
        scores = scores[scored]
    fit_rows = v_y >= 0
    temperature = fit_temperature(scores[fit_rows], v_y[fit_rows])
    held_out = decisions(softmax(scores / temperature), v_y, oos_col)
    choice = choose_threshold(held_out["confidence"], held_out["correct"], v_is_oos, held_out["predicted_oos"])
    metrics = _metrics(held_out, v_is_oos, choice.threshold)
    return _Fitted(featurizer, coef, intercept, temperature, choice, metrics, source)


def train_intent_model(
    examples: Sequence[Example],
    embedder: Embedder,
    *,
    vectors: np.ndarray | None = None,
    validation: Sequence[Example] | None = None,
    validation_vectors: np.ndarray | None = None,
    config: TrainingConfig | None = None,
    progress: Progress | None = None,
) -> HybridIntentClassifier:
    """Train, calibrate and threshold a classifier (on `validation` if given, else by cross-validation).

    `vectors` / `validation_vectors` are the embedder's rows for the texts, when the caller already has them.
    """
    config = config or TrainingConfig()
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    examples = validate_for_training(examples)
    texts = [ex.text for ex in examples]
    classes = tuple(sorted({ex.intent for ex in examples}))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[ex.intent] for ex in examples])
    oos_col = index.get(OOS)
    if vectors is None:
        say(f"embedding {len(texts)} examples with {embedder.name}")
        vectors = embed_all(embedder, texts)
    if vectors.shape[0] != len(texts):
        raise InvalidInput(f"{vectors.shape[0]} vectors for {len(texts)} examples")
    encoder: FineTunedEncoder | None = None
    tuning = FineTuning(epochs=config.fine_tune_epochs)
    if config.fine_tune_epochs > 0:
        if not validation:
            raise InvalidInput("fine-tuning the encoder needs a validation set to calibrate on (--validation)")
        say(f"fine-tuning {embedder.name} for {config.fine_tune_epochs:g} epoch(s) on {len(texts)} examples")
        encoder = fine_tune(embedder.name, texts, y, len(classes), vectors, tuning, config.seed, say)
        vectors = embed_all(encoder, texts)
    v_texts = [ex.text for ex in validation or ()]
    v_vectors: np.ndarray | None = None
    if validation:
        unknown = sorted({ex.intent for ex in validation} - set(classes) - {OOS})
        if unknown:
            raise InvalidInput(f"validation intents missing from training: {', '.join(unknown)}")
        if encoder is not None:
            v_vectors = embed_all(encoder, v_texts)
        elif validation_vectors is not None:
            v_vectors = validation_vectors
        else:
            v_vectors = embed_all(embedder, v_texts)
    # Whether to read glosses: as configured, or (None) both ways when the data holds Chinese, keeping the model
    # with the better held-out in-scope accuracy (the plain one on a tie).
    if encoder is not None or config.gloss is False or (config.gloss is None and not uses_gloss(texts)):
        options = [False]
    else:
        options = [True] if config.gloss else [False, True]
    best: _Fitted | None = None
    tried: dict[str, dict[str, float]] = {}
    for glossed in options:
        dense, v_dense = vectors, v_vectors
        if glossed:
            say(f"embedding the English glosses of {len(texts) + len(v_texts)} examples")
            dense = np.hstack([vectors, gloss_vectors(embedder, texts, vectors)])
            if v_dense is not None:
                v_dense = np.hstack([v_dense, gloss_vectors(embedder, v_texts, v_dense)])
        fitted = _fit_and_calibrate(texts, dense, y, classes, oos_col, config, validation, v_dense, say)
        fitted.glossed = glossed
        tried["gloss" if glossed else "plain"] = fitted.metrics
        if len(options) > 1:
            say(f"{'with' if glossed else 'without'} glosses: {fitted.metrics}")
        if best is None or fitted.score > best.score:
            best = fitted
    assert best is not None
    featurizer, coef, intercept, glossed = best.featurizer, best.coef, best.intercept, best.glossed
    temperature, choice, metrics, source = best.temperature, best.choice, best.metrics, best.source
    seconds = time.perf_counter() - started
    say(f"threshold {choice.threshold:.3f} ({choice.rule}, on {source}); {metrics}; {seconds:.1f}s")
    manifest: dict[str, Any] = {
        "embedding_model": embedder.name,
        "embedding_dimension": int(vectors.shape[1]),
        "data_checksum": data_checksum(examples),
        "examples": len(examples),
        "oos_examples": int((y == oos_col).sum()) if oos_col is not None else 0,
        "gloss_vectors": glossed,
        **({"gloss_choice": tried} if len(tried) > 1 else {}),
        "calibration": {
            "source": source,
            "folds": None if validation else _n_folds(config, len(y)),
            "temperature": temperature,
            "threshold": choice.threshold,
            "threshold_rule": choice.rule,
        },
        "metrics": {source: metrics},
        "config": asdict(config),
        "training_seconds": round(seconds, 2),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if encoder is not None:
        manifest["encoder"] = {"name": encoder.name, "base_model": embedder.name, **asdict(tuning)}
    return HybridIntentClassifier(
        classes, featurizer, coef, intercept, temperature, choice.threshold, embedder, manifest, encoder, glossed
    )
