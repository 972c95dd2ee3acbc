"""``commentgate train``, ``evaluate`` and ``score``.

Bad input ends with a one-line message and exit status 1 (``click.ClickException``);
progress goes to standard error.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import click
import numpy as np

from classifier._data import LabelledData, read_labelled, read_scoring_lines
from classifier._features import CommentInput
from classifier._persistence import DATASET_CITATION, build_card, load_model, save_model
from classifier._reference import build_reference, save_reference
from classifier._spam_model import SpamModel
from classifier.exceptions import ClassifierError

__all__ = ["evaluate", "score", "train"]

_BATCH = 100


def _progress(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected failures into one-line click errors."""
    try:
        yield
    except ClassifierError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}") from None


def _data_paths(data: tuple[str, ...], more: tuple[str, ...]) -> list[str]:
    paths = [*data, *more]
    if not paths:
        raise click.UsageError("give at least one data file with --data")
    return paths


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_CITATIONS = {
    "youtube-spam-collection": ("YouTube Spam Collection v1", DATASET_CITATION),
    "sms-spam-collection": (
        "SMS Spam Collection v1",
        'T. A. Almeida, J. M. Gomez Hidalgo, A. Yamakami, "Contributions to the Study of SMS '
        'Spam Filtering: New Collection and Results", Proc. 11th ACM DocEng, 2011. UCI ML '
        "Repository (dataset 228), CC BY 4.0.",
    ),
}


def _data_reference(paths: list[str], data: LabelledData) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "files": [
            {"name": Path(p).name, "format": f, "sha256": _sha256(p)}
            for p, f in zip(paths, data.formats, strict=True)
        ],
        "comments": len(data),
        "spam": int(data.labels.sum()),
        "ham": int(len(data) - data.labels.sum()),
    }
    groups = data.source_groups
    sources = []
    for index, name in enumerate(data.source_names):
        labels = data.labels[groups == index]
        entry: dict[str, Any] = {
            "name": name,
            "comments": int(labels.size),
            "spam": int(labels.sum()),
        }
        if name in _CITATIONS:
            entry.update(dataset=_CITATIONS[name][0], license="CC BY 4.0")
            entry["citation"] = _CITATIONS[name][1]
        sources.append(entry)
    reference["sources"] = sources
    return reference


_DATA = click.option(
    "--data",
    "data",
    multiple=True,
    metavar="PATH [PATH ...]",
    help="CSV (YouTube Spam Collection or text,label) or JSON-lines files.",
)
_MORE = click.argument("more", nargs=-1, type=click.Path(), metavar="")


@click.command()
@_DATA
@_MORE
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Model file.")
@click.option("--seed", default=0, show_default=True, help="Seed of every random step.")
def train(data: tuple[str, ...], more: tuple[str, ...], out: str, seed: int) -> None:
    """Train a model on labelled comments and write it with its model card."""
    from classifier._training import train_model

    paths = _data_paths(data, more)
    with _errors():
        labelled = read_labelled(paths)
        _progress(f"read {len(labelled)} comments from {len(paths)} file(s)")
        started = time.perf_counter()
        result = train_model(labelled, random_state=seed, progress=_progress)
        command = f"commentgate train --data {' '.join(paths)} --out {out} --seed {seed}"
        card = build_card(
            result.pipeline,
            thresholds=result.thresholds,
            metrics=result.metrics,
            data=_data_reference(paths, labelled),
            params={**result.params, "seed": seed, "cv": result.cv},
            reproduce=command,
            view_thresholds=result.view_thresholds,
            extra={"selection": result.selection, "source_weights": result.weights},
        )
        if len(labelled.source_names) >= 2:
            _progress("leave one source out (transfer figures for the card) ...")
            card["metrics_transfer"] = _transfer(labelled, seed)
        model = SpamModel(result.pipeline, card)
        reference = build_reference(model, labelled, result.oof_probability, random_state=seed)
        card["reference_set"] = save_reference(reference, out)
        save_model(model, out)
    m = result.metrics
    _progress(f"trained in {time.perf_counter() - started:.1f}s")
    click.echo(
        f"model {model.version} -> {out}\n"
        f"out-of-fold: F1 {m['at_0.5']['f1']:.4f}  ROC AUC {m['roc_auc']:.4f}  "
        f"PR AUC {m['pr_auc']:.4f}\n"
        f"thresholds: publish_below {result.thresholds.publish_below}  "
        f"spam_above {result.thresholds.spam_above}  "
        f"band share {m['policy']['band_share']:.1%}"
    )


def _transfer(labelled: LabelledData, seed: int) -> list[dict[str, Any]]:
    """Per held-out data set, the figures of the method trained on the other ones."""
    from classifier._training import nested_cross_validate

    result = nested_cross_validate(labelled, by="source", random_state=seed)
    keep = ("n", "spam", "roc_auc", "pr_auc", "policy")
    return [
        {"held_out": fold["held_out"], **{key: fold[key] for key in keep}} for fold in result.folds
    ]


