"""The prototype feature: a query's cosine with the normalised sum of an entry's wordings' vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from knowledge_base import features as F
from knowledge_base.indexes import IndexConfig, IndexSet
from knowledge_base.models import FaqEntry

DIM = 4
_E = np.eye(DIM, dtype=np.float32)


def _unit(vector: np.ndarray) -> np.ndarray:
    out: np.ndarray = (vector / np.linalg.norm(vector)).astype(np.float32)
    return out


# Entry "both" has two orthogonal wordings; the query means what they share (their sum), nearer to neither than to
# the single wording of "near". The answers point exactly at the query: they must not count as wordings.
VECTORS = {
    "alpha one": _E[0],
    "alpha two": _E[1],
    "beta": _unit(_E[0] + _E[1] + 0.5 * _E[2]),
    "answer of both": _unit(_E[0] + _E[1]),
    "answer of near": _unit(_E[0] + _E[1]),
}
QUERY = _unit(_E[0] + _E[1])
ON = IndexConfig(gloss=False, prototypes=True)
ENTRIES = [
    FaqEntry(id="both", question="alpha one", answer="answer of both", category="c", alt_questions=("alpha two",)),
    FaqEntry(id="near", question="beta", answer="answer of near", category="c"),
]


def _embed(texts: Sequence[str]) -> np.ndarray:
    return np.vstack([VECTORS[t] for t in texts]) if texts else np.zeros((0, DIM), np.float32)


def _features(config: IndexConfig, exclude: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    ix = IndexSet.empty(config, DIM).add(ENTRIES, _embed)
    found = F.score_candidates(ix, "alpha", F.QueryVectors(QUERY), exclude=exclude)
    names = F.feature_names(config)
    return {
        ENTRIES[int(slot)].id: dict(zip(names, row.tolist(), strict=True))
        for slot, row in zip(found.slots, found.matrix, strict=True)
    }


def test_the_prototype_is_the_normalised_sum_of_the_question_side_wordings() -> None:
    found = _features(ON)
    both, near = found["both"], found["near"]
    assert near["d_cos"] > both["d_cos"]  # the best single wording is the other entry's ...
    assert both["d_cos"] == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert both["d_proto"] > near["d_proto"]  # ... the prototype is this entry's: exactly the query
    assert both["d_proto"] == pytest.approx(1.0, abs=1e-6)  # the answer (also the query's direction) is not a wording
    assert near["d_proto"] == pytest.approx(near["d_cos"], abs=1e-6)  # one wording: the prototype is that wording
    assert both["d_proto_gap"] == pytest.approx(1.0 - near["d_proto"], abs=1e-6)
    assert near["d_proto_gap"] == pytest.approx(near["d_proto"] - 1.0, abs=1e-6)


def test_a_hidden_wording_leaves_the_prototype() -> None:
    # leave-one-out calibration hides a wording: the prototype is then made of the others alone
    found = _features(ON, exclude=np.asarray([1]))  # "alpha two"
    assert found["both"]["d_proto"] == pytest.approx(np.sqrt(0.5), abs=1e-6)
    # both wordings hidden: found through its answer, it has no prototype (the answer is not a wording)
    hidden = _features(ON, exclude=np.asarray([0, 1]))
    assert hidden["both"]["d_proto"] == 0.0


def test_prototypes_are_an_opt_in_kept_in_the_snapshot() -> None:
    assert not IndexConfig().prototypes  # off by default (README: measured, not adopted)
    assert not {"d_proto", "d_proto_gap"} & set(F.feature_names(IndexConfig()))
    assert "d_proto" not in _features(IndexConfig(gloss=False))["both"]
    on = IndexConfig(prototypes=True)
    assert {"d_proto", "d_proto_gap"} <= set(F.feature_names(on))
    assert IndexConfig.from_json(on.to_json()) == on
    before = {k: v for k, v in on.to_json().items() if k != "prototypes"}
    assert not IndexConfig.from_json(before).prototypes  # their fusion models were calibrated without it


def test_kb_seeds_measures_the_prototypes_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import evals.kb_seeds as seeds

    configs: list[IndexConfig] = []

    def run(*args: object) -> dict[str, dict[str, list[float]]]:
        configs.append(args[-1])  # type: ignore[arg-type]
        return {}

    monkeypatch.setattr(seeds, "run", run)
    for flag, on in (([], False), (["--prototypes"], True)):
        assert seeds.main(["--suite", "exam", *flag]) == 0
        assert configs[-1].prototypes is on
