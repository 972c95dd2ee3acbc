"""Spam classifier: comment -> calibrated spam probability (scikit-learn, no web imports).

Public surface::

    from classifier import (CommentInput, SpamModel, Thresholds, load_model, save_model,
                            DEFAULT_MODEL_PATH, count_links, matching_key, normalise_text)

    model = load_model()                 # the shipped default model
    model.predict_proba([CommentInput("check out my channel!")])   # -> array([0.97...])
    model.assess(comments)               # Assessment(probability, base_probability, views_agree)
    model.thresholds                     # Thresholds(publish_below=..., spam_above=...)
    model.features(comments)             # hashed feature vectors (numbers, no text)
    sited = model.with_layer(SiteLayer().fit(X, y, base_p), card)   # a site's layer on top
                                         # (shares model's pipeline and scorer: no copy)
    save_model(newer, "models/model.skops")
    data, card = dump_model_bytes(newer)     # the same, as bytes (e.g. to keep in Redis)
    same = load_model_bytes(data, card)      # with the checks of load_model
    site = load_model_bytes(*dump_model_bytes(sited), base=model)  # stored as its layer alone

    index = CampaignIndex()                  # campaign memory: near-duplicates of spam
    index.add("c1", campaign_signature(marked_text), 1)
    index.match(campaign_signature(new_text))  # -> CampaignMatch(key="c1", ...) or None
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from classifier._normalise import (
        count_links,
        count_phones,
        extract_links,
        matching_key,
        normalise_text,
    )
    from classifier._paths import DEFAULT_MODEL_PATH, card_path
    from classifier._persistence import (
        dump_model_bytes,
        load_model,
        load_model_bytes,
        save_model,
    )
    from classifier._site_layer import SiteLayer
    from classifier._spam_model import Assessment, SpamModel

#: Public name -> the private module that holds it. Imported on first use, so that a
#: process that needs only the text normaliser or campaign signatures (the web app)
#: never imports scikit-learn.
_EXPORTS: dict[str, str] = {
    "Assessment": "classifier._spam_model",
    "CampaignIndex": "classifier._campaigns",
    "CampaignMatch": "classifier._campaigns",
    "CommentInput": "classifier._features",
    "DEFAULT_MODEL_PATH": "classifier._paths",
    "SiteLayer": "classifier._site_layer",
    "SpamModel": "classifier._spam_model",
    "Thresholds": "classifier._model",
    "campaign_curve": "classifier._campaigns",
    "campaign_signature": "classifier._campaigns",
    "campaign_signatures": "classifier._campaigns",
    "card_path": "classifier._paths",
    "count_links": "classifier._normalise",
    "count_phones": "classifier._normalise",
    "dump_model_bytes": "classifier._persistence",
    "extract_links": "classifier._normalise",
    "load_model": "classifier._persistence",
    "load_model_bytes": "classifier._persistence",
    "matching_key": "classifier._normalise",
    "normalise_text": "classifier._normalise",
    "save_model": "classifier._persistence",
    "signature_bytes": "classifier._campaigns",
    "signature_from_bytes": "classifier._campaigns",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
    "matching_key",
    "normalise_text",
    "save_model",
    "signature_bytes",
    "signature_from_bytes",
]
