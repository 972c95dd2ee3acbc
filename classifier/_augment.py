"""Counterfactual copies of genuine comments: the same comment with a link, code or an address.

In the training sources nearly every link, e-mail address and long number is spam, so a
model learns "has a link" as a shortcut and files a reader's question with a URL, a
stack trace or an IP address as spam. Training on copies of genuine comments with such
an artefact added, still labelled genuine, teaches that the artefact alone says nothing:
what the words around it say does.

Every artefact is random (random host names, paths, addresses and identifiers), so the
model cannot learn any particular string from them.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import numpy as np

from classifier._features import CommentInput

__all__ = ["ARTEFACTS", "augmented_ham"]

_TLDS = ("com", "org", "net", "io", "dev", "edu", "gov", "de", "co.uk", "fr", "info")
_EXTENSIONS = ("", "", ".html", ".pdf", ".md", ".php", "/")
_ERRORS = ("Error", "Exception", "Warning", "Failure", "Fault")

Rng = np.random.Generator


def _word(rng: Rng, low: int = 3, high: int = 9) -> str:
    letters = rng.choice(list(string.ascii_lowercase), int(rng.integers(low, high)))
    return "".join(letters)


def _host(rng: Rng) -> str:
    parts = [_word(rng) for _ in range(int(rng.integers(1, 3)))]
    if rng.random() < 0.3:
        parts.insert(0, str(rng.choice(["www", "docs", "blog", "api", "en"])))
    return ".".join(parts) + "." + str(rng.choice(_TLDS))


def url(rng: Rng) -> str:
    """A random web address, with or without a scheme and a path."""
    scheme = str(rng.choice(["https://", "http://", ""]))
    path = "/".join(_word(rng) for _ in range(int(rng.integers(0, 4))))
    tail = ("/" + path + str(rng.choice(_EXTENSIONS))) if path else ""
    return scheme + _host(rng) + tail


def ip_address(rng: Rng) -> str:
    """A random IPv4 address, sometimes with a port."""
    address = ".".join(str(int(n)) for n in rng.integers(1, 255, 4))
    return address + (f":{int(rng.integers(1, 65535))}" if rng.random() < 0.4 else "")


def email(rng: Rng) -> str:
    """A random e-mail address."""
    return f"{_word(rng)}.{_word(rng)}@{_host(rng)}"


def _identifier(rng: Rng) -> str:
    return "_".join(_word(rng, 2, 7) for _ in range(int(rng.integers(1, 3))))


def code(rng: Rng) -> str:
    """A random snippet: inline code or a short fenced block."""
    name, arg = _identifier(rng), _identifier(rng)
    if rng.random() < 0.5:
        return f"`{name}({arg})`"
    lines = [
        f"{_identifier(rng)} = {name}({arg}, {int(rng.integers(0, 100))})",
        f"if {_identifier(rng)} != {int(rng.integers(0, 10))}:",
        f"    return {_identifier(rng)}[{int(rng.integers(0, 9))}]",
    ]
    return "```\n" + "\n".join(lines[: int(rng.integers(1, 4))]) + "\n```"


def error_message(rng: Rng) -> str:
    """A random error message, as people paste them."""
    kind = _word(rng, 4, 10).capitalize() + str(rng.choice(_ERRORS))
    where = f"line {int(rng.integers(1, 900))}" if rng.random() < 0.5 else f"{_word(rng)}.py"
    detail = " ".join(_word(rng) for _ in range(int(rng.integers(2, 6))))
    return f"{kind}: {detail} ({where})"


def number(rng: Rng) -> str:
    """A random version, quantity or date."""
    choice = int(rng.integers(0, 3))
    if choice == 0:
        return "v" + ".".join(str(int(n)) for n in rng.integers(0, 20, 3))
    if choice == 1:
        return f"{int(rng.integers(1, 100000)):,}"
    year, month, day = (int(rng.integers(lo, hi)) for lo, hi in ((1990, 2030), (1, 13), (1, 29)))
    return f"{year}-{month:02d}-{day:02d}"


#: The artefacts a genuine comment may carry.
ARTEFACTS: tuple[Callable[[Rng], str], ...] = (
    url,
    url,
    ip_address,
    email,
    code,
    error_message,
    number,
)


def augmented_ham(
    comments: list[CommentInput], labels: np.ndarray, *, share: float, random_state: int = 0
) -> tuple[np.ndarray, list[CommentInput]]:
    """Copies of a share of the genuine comments, each with one random artefact added.

    Args:
        comments: The training comments.
        labels: Their labels (1 spam, 0 ham).
        share: Share of the ham to copy (0 to 1).
        random_state: Seed.

    Returns:
        The index of each copy's original, and the copies (labelled ham).
    """
    rng = np.random.default_rng(random_state)
    ham = np.flatnonzero(np.asarray(labels) == 0)
    chosen = np.sort(rng.choice(ham, round(share * len(ham)), replace=False))
    copies = []
    for index in chosen:
        original = comments[int(index)]
        artefact = ARTEFACTS[int(rng.integers(0, len(ARTEFACTS)))](rng)
        joiner = "\n" if artefact.startswith("```") or rng.random() < 0.3 else " "
        text = (
            artefact + joiner + original.text
            if rng.random() < 0.25
            else original.text + joiner + artefact
        )
        copies.append(
            CommentInput(text, original.author_name, original.author_url, original.author_email)
        )
    return chosen, copies
