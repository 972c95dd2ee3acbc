"""Spam classifier: comment -> calibrated spam probability (scikit-learn, no web imports).

Public surface::

    from classifier import (CommentInput, SpamModel, Thresholds, load_model, save_model,
                            DEFAULT_MODEL_PATH, count_links, normalise_text)

    model = load_model()                 # the shipped default model
    model.predict_proba([CommentInput("check out my channel!")])   # -> array([0.97...])
    model.assess(comments)               # Assessment(probability, base_probability, views_agree)
    model.thresholds                     # Thresholds(publish_below=..., spam_above=...)
    model.features(comments)             # hashed feature vectors (numbers, no text)
    sited = model.with_layer(SiteLayer().fit(X, y, base_p), card)   # a site's layer on top
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
from classifier._model import Thresholds
from classifier._normalise import count_links, count_phones, extract_links, normalise_text
from classifier._persistence import (
    DEFAULT_MODEL_PATH,
    card_path,
    dump_model_bytes,
    load_model,
    load_model_bytes,
    save_model,
)
from classifier._site_layer import SiteLayer
from classifier._spam_model import Assessment, SpamModel

__all__ = [
    "DEFAULT_MODEL_PATH",
    "Assessment",
    "CampaignIndex",
    "CampaignMatch",
    "CommentInput",
    "SiteLayer",
    "SpamModel",
    "Thresholds",
    "campaign_curve",
    "campaign_signature",
    "campaign_signatures",
    "card_path",
    "count_links",
    "count_phones",
    "dump_model_bytes",
    "extract_links",
    "load_model",
    "load_model_bytes",
    "normalise_text",
    "save_model",
    "signature_bytes",
    "signature_from_bytes",
]
