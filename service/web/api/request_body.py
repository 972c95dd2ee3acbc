"""Reading request bodies: JSON or HTML forms, strictly."""

from __future__ import annotations

import json
from typing import Any

from service.core.exceptions import BadRequestError, UnsupportedMediaError
from service.web.request_context import current_request

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPES = ("application/json",)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; a repeated key makes it shorter
    if len(out) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadRequestError(f"duplicate key {key!r} in JSON object")
            seen.add(key)
    return out


def _no_constants(name: str) -> Any:
    raise BadRequestError(f"{name} is not valid JSON")


#: One decoder for every body (``json.loads`` with options builds one per call).
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def read_body() -> dict[str, Any]:
    """The request's fields from a JSON object or a form.

    Raises:
        UnsupportedMediaError: The content type is neither JSON nor a form.
        BadRequestError: The body is not valid UTF-8 JSON holding one object.
    """
    request = current_request()
    mimetype = request.mimetype
    if mimetype in JSON_TYPES:
        raw = request.get_data(cache=True)
        try:
            text = raw.decode("utf-8")
            data = _DECODER.decode(text)
        except UnicodeDecodeError:
            raise BadRequestError("body is not valid UTF-8") from None
        except RecursionError:
            raise BadRequestError("JSON is nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"body is not valid JSON: {exc.msg} at {exc.pos}") from None
        except ValueError:  # e.g. an integer longer than Python's digit limit
            raise BadRequestError("body is not valid JSON: a number is out of range") from None
        if not isinstance(data, dict):
            raise BadRequestError("body must be a JSON object")
        return data
    if mimetype in FORM_TYPES:
        form = request.form
        duplicated = next((key for key in form if len(form.getlist(key)) > 1), None)
        if duplicated is not None:
            raise BadRequestError(f"field {duplicated!r} is given more than once")
        return form.to_dict()
    raise UnsupportedMediaError(
        f"content type {mimetype or 'none'!r} is not accepted; "
        "send application/json or application/x-www-form-urlencoded"
    )


def wants_html() -> bool:
    """Whether the client is a browser submitting a plain form (answer with pages)."""
    request = current_request()
    if request.mimetype not in FORM_TYPES:
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"
