"""Campaign memory: signatures and the near-duplicate index (examples in our own words)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier import (
    CampaignIndex,
    CampaignMatch,
    campaign_curve,
    campaign_signature,
    campaign_signatures,
    signature_bytes,
    signature_from_bytes,
)
from classifier._data import read_labelled

CAMPAIGN = (
    "My aunt earns four hundred dollars a day from her kitchen table with this simple "
    "trick, the banks hate it, read how she did it on my profile page before they delete it"
)
#: Reworded copies a campaign would post: other case and punctuation, look-alike
#: letters and invisible characters, a word or three changed, a sentence added.
COPIES = (
    "MY AUNT EARNS FOUR HUNDRED DOLLARS A DAY from her kitchen table with this simple "
    "trick!!! the banks hate it... read how she did it on my profile page before they delete it",
    "My \u0430unt e\u0430rns four hundred doll\u0430rs a day from her kitchen\u200b table with "
    "this simple trick, the banks hate it, read how she did it on my profile page before "
    "they delete it",
    "My uncle earns four hundred dollars a day from his kitchen table with this simple "
    "trick, the banks hate it, read how he did it on my profile page before they delete it",
    "My aunt earns five hundred dollars a day from her kitchen table with this simple "
    "trick, banks really hate it, read how she did it on my profile page before they "
    "delete it. Hurry!",
)
UNRELATED = (
    "I tried the second recipe last weekend and the sauce came out far too salty, maybe "
    "halve the soy sauce if you use the Japanese kind",
    "Does anyone know whether the bridge on the north trail is open again after the "
    "storm? I would like to take my kids there on Sunday",
    # Same topic and several of the campaign's words, different sentences.
    "My aunt has worked from her kitchen table for years and the banks never gave her a "
    "loan, so I understand why people fall for a trick like that",
)
SHORT = ("thanks!", "I love this song", "great post, thank you", "first", "same here lol")


def signature(text: str) -> np.ndarray:
    sig = campaign_signature(text)
    assert sig is not None
    return sig


@pytest.fixture
def marked() -> CampaignIndex:
    index = CampaignIndex()
    index.add("campaign-1", signature(CAMPAIGN), 1)
    for i, text in enumerate(UNRELATED[:2]):
        index.add(f"ham-{i}", signature(text), 0)
    return index


@pytest.mark.parametrize("copy", COPIES)
def test_reworded_copies_match_the_marked_spam(marked: CampaignIndex, copy: str) -> None:
    found = marked.match(campaign_signature(copy))
    assert found is not None
    assert found.key == "campaign-1"
    assert marked.threshold <= found.similarity <= 1.0
    assert not found.conflict


def test_an_identical_copy_matches_with_similarity_one(marked: CampaignIndex) -> None:
    assert marked.match(signature(CAMPAIGN)) == CampaignMatch("campaign-1", 1.0, False)


@pytest.mark.parametrize("text", UNRELATED)
def test_unrelated_comments_do_not_match(marked: CampaignIndex, text: str) -> None:
    assert marked.match(campaign_signature(text)) is None


@pytest.mark.parametrize("text", SHORT)
def test_short_comments_have_no_signature_and_never_match(text: str) -> None:
    index = CampaignIndex()
    index.add("long", signature(CAMPAIGN), 1)
    assert campaign_signature(text) is None
    assert index.match(campaign_signature(text)) is None
    assert index.match(None) is None


def test_a_repeated_word_is_one_shingle() -> None:
    assert campaign_signature("spam " * 50) is None
    assert campaign_signature("buy now " * 50) is None


def test_relabelling_a_key_ham_stops_it_matching_as_spam(marked: CampaignIndex) -> None:
    assert marked.match(signature(COPIES[0])) is not None
    assert marked.spam_count == 1
    marked.add("campaign-1", signature(CAMPAIGN), 0)
    assert len(marked) == 3
    assert marked.spam_count == 0
    assert marked.match(signature(COPIES[0])) is None
    marked.add("campaign-1", signature(CAMPAIGN), 1)  # and back: the latest label wins
    assert marked.match(signature(COPIES[0])) is not None


def test_a_ham_labelled_near_duplicate_is_a_conflict(marked: CampaignIndex) -> None:
    marked.add("approved-copy", signature(COPIES[2]), 0)
    found = marked.match(signature(COPIES[2]))
    assert found is not None
    assert found.key == "campaign-1"
    assert found.conflict


def test_the_best_of_several_spam_matches_is_returned() -> None:
    index = CampaignIndex()
    index.add("far", signature(COPIES[3]), 1)
    index.add("near", signature(COPIES[0]), 1)
    found = index.match(signature(CAMPAIGN))
    assert found is not None
    assert found.key == "near"


def test_capacity_forgets_the_oldest_label() -> None:
    index = CampaignIndex(capacity=2)
    index.add("a", signature(CAMPAIGN), 1)
    index.add("b", signature(UNRELATED[0]), 1)
    index.add("c", signature(UNRELATED[1]), 1)
    assert len(index) == 2
    assert index.spam_count == 2
    assert index.match(signature(CAMPAIGN)) is None
    found = index.match(signature(UNRELATED[1]))
    assert found is not None
    assert found.key == "c"


def test_many_keys_grow_the_index() -> None:
    index = CampaignIndex()
    rng = np.random.default_rng(0)
    for i in range(100):
        index.add(str(i), rng.integers(0, 2**32, 128, dtype=np.uint32), 0)
    index.add("spam", signature(CAMPAIGN), 1)
    assert len(index) == 101
    found = index.match(signature(COPIES[0]))
    assert found is not None
    assert found.key == "spam"


@pytest.mark.parametrize("chunk", [1000, 3])
def test_batch_signatures_equal_datasketchs_one_by_one(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("classifier._campaigns._CHUNK", chunk)
    texts = [
        CAMPAIGN,
        *SHORT,
        *COPIES,
        *UNRELATED,
        "",
        "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e " * 3,
    ]
    batch = campaign_signatures(texts)
    assert [s is None for s in batch] == [campaign_signature(t) is None for t in texts]
    for text, sig in zip(texts, batch, strict=True):
        one = campaign_signature(text)
        if one is not None:
            assert sig is not None
            np.testing.assert_array_equal(sig, one)
    assert campaign_signatures([]) == []


def test_signature_bytes_round_trip() -> None:
    sig = signature(CAMPAIGN)
    data = signature_bytes(sig)
    assert len(data) == 4 * len(sig)
    back = signature_from_bytes(data)
    assert back is not None
    np.testing.assert_array_equal(back, sig)
    assert signature_from_bytes(data[:-4]) is None


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_signatures_are_the_same_in_every_process(hash_seed: str) -> None:
    code = (
        "import sys; from classifier import campaign_signature, signature_bytes; "
        "print(signature_bytes(campaign_signature(sys.argv[1])).hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", code, CAMPAIGN],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == signature_bytes(signature(CAMPAIGN)).hex()


def test_campaign_curve_on_a_synthetic_stream() -> None:
    texts = [*COPIES * 5, CAMPAIGN, *UNRELATED * 3, *SHORT]
    labels = [1] * (len(COPIES) * 5 + 1) + [0] * (len(UNRELATED) * 3 + len(SHORT))
    curve = campaign_curve(texts, labels, marked_counts=(1, 5, 1000), seed=3)
    assert [row["marked"] for row in curve] == [1, 5]  # 1000 is more spam than there is
    for row in curve:
        assert row["spam_total"] == sum(labels) - row["marked"]
        assert row["ham_total"] == len(labels) - sum(labels)
        assert row["ham_matched"] == 0.0
        assert row["spam_caught"] == 1.0
        assert row["spam_caught_n"] == row["spam_total"]


# -- on the YouTube Spam Collection -------------------------------------------------


@pytest.mark.dataset
def test_marked_spam_catches_other_videos_spam_and_no_ham(dataset_dir: Path) -> None:
    data = read_labelled(sorted(dataset_dir.glob("*.csv")))
    signatures = [campaign_signature(c.text) for c in data.comments]
    caught = {0: 0, 1: 0}
    for video in range(len(data.sources)):
        index = CampaignIndex()
        for i in np.flatnonzero((data.groups != video) & (data.labels == 1)):
            sig = signatures[i]
            if sig is not None:
                index.add(str(i), sig, 1)
        for i in np.flatnonzero(data.groups == video):
            if index.match(signatures[i]) is not None:
                caught[int(data.labels[i])] += 1
    # Every spam of the other four videos marked: a fifth of a new video's spam is caught
    # at once (measured 216 of 1005), and not one genuine comment.
    assert caught[0] == 0
    assert caught[1] / int(data.labels.sum()) >= 0.15
    for video in range(len(data.sources)):
        mask = data.groups == video
        texts = [c.text for c, m in zip(data.comments, mask, strict=True) if m]
        for row in campaign_curve(texts, data.labels[mask], marked_counts=(10, 50)):
            assert row["ham_matched_n"] == 0
