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
"""

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
    "CommentInput",
    "SpamModel",
    "Thresholds",
    "card_path",
    "count_links",
    "dump_model_bytes",
    "extract_links",
    "load_model",
    "load_model_bytes",
    "normalise_text",
    "save_model",
]
