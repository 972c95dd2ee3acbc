from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier import load_model
from classifier.cli import evaluate, score, train

from .conftest import synthetic, write_jsonl


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("data")
    out = []
    for i in range(3):
        comments, labels = synthetic(80, seed=i)
        out.append(write_jsonl(folder / f"part{i}.jsonl", comments, labels))
    return out


@pytest.fixture(scope="module")
def trained(files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "model.skops"
    result = CliRunner().invoke(train, ["--data", *map(str, files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_train_happy_path(trained: Path) -> None:
    model = load_model(trained)
    card = model.card
    assert card["training_data"]["comments"] == 240
    assert card["reproduce"].startswith("commentgate train --data ")
    assert "leave-one-group-out" in card["hyperparameters"]["cv"]


def test_train_progress_goes_to_stderr(files: list[Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        train, ["--data", str(files[0]), "--out", str(tmp_path / "m.skops")]
    )
    assert result.exit_code == 0
    assert "candidate" in result.stderr
    assert "candidate" not in result.stdout
    assert "thresholds:" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("foo,bar\n1,2\n", "unknown columns"), ("", "empty file")],
)
def test_train_bad_input(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(train, ["--data", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_train_one_class_only(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,label\na,spam\nb,spam\nc,spam\n")
    result = CliRunner().invoke(train, ["--data", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "at least 2 spam and 2 ham" in result.output


def test_evaluate_with_model(files: list[Path], trained: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = CliRunner().invoke(
        evaluate, ["--data", str(files[1]), "--model", str(trained), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    for word in ("precision", "ROC AUC", "PR AUC", "MCC", "ham FPR"):
        assert word in result.stdout
    metrics = json.loads((report / "metrics.json").read_text())["metrics"]
    assert metrics["roc_auc"] > 0.9
    for png in ("roc.png", "precision_recall.png", "score_histogram.png"):
        assert (report / png).read_bytes().startswith(b"\x89PNG")


def test_evaluate_nested_cv(files: list[Path], tmp_path: Path) -> None:
    report = tmp_path / "cv"
    result = CliRunner().invoke(
        evaluate,
        ["--data", *map(str, files), "--cv", "leave-one-file-out", "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((report / "metrics.json").read_text())
    assert len(document["folds"]) == 3
    assert result.stdout.count("fold part") == 3


def test_evaluate_bad_input(files: list[Path], trained: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(
        evaluate, ["--data", str(files[0]), "--model", str(trained), "--cv", "leave-one-file-out"]
    )
    assert both.exit_code != 0
    assert "exactly one" in both.output
    one_file = runner.invoke(
        evaluate, ["--data", str(files[0]), "--cv", "leave-one-file-out", "--report", str(tmp_path)]
    )
    assert one_file.exit_code == 1
    assert "at least two files of data" in one_file.output
    pickled = tmp_path / "p.skops"
    pickled.write_bytes(b"\x80\x04K\x01.")
    refused = runner.invoke(evaluate, ["--data", str(files[0]), "--model", str(pickled)])
    assert refused.exit_code == 1
    assert "pickle" in refused.output
    assert "Traceback" not in refused.output


def test_score_happy_path(trained: Path) -> None:
    lines = [
        {"text": "FREE gift cards!!! visit bit.ly/zz now"},
        {"text": "i love the guitar in this video", "author_name": "Ann"},
        {"text": "x", "author_url": "http://a.com", "author_email": "a@b.com"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = CliRunner().invoke(score, ["--model", str(trained)], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 3
    assert all(set(o) == {"spam_probability"} for o in out)
    assert out[0]["spam_probability"] > 0.5 > out[1]["spam_probability"]


def test_score_uses_the_default_model() -> None:
    result = CliRunner().invoke(score, [], input='{"text": "hello"}\n')
    assert result.exit_code == 0
    assert 0 <= json.loads(result.stdout)["spam_probability"] <= 1


def test_score_takes_the_apis_field_names(trained: Path) -> None:
    lines = '{"body": "FREE gift cards!!! visit bit.ly/zz now", "author_name": "Ann"}\n'
    as_text = lines.replace('"body"', '"text"')
    runner = CliRunner()
    by_body = runner.invoke(score, ["--model", str(trained)], input=lines)
    by_text = runner.invoke(score, ["--model", str(trained)], input=as_text)
    assert by_body.exit_code == 0, by_body.output
    assert by_body.stdout == by_text.stdout
    assert "body" in runner.invoke(score, ["--help"]).output


def test_score_order_across_batches(trained: Path) -> None:
    texts = [f"check out my channel bit.ly/{i}" if i % 7 == 0 else "nice" for i in range(250)]
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    result = CliRunner().invoke(score, ["--model", str(trained)], input=stdin)
    probs = [json.loads(line)["spam_probability"] for line in result.stdout.splitlines()]
    assert len(probs) == 250
    assert all((p > 0.5) == (i % 7 == 0) for i, p in enumerate(probs))


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('{"text": "ok"}\n{broken\n', "line 2: invalid JSON"),
        ('{"author_name": "x"}\n', "'body' (or 'text') is missing"),
    ],
)
def test_score_bad_input(trained: Path, stdin: str, message: str) -> None:
    result = CliRunner().invoke(score, ["--model", str(trained)], input=stdin)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_score_missing_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(score, ["--model", str(tmp_path / "x.skops")], input="")
    assert result.exit_code == 1
    assert "no such model file" in result.output
