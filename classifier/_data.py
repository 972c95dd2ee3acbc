"""Reading labelled comments (training/evaluation) and comments to score.

Accepted training formats:

* the YouTube Spam Collection CSV (``COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS``): its
  ``CONTENT`` is YouTube's HTML rendering, turned back into the plain text people typed
  (entities decoded, tags removed, anchor text kept); ``AUTHOR`` becomes the author name;
* a generic CSV or JSON-lines file with ``text`` and ``label`` (``spam``/``ham``/``1``/``0``)
  and optional ``author_name``, ``author_url``, ``author_email``.

Every problem raises :class:`~classifier.exceptions.DataError` with a one-line message.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classifier._features import CommentInput
from classifier.exceptions import DataError

__all__ = ["LabelledData", "parse_label", "read_labelled", "read_scoring_lines"]

_LABELS = {"spam": 1, "1": 1, "ham": 0, "0": 0}
_OPTIONAL = ("author_name", "author_url", "author_email")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]{0,2000}>")


@dataclass(frozen=True)
class LabelledData:
    """Labelled comments read from one or more files.

    Attributes:
        comments: The comments.
        labels: 1 for spam, 0 for ham.
        groups: Index into ``sources`` of the file each comment came from.
        sources: The file names, in the order given.
        formats: Per file, ``youtube`` (YouTube Spam Collection CSV), ``csv`` or ``jsonl``.
        datasets: Per file, the data set it belongs to: the name of its folder (one
            folder per source, e.g. ``youtube-spam-collection``).
    """

    comments: list[CommentInput]
    labels: npt.NDArray[np.int64]
    groups: npt.NDArray[np.int64]
    sources: list[str]
    formats: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.comments)

    @property
    def source_names(self) -> list[str]:
        """The distinct data sets, in order of first appearance."""
        return list(dict.fromkeys(self.datasets or self.sources))

    @property
    def source_groups(self) -> npt.NDArray[np.int64]:
        """Per comment, the index in :attr:`source_names` of its data set."""
        names = self.datasets or self.sources
        index = {name: i for i, name in enumerate(self.source_names)}
        per_file = np.asarray([index[name] for name in names], dtype=np.int64)
        return per_file[self.groups]

    def subset(self, rows: npt.NDArray[np.intp]) -> LabelledData:
        """The comments at ``rows`` (files and data sets kept as they are)."""
        return LabelledData(
            comments=[self.comments[i] for i in rows],
            labels=self.labels[rows],
            groups=self.groups[rows],
            sources=self.sources,
            formats=self.formats,
            datasets=self.datasets,
        )


def html_to_text(content: str) -> str:
    """Turn YouTube's HTML rendering of a comment back into plain text.

    Args:
        content: The ``CONTENT`` cell.

    Returns:
        The text as typed: line breaks as spaces, tags removed, entities decoded.
    """
    return html.unescape(_TAG_RE.sub("", _BR_RE.sub(" ", content)))


def parse_label(value: Any, where: str) -> int:
    """Parse a label cell.

    Args:
        value: ``spam``/``ham``/``1``/``0`` (any case), or an int 0/1.
        where: "file:line" for the error message.

    Returns:
        1 for spam, 0 for ham.

    Raises:
        DataError: The label is missing or not one of the accepted values.
    """
    key = str(value).strip().lower() if value is not None else ""
    if key not in _LABELS:
        if not key:
            raise DataError(f"{where}: unlabelled row (label is empty)")
        raise DataError(f"{where}: unknown label {key[:20]!r} (expected spam, ham, 1 or 0)")
    return _LABELS[key]


def _opt(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value not in (None, "") else None


def _read_csv(path: Path) -> Iterator[tuple[CommentInput, int]]:
    tsv = path.suffix.lower() == ".tsv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if tsv:  # tab-separated: quotes are text, never quoting
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        if not header:
            raise DataError(f"{path}: empty file (no header row)")
        reader.fieldnames = header
        if {"CONTENT", "CLASS"} <= set(header):
            for line, row in enumerate(reader, start=2):
                where = f"{path.name}:{line}"
                yield (
                    CommentInput(
                        text=html_to_text(row["CONTENT"] or ""),
                        author_name=_opt(row, "AUTHOR"),
                    ),
                    parse_label(row["CLASS"], where),
                )
        elif {"text", "label"} <= set(header):
            for line, row in enumerate(reader, start=2):
                yield _generic(row, f"{path.name}:{line}")
        else:
            raise DataError(
                f"{path}: unknown columns {','.join(header)[:120]} "
                "(expected CONTENT and CLASS, or text and label)"
            )


def _generic(row: dict[str, Any], where: str) -> tuple[CommentInput, int]:
    text = row.get("text")
    if not isinstance(text, str):
        raise DataError(f"{where}: 'text' is missing or not a string")
    comment = CommentInput(text, *(_opt(row, k) for k in _OPTIONAL))
    return comment, parse_label(row.get("label"), where)


def _read_jsonl(path: Path) -> Iterator[tuple[CommentInput, int]]:
    with path.open(encoding="utf-8-sig") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected a JSON object")
            if "text" not in row or "label" not in row:
                raise DataError(f"{where}: unknown fields (expected text and label)")
            yield _generic(row, where)


def read_labelled(paths: Sequence[str | Path]) -> LabelledData:
    """Read labelled comments from CSV or JSON-lines files.

    Args:
        paths: The files; ``.jsonl``/``.json``/``.ndjson`` are JSON lines, ``.tsv``
            tab-separated (``label<TAB>text``, as the SMS Spam Collection), anything else CSV.

    Returns:
        The comments, labels and file of origin.

    Raises:
        DataError: A file is missing, unreadable, empty, has unknown columns or a bad row.
    """
    if not paths:
        raise DataError("no data files given")
    comments: list[CommentInput] = []
    labels: list[int] = []
    groups: list[int] = []
    formats: list[str] = []
    for index, raw in enumerate(paths):
        path = Path(raw)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        reader = _read_jsonl if path.suffix.lower() in {".jsonl", ".json", ".ndjson"} else _read_csv
        before = len(comments)
        formats.append("jsonl" if reader is _read_jsonl else _csv_kind(path))
        try:
            for comment, label in reader(path):
                comments.append(comment)
                labels.append(label)
                groups.append(index)
        except UnicodeDecodeError:
            raise DataError(f"{path}: not UTF-8 text") from None
        except csv.Error as exc:
            raise DataError(f"{path}: malformed CSV ({exc})") from None
        if len(comments) == before:
            raise DataError(f"{path}: no labelled comments in the file")
    return LabelledData(
        comments=comments,
        labels=np.asarray(labels, dtype=np.int64),
        groups=np.asarray(groups, dtype=np.int64),
        sources=[Path(p).name for p in paths],
        formats=formats,
        datasets=[Path(p).resolve().parent.name for p in paths],
    )


def _csv_kind(path: Path) -> str:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return "csv"
    return "youtube" if "CONTENT" in [h.strip() for h in header] else "csv"


def read_scoring_lines(lines: Iterable[str]) -> Iterator[CommentInput]:
    """Parse JSON lines of comments to score, lazily and in order.

    Args:
        lines: Lines of text, each a JSON object with ``body`` (the API's name; ``text``
            is accepted too) and optional ``author_name``, ``author_url``, ``author_email``.

    Yields:
        One comment per non-blank line.

    Raises:
        DataError: A line is not a JSON object with a string ``text``.
    """
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {line_no}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"line {line_no}: expected a JSON object")
        text = row.get("body", row.get("text"))  # the API's field name, or the training one
        if not isinstance(text, str):
            raise DataError(f"line {line_no}: 'body' (or 'text') is missing or not a string")
        extra = {k: row.get(k) for k in _OPTIONAL}
        for key, value in extra.items():
            if value is not None and not isinstance(value, str):
                raise DataError(f"line {line_no}: '{key}' must be a string")
        yield CommentInput(text, **extra)
