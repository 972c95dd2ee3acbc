"""Nested leave-one-video-out quality of the classifier, beside a TF-IDF + LR baseline.

Run: ``.venv/bin/python benchmarks/classifier_quality.py [--data-dir DIR]``

Train on four videos of the YouTube Spam Collection, test on the fifth, pool the five test
folds. Hyperparameters and thresholds are chosen inside the four training files only
(one-file-out within them). The baseline (TF-IDF word 1-2-grams + logistic regression,
defaults) is measured in the same run on the same folds. Targets: F1 >= 0.95, ROC AUC >= 0.99.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import make_pipeline

from classifier._data import read_labelled
from classifier._training import nested_cross_validate

DEFAULT_DIR = (
    Path(__file__).resolve().parent.parent.parent / "shared/datasets/youtube-spam-collection"
)


def figures(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    pred = (proba >= 0.5).astype(int)
    return {
        "F1": f1_score(y, pred),
        "ROC AUC": roc_auc_score(y, proba),
        "PR AUC": average_precision_score(y, proba),
        "MCC": matthews_corrcoef(y, pred),
        "precision": precision_score(y, pred),
        "recall": recall_score(y, pred),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    files = sorted(args.data_dir.glob("*.csv"))
    if not files:
        sys.exit(f"no CSV files in {args.data_dir}")
    data = read_labelled(files)
    started = time.perf_counter()
    result = nested_cross_validate(data, progress=lambda m: print(m, file=sys.stderr))
    elapsed = time.perf_counter() - started

    y, texts = data.labels, [c.text for c in data.comments]
    baseline = np.zeros(len(y))
    base_folds = {}
    for group in np.unique(data.groups):
        train, test = data.groups != group, data.groups == group
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000)
        )
        model.fit([t for t, k in zip(texts, train, strict=True) if k], y[train])
        baseline[test] = model.predict_proba([t for t, k in zip(texts, test, strict=True) if k])[
            :, 1
        ]
        base_folds[data.sources[int(group)]] = figures(y[test], baseline[test])

    ours, base = figures(y, result.proba), figures(y, baseline)
    print(f"\nnested leave-one-video-out, {len(y)} comments, {elapsed:.0f}s")
    print(f"{'pooled':12s} {'commentgate':>12s} {'TF-IDF+LR':>10s} {'target':>8s}")
    targets = {"F1": ">= 0.95", "ROC AUC": ">= 0.99"}
    for key in ours:
        print(f"{key:12s} {ours[key]:12.4f} {base[key]:10.4f} {targets.get(key, ''):>8s}")
    policy = result.metrics["policy"]
    print(
        f"policy (each fold's own thresholds): ham filed as spam "
        f"{policy['ham_filed_as_spam']:.2%}, spam published {policy['spam_published']:.2%}, "
        f"to moderators {policy['band_share']:.2%}"
    )
    print(
        f"\n{'held-out video':26s} {'F1':>7s} {'AUC':>7s} {'base F1':>8s} {'base AUC':>8s}  chosen"
    )
    for fold in result.folds:
        b = base_folds[fold["held_out"]]
        print(
            f"{fold['held_out']:26s} {fold['at_0.5']['f1']:7.4f} {fold['roc_auc']:7.4f} "
            f"{b['F1']:8.4f} {b['ROC AUC']:8.4f}  {fold['params']}"
        )


if __name__ == "__main__":
    main()
