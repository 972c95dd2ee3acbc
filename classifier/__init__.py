"""Spam classifier: comment -> calibrated spam probability (scikit-learn, no web imports).

Public surface::

    from classifier import (CommentInput, SpamModel, Thresholds, load_model, save_model,
                            DEFAULT_MODEL_PATH, count_links, normalise_text)

    model = load_model()                 # the shipped default model
    model.predict_proba([CommentInput("check out my channel!")])   # -> array([0.97...])
    model.thresholds                     # Thresholds(publish_below=..., spam_above=...)
    newer = model.updated(comments, labels)   # incremental update, new version
    save_model(newer, "models/model.skops")
    data, card = dump_model_bytes(newer)     # the same, as bytes (e.g. to keep in Redis)
    same = load_model_bytes(data, card)      # with the checks of load_model

    index = CampaignIndex()                  # campaign memory: near-duplicates of spam
    index.add("c1", campaign_signature(marked_text), 1)
    index.match(campaign_signature(new_text))  # -> CampaignMatch(key="c1", ...) or None
"""

from classifier._campaigns import (
    CampaignIndex,
    CampaignMatch,
    campaign_curve,
    campaign_signature,
    campaign_signatures,
    signature_bytes,
    signature_from_bytes,
)
from classifier._features import CommentInput
from classifier._model import SpamModel, Thresholds
from classifier._normalise import count_links, extract_links, normalise_text
from classifier._persistence import (
    DEFAULT_MODEL_PATH,
    card_path,
    dump_model_bytes,
    load_model,
    load_model_bytes,
    save_model,
)

__all__ = [
    "DEFAULT_MODEL_PATH",
    "CampaignIndex",
    "CampaignMatch",
    "CommentInput",
    "SpamModel",
    "Thresholds",
    "campaign_curve",
    "campaign_signature",
    "campaign_signatures",
    "card_path",
    "count_links",
    "dump_model_bytes",
    "extract_links",
    "load_model",
    "load_model_bytes",
    "normalise_text",
    "save_model",
    "signature_bytes",
    "signature_from_bytes",
]
