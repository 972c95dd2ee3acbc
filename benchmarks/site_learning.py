"""Few-label learning on a site unlike the training data: base, site layer, campaign memory.

Run: ``.venv/bin/python benchmarks/site_learning.py [--datasets DIR] [--seeds 5]``

A site the base model never saw is played by the other source: a base model trained on
the YouTube collection meets the SMS collection as its "site", and the reverse. A
moderator labels ``n`` of the site's comments (half spam, half genuine, drawn at random;
10, 25, 50 and 100 labels), and every method is measured on the site's *other* comments,
averaged over ``--seeds`` draws:

* ``base``: the shared base model alone;
* ``before``: the project's previous learning (continue training the base model with
  ``partial_fit``, 10 epochs, a lone moderator's labels weighing 0.5, no replay), which
  by default did not run at all before its feedback holdout held 10 comments of each
  class;
* ``site layer``: the site's layer on top of the base (what ``update_model`` trains),
  with the share of updates the guard refused, and the decision at the site's own
  thresholds: genuine comments filed as spam, spam published;
* ``campaign``: campaign memory after the labelled spam was marked: share of the site's
  other spam caught at once (and genuine comments wrongly matched).

Then the poisoning attack: one moderator inverting 150 labels, in one call and spread
over three updates, against the guard.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier import CampaignIndex, campaign_signatures
from classifier._data import LabelledData, read_labelled
from classifier._reference import build_reference
from classifier._site_learning import judge_site_model, train_site_model
from classifier._training import train_model

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared/datasets"
COUNTS = (10, 25, 50, 100)


def draw(y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spam = rng.choice(np.flatnonzero(y == 1), n // 2, replace=False)
    ham = rng.choice(np.flatnonzero(y == 0), n - n // 2, replace=False)
    labelled = np.concatenate([spam, ham])
    return labelled, np.setdiff1d(np.arange(len(y)), labelled)


def campaign(
    signatures: list[Any], y: np.ndarray, labelled: np.ndarray, rest: np.ndarray
) -> tuple[float, float]:
    index = CampaignIndex()
    for i in labelled:
        if signatures[i] is not None:
            index.add(str(i), signatures[i], int(y[i]))
    hits = np.asarray(
        [(m := index.match(signatures[i])) is not None and not m.conflict for i in rest]
    )
    return float(hits[y[rest] == 1].mean()), float(hits[y[rest] == 0].mean())


def scenario(base_data: LabelledData, site: LabelledData, name: str, seeds: int) -> None:
    started = time.perf_counter()
    trained = train_model(base_data)
    base = trained.model({"model_version": "cg-bench", "thresholds": {}})
    reference = build_reference(base, base_data, trained.oof_probability)
    features = base.features(site.comments)
    y = site.labels
    base_p = base.assess_features(features).probability
    signatures = campaign_signatures([c.text for c in site.comments])
    print(f"\n== {name}: base trained in {time.perf_counter() - started:.0f} s ==")
    print(
        f"{'labels':>6s} {'base AUC':>9s} {'before':>7s} {'site':>6s} {'refused':>8s} "
        f"{'ham->spam':>9s} {'spam pub':>9s} {'to mods':>8s} {'base to mods':>12s} "
        f"{'campaign caught':>16s} {'ham matched':>11s}"
    )
    for n in COUNTS:
        rows: dict[str, list[float]] = {
            k: []
            for k in (
                "base",
                "before",
                "site",
                "refused",
                "hs",
                "sp",
                "band",
                "base_band",
                "cc",
                "cm",
            )
        }
        for seed in range(seeds):
            labelled, rest = draw(y, n, seed)
            rows["base"].append(roc_auc_score(y[rest], base_p[rest]))
            old = base.updated(
                [site.comments[i] for i in labelled],
                y[labelled],
                sample_weight=np.full(n, 0.5 * min(1.0, 100 / n)),
                epochs=10,
            )
            old_p = old.predict_proba([site.comments[i] for i in rest])
            rows["before"].append(roc_auc_score(y[rest], old_p))
            weights = np.full(n, 0.5)
            training = train_site_model(
                base, features[labelled], y[labelled], weights, site="bench"
            )
            verdict = judge_site_model(base, training, reference=reference, max_drop=0.05)
            rows["refused"].append(0.0 if verdict.promote else 1.0)
            model = training.model
            assessment = model.assess_features(features[rest])
            p = assessment.probability
            rows["site"].append(roc_auc_score(y[rest], p))
            cuts = model.thresholds
            filed = (p >= cuts.spam_above) & assessment.views_agree
            rows["hs"].append(float(filed[y[rest] == 0].mean()))
            rows["sp"].append(float((p < cuts.publish_below)[y[rest] == 1].mean()))
            rows["band"].append(float(((p >= cuts.publish_below) & ~filed).mean()))
            base_rest = base.assess_features(features[rest])
            base_filed = (base_rest.probability >= base.thresholds.spam_above) & (
                base_rest.views_agree
            )
            held = (base_rest.probability >= base.thresholds.publish_below) & ~base_filed
            rows["base_band"].append(float(held.mean()))
            caught, matched = campaign(signatures, y, labelled, rest)
            rows["cc"].append(caught)
            rows["cm"].append(matched)
        m = {k: float(np.mean(v)) for k, v in rows.items()}
        print(
            f"{n:6d} {m['base']:9.3f} {m['before']:7.3f} {m['site']:6.3f} {m['refused']:8.0%} "
            f"{m['hs']:9.2%} {m['sp']:9.2%} {m['band']:8.1%} {m['base_band']:12.1%} "
            f"{m['cc']:16.1%} {m['cm']:11.2%}"
        )
    poison(base, reference, features, y, name)


def poison(base: Any, reference: Any, features: Any, y: np.ndarray, name: str) -> None:
    labelled, _ = draw(y, 150, 99)
    inverted = 1 - y[labelled]
    weights = np.full(len(labelled), 0.5)
    training = train_site_model(base, features[labelled], inverted, weights, site="bench")
    verdict = judge_site_model(base, training, reference=reference, max_drop=0.05)
    ref = verdict.figures["reference"]
    print(
        f"poisoning ({name}): 150 inverted labels from one moderator -> "
        f"{'PROMOTED' if verdict.promote else 'refused'} {verdict.refusals}; reference AUC "
        f"{ref['base']['roc_auc']:.3f} -> {ref['candidate']['roc_auc']:.3f}"
    )


def run(datasets: Path, seeds: int) -> None:
    """Both directions: each source plays the site of a base trained on the other."""
    youtube = sorted((datasets / "youtube-spam-collection").glob("*.csv"))
    sms = datasets / "sms-spam-collection" / "SMSSpamCollection.tsv"
    if not youtube or not sms.is_file():
        sys.exit(f"the shared data sets are not under {datasets}")
    videos, messages = read_labelled(youtube), read_labelled([sms])
    scenario(videos, messages, "base trained on YouTube, site = SMS", seeds)
    scenario(messages, videos, "base trained on SMS, site = YouTube", seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    run(args.datasets, args.seeds)


if __name__ == "__main__":
    main()
