from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier._data import html_to_text, read_labelled, read_scoring_lines
from classifier.exceptions import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_youtube_format(tmp_path: Path) -> None:
    path = write(
        tmp_path / "yt.csv",
        "COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n"
        'a,Some One,2015-01-01,"great <b>tune</b> &amp; beat<br />yes\ufeff",0\n'
        "b,Spammer,2015-01-01,visit x.com,1\n",
    )
    data = read_labelled([path])
    assert data.labels.tolist() == [0, 1]
    assert data.comments[0].text == "great tune & beat yes\ufeff"
    assert data.comments[0].author_name == "Some One"
    assert data.formats == ["youtube"]


def test_generic_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path = write(tmp_path / "g.csv", "text,label,author_email\nhello,ham,a@b.com\nbuy,SPAM,\n")
    jsonl = write(
        tmp_path / "g.jsonl",
        json.dumps({"text": "x", "label": 1, "author_url": "u.com"})
        + "\n\n"
        + json.dumps({"text": "y", "label": "0"})
        + "\n",
    )
    data = read_labelled([csv_path, jsonl])
    assert data.labels.tolist() == [0, 1, 1, 0]
    assert data.groups.tolist() == [0, 0, 1, 1]
    assert data.comments[0].author_email == "a@b.com"
    assert data.comments[1].author_email is None
    assert data.comments[2].author_url == "u.com"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cols.csv", "foo,bar\n1,2\n", "unknown columns"),
        ("empty.csv", "", "empty file"),
        ("header.csv", "text,label\n", "no labelled comments"),
        ("unlabelled.csv", "text,label\nhi,\n", "unlabelled row"),
        ("badlabel.csv", "text,label\nhi,maybe\n", "unknown label"),
        ("bad.jsonl", '{"text": "a", "label": 1}\n{oops\n', "bad.jsonl:2: invalid JSON"),
        ("fields.jsonl", '{"body": "a"}\n', "unknown fields"),
    ],
)
def test_bad_training_data(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_labelled([write(tmp_path / name, content)])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_labelled([tmp_path / "nope.csv"])


def test_scoring_lines() -> None:
    lines = ['{"text": "a"}', "", '{"text": "b", "author_name": "N"}']
    comments = list(read_scoring_lines(lines))
    assert [c.text for c in comments] == ["a", "b"]
    assert comments[1].author_name == "N"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{nope", "line 1: invalid JSON"),
        ("[1]", "expected a JSON object"),
        ('{"text": 3}', "is missing or not a string"),
        ('{"body": [1]}', "is missing or not a string"),
        ('{"text": "a", "author_url": 5}', "'author_url' must be a string"),
    ],
)
def test_bad_scoring_lines(line: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        list(read_scoring_lines([line]))


def test_html_to_text() -> None:
    assert html_to_text('<a href="http://x">2:19</a> best&#39;s') == "2:19 best's"