def _print_metrics(metrics: dict[str, Any]) -> None:
    rows = [("at 0.5", metrics["at_0.5"]), ("at spam_above", metrics["at_spam_above"])]
    click.echo(f"{'':15s} {'precision':>9s} {'recall':>7s} {'F1':>7s} {'MCC':>7s} {'ham FPR':>8s}")
    for name, row in rows:
        click.echo(
            f"{name:15s} {row['precision']:9.4f} {row['recall']:7.4f} {row['f1']:7.4f} "
            f"{row['mcc']:7.4f} {row['ham_fpr']:8.4f}"
        )
    policy = metrics["policy"]
    click.echo(
        f"ROC AUC {metrics['roc_auc']:.4f}  PR AUC {metrics['pr_auc']:.4f}  "
        f"(n={metrics['n']}, spam={metrics['spam']}, ham={metrics['ham']})"
    )
    click.echo(
        f"policy: ham filed as spam {policy['ham_filed_as_spam']:.2%}, spam published "
        f"{policy['spam_published']:.2%}, to moderators {policy['band_share']:.2%}"
    )


@click.command()
@_DATA
@_MORE
@click.option("--model", "model_path", type=click.Path(dir_okay=False), help="Model to evaluate.")
@click.option(
    "--cv",
    type=click.Choice(["leave-one-file-out", "leave-one-source-out"]),
    help="Nested cross-validation instead of a trained model: hold out each file, or each "
    "data set (its folder: train on the other sources, test on this one).",
)
@click.option(
    "--report",
    default="reports/evaluation",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for metrics.json and the PNG plots.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of every random step (--cv).")
def evaluate(
    data: tuple[str, ...],
    more: tuple[str, ...],
    model_path: str | None,
    cv: str | None,
    report: str,
    seed: int,
) -> None:
    """Measure a model (--model) or the training method (--cv) on labelled comments."""
    from classifier._evaluation import compute_metrics
    from classifier._plots import write_plots
    from classifier._training import nested_cross_validate

    if (model_path is None) == (cv is None):
        raise click.UsageError("give exactly one of --model MODEL or --cv PROTOCOL")
    paths = _data_paths(data, more)
    with _errors():
        labelled = read_labelled(paths)
        _progress(f"read {len(labelled)} comments from {len(paths)} file(s)")
        if len(np.unique(labelled.labels)) < 2:
            raise click.ClickException("evaluation needs both spam and ham comments")
        if model_path is not None:
            model = load_model(model_path)
            proba, agree = _score_all(model, labelled.comments)
            cuts = model.thresholds
            metrics = compute_metrics(
                labelled.labels, proba, cuts.publish_below, cuts.spam_above, views_agree=agree
            )
            metrics.update(model_version=model.version, protocol="held-out data, given model")
            publish_below, spam_above, title = cuts.publish_below, cuts.spam_above, model.version
            folds: list[dict[str, Any]] = []
        else:
            by = "source" if cv == "leave-one-source-out" else "file"
            result = nested_cross_validate(labelled, by=by, random_state=seed, progress=_progress)
            proba, metrics, folds = result.proba, result.metrics, result.folds
            publish_below = float(np.median(result.publish_below))
            spam_above = float(np.median(result.spam_above))
            title = f"nested {cv} (median fold thresholds)"
        folder = Path(report)
        folder.mkdir(parents=True, exist_ok=True)
        document = {"metrics": metrics, "folds": folds, "data": [Path(p).name for p in paths]}
        (folder / "metrics.json").write_text(json.dumps(document, indent=2) + "\n")
        y = labelled.labels
        plots = write_plots(
            folder, y, proba, publish_below=publish_below, spam_above=spam_above, title=title
        )
    for fold in folds:
        click.echo(
            f"fold {fold['held_out']:28s} F1 {fold['at_0.5']['f1']:.4f}  "
            f"ROC AUC {fold['roc_auc']:.4f}  chosen {fold['params']}"
        )
    _print_metrics(metrics)
    click.echo(f"report: {folder / 'metrics.json'}, " + ", ".join(p.name for p in plots))


def _score_all(
    model: SpamModel, comments: list[CommentInput]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    parts = [model.assess(comments[i : i + _BATCH]) for i in range(0, len(comments), _BATCH)]
    if not parts:
        return np.zeros(0), np.zeros(0, dtype=bool)
    return (
        np.concatenate([p.probability for p in parts]),
        np.concatenate([p.views_agree for p in parts]),
    )


@click.command()
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False),
    help="Model file (default: the shipped model).",
)
def score(model_path: str | None) -> None:
    """Score JSON lines from standard input: one {"spam_probability": p} line per comment.

    Each input line is a JSON object with the API's field names: ``body`` (``text`` is
    accepted too) and optional ``author_name``, ``author_url``, ``author_email``.
    """
    with _errors():
        model = load_model(model_path)
        comments = read_scoring_lines(sys.stdin)
        while batch := list(islice(comments, _BATCH)):
            for probability in model.predict_proba(batch):
                click.echo(json.dumps({"spam_probability": round(float(probability), 6)}))
