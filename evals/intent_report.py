"""Markdown rendering of the intent benchmark report (evals/reports/intents.md)."""

from __future__ import annotations

from typing import Any

TARGETS = {
    "banking77": "≥ 93.7 accuracy",
    "clinc150": "≥ 95 in-scope, ≥ 65 OOS recall",
    "demo": "≥ 95 in-scope, ≥ 85 OOS recall",
}

INTRO = """# Intent classification: public benchmarks and demo intents

Model (`assistant/intents`): the shared sentence embedding (bundled all-MiniLM-L6-v2 via ONNX Runtime, English-only)
concatenated with TF-IDF over character 1–4-grams, jieba word uni/bigrams and pinyin syllables, one class-balanced
linear SVM, temperature scaling fitted by likelihood on held-out scores, and an out-of-scope threshold on the
calibrated confidence. Held-out scores come from cross-validation on the training data, or from a published
validation split where one exists (CLINC150). The threshold maximises in-scope accuracy + ¼ × OOS recall on the
held-out scores when they contain out-of-scope examples; without any it is 0.5 (reject what is more likely
wrong than right). CLINC150, which has a validation split to calibrate on, is also run with an encoder of its own:
the embedding model fine-tuned on the training split for 2 epochs with a large-margin cosine (CosFace) loss, then
served with ONNX Runtime in place of the shared embedding (`--fine-tune-epochs`); the demo and BANKING77 models use
the shared embedding. No figure below was tuned on a test split. Regenerate: `python -m evals.intent_benchmarks
[--only banking77,clinc150,xsid,demo] [--ablation]` (embeddings are cached under data/cache/intents); development
figures: `--split dev` ([intents_dev.md](intents_dev.md)).

Disclosure: the weight of OOS recall (¼) and the number of cross-validation folds (10 up to 2,000 examples, 5 up to
20,000) were revised once, after a first full run whose test figures had been printed (weight ⅓, 5/3 folds: CLINC150
94.00 / 80.00 with the validation threshold, demo test 95.56 / 79.69). The revision rests on validation evidence only:
with ⅓ the threshold chosen on CLINC150's validation split left in-scope accuracy on that same split below the 95%
target (94.83, closed-set 96.80; ¼ gives 95.17), and fewer folds bias cross-validated thresholds upwards.
Latency depends on the load of the shared 2-core machine, so each figure carries the load average at the time.

Second round (this report): the threshold rule was left as it is; the changes were chosen on development splits only
and the test splits were scored once, by the run below, with no model or data changed afterwards. (That run skipped
the feature ablations of CLINC150, xSID-zh and the demo through a bug in the benchmark script, since fixed; they
were computed afterwards on the training data alone and merged into the report, and the details were reordered.) (1)
The demo training data grew from 651 to 1,959 rows (1,395 in-scope, 564 out-of-scope), written without opening the
test file; the last batch of out-of-scope rows broadened categories (device support, payment apps) after development
misses in them had been read, so the development set's OOS recall is optimistic. (2) The fine-tuned CLINC150
encoder: on CLINC150's validation split, calibrating on one half and scoring the other (both ways), closed-set
accuracy rose from 96.8 to 97.3, in-scope accuracy at the rule's threshold from 95.1 to 95.6 and OOS recall from 85
to 93 (2 epochs; 1 epoch gave 97.2 / 95.2 / 91). It costs about 11 CPU-minutes of training (one torch thread) and,
in a chat turn, one more embedding; on the Chinese demo intents it did not help (closed-set on the development set
94.1 instead of 95.7, as the model is English-only), so the demo model does not use it. Tried on development splits
and not adopted, as no gain exceeded the noise: logistic regression instead of the SVM, an SVM + LR ensemble, kNN
class similarities on the embedding, Nyström RBF features of the embedding, other block weights and min_df, a
heavier `oos` class weight, lexical novelty features (share of unseen characters and words, nearest-neighbour
similarity), and a confidence combining the calibrated probability with the nearest-neighbour distance.
"""


DEV_INTRO = """# Intent classification: development figures

The same models as in [intents.md](intents.md), scored on development splits instead of test splits, for use while
changing the model or the demo intents: BANKING77 is trained on 85% of train.csv and scored on a stratified 15%
hold-out; CLINC150 is trained on train + oos_train, calibrated on a stratified half of val + oos_val and scored on
the other half; the demo intents are scored on `evals/data/intents_dev.csv`, written for development (its rows may
be read and tuned to, unlike those of the test file). Regenerate: `python -m evals.intent_benchmarks --split dev`.
"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _summary(results: dict[str, Any], published: dict[str, list[dict[str, Any]]], dev: bool) -> list[str]:
    if dev:  # published figures are test figures: not comparable with development splits
        published = {}
    lines = [
        "## Summary",
        "",
        "| benchmark | ours | published | target |",
        "|---|---|---|---|",
    ]
    bank = results.get("banking77")
    if bank:
        pub = "; ".join(f"{p['system']} {p['accuracy']}" for p in published.get("banking77", []))
        lines.append(
            f"| BANKING77 {'accuracy on 15% of train' if dev else 'test accuracy'} "
            f"| **{_pct(bank['test']['closed_set_accuracy'])}** | {pub or '–'} "
            f"| {TARGETS['banking77']} |"
        )
    calibration = "half of val + oos_val" if dev else "val + oos_val"
    clinc_runs = (
        ("clinc150", f"fine-tuned encoder, threshold on {calibration}"),
        ("clinc150_frozen", f"shared embedding, threshold on {calibration}"),
        ("clinc150_cv", "shared embedding, threshold by CV on train"),
    )
    for key, label in clinc_runs:
        res = results.get(key)
        if res:
            test = res["test"]
            pub = "; ".join(
                f"{p['system']} {p['in_scope_accuracy']} / {p['oos_recall']}" for p in published.get("clinc150", [])
            )
            lines.append(
                f"| CLINC150 in-scope acc. / OOS recall ({label}) | **{_pct(test['in_scope_accuracy'])} / "
                f"{_pct(test['oos_recall'])}** | {pub or '–'} | {TARGETS['clinc150']} |"
            )
    xsid = results.get("xsid")
    if xsid:
        lines.append(
            f"| xSID-zh accuracy (train zh.valid, 300 ex.; test zh.test) | **{_pct(xsid['test']['accuracy'])}** "
            f"(closed-set {_pct(xsid['test']['closed_set_accuracy'])}) | – | – |"
        )
    demo = results.get("demo")
    if demo:
        cv = demo["held_out_metrics"].get("cross-validation", {})
        lines.append(
            f"| demo intents, cross-validation | {_pct(cv.get('in_scope_accuracy'))} / "
            f"{_pct(cv.get('oos_recall'))} (closed-set {_pct(cv.get('closed_set_accuracy'))}) | – "
            f"| {TARGETS['demo']} |"
        )
        if demo.get("test_file"):
            test = demo["test"]
            lines.append(
                f"| demo intents, {'dev set' if dev else 'independent test'} `{demo['test_file']}` "
                f"| **{_pct(test['in_scope_accuracy'])} / "
                f"{_pct(test['oos_recall'])}** (closed-set {_pct(test['closed_set_accuracy'])}) | – "
                f"| {TARGETS['demo']} |"
            )
    return lines


def _detail(res: dict[str, Any], split: str) -> list[str]:
    test, seconds, latency = res["test"], res["training_seconds"], res["latency"]
    cal = res["calibration"]
    alone = latency.get("classifier_only_median_ms", "?")
    embed_note = "estimated from a timed sample" if seconds["embedding_estimated"] else "measured"
    if latency.get("own_encoder"):
        speed = (
            f"- latency of one prediction incl. the embedding by its own encoder: median {latency['median_ms']} ms, "
            f"p95 {latency['p95_ms']} ms; in a chat turn (the shared vector given, so the model embeds once more): "
            f"median {alone} ms"
        )
    else:
        speed = (
            f"- latency of one prediction incl. embedding: median {latency['median_ms']} ms, p95 {latency['p95_ms']} "
            f"ms; with a one-thread ONNX session: median {latency.get('single_thread_median_ms', '?')} ms; "
            f"classifier alone (vector given, the server's path): median {alone} ms"
        )
    lines = [
        f"### {res['name']}",
        "",
        f"- data: {res['train_examples']} training examples, {res['intents']} intents; "
        f"{res['test_examples']} {split} examples ({test['oos_examples']} out-of-scope)",
        f"- calibration on {cal['source']}: temperature {cal['temperature']:.4f}, threshold {res['threshold']} "
        f"({cal['threshold_rule']})",
        f"- held-out figures used for calibration: {res['held_out_metrics']}",
        f"- {split}: accuracy {_pct(test['accuracy'])}, macro-F1 {_pct(test['macro_f1'])}, in-scope accuracy "
        f"{_pct(test['in_scope_accuracy'])} (closed-set {_pct(test['closed_set_accuracy'])}, in-scope rejected "
        f"{_pct(test['in_scope_rejected'])}), OOS recall {_pct(test['oos_recall'])}",
        f"- training time: {seconds['total']} s = fit + calibration {seconds['fit']} s + embedding "
        f"{seconds['embedding']} s ({embed_note})",
        f"{speed} ({latency['samples']} texts one at a time; machine load average {latency.get('load_average', '?')})",
    ]
    if res.get("encoder"):
        enc = res["encoder"]
        lines.insert(
            3,
            f"- encoder: {enc['base_model']} fine-tuned on the training split for {enc['epochs']:g} epochs "
            f"(large-margin cosine loss, margin {enc['margin']}, scale {enc['scale']}, learning rate "
            f"{enc['learning_rate']}, batch {enc['batch_size']}), served with ONNX Runtime",
        )
    if test.get("unknown_intents"):
        lines.append(f"- {split} intents absent from training (always errors): {', '.join(test['unknown_intents'])}")
    if test["confused"]:
        pairs = ", ".join(f"{g} → {p} ({c})" for g, p, c in test["confused"][:8])
        lines.append(f"- most confused: {pairs}")
    if res.get("test_operating_points"):
        points = ", ".join(
            f"{p['threshold']:.1f}: {_pct(p['in_scope_accuracy'])} / {_pct(p['oos_recall'])}"
            for p in res["test_operating_points"]
        )
        lines.append(
            f"- trade-off on the {split} set at other thresholds (in-scope acc. / OOS recall; information only, "
            f"not used to choose): {points}"
        )
    if res.get("ablation"):
        ablation = res["ablation"]
        cells = ", ".join(f"{name} {_pct(acc)}" for name, acc in ablation["closed_set_accuracy"].items())
        lines.append(f"- feature ablation, closed-set accuracy on {ablation['method']}: {cells}")
    lines.append(f"- run at {res.get('run_at', '?')}")
    return [*lines, ""]


def render(report: dict[str, Any]) -> str:
    """The markdown report."""
    results = {k: v for k, v in report["results"].items() if v}
    machine = report["machine"]
    dev = report.get("split") == "dev"
    lines = [
        DEV_INTRO if dev else INTRO,
        f"Machine: {machine['cpus']} CPU(s) ({machine['processor']}), Python {machine['python']}; "
        f"embedding model `{report['embedding_model']}`. Figures are percentages.",
        "",
        *_summary(results, report["published"], dev),
        "",
        "In-scope accuracy counts a rejected in-scope query as an error (as in Larson et al.); closed-set accuracy is "
        "the top-ranked intent without rejection (the BANKING77 metric: that benchmark has no out-of-scope queries).",
        "",
        "## Details",
        "",
    ]
    for res in results.values():
        lines.extend(_detail(res, "dev" if dev else "test"))
    if report.get("missing"):
        lines.append(f"Skipped (data missing): {', '.join(report['missing'])}.")
    return "\n".join(lines).rstrip() + "\n"
