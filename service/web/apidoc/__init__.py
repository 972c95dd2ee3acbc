"""The OpenAPI document: views declare themselves with :func:`doc`, SpecTree assembles.

To document a new route, put :func:`doc` under its route decorator with the view's tag,
request models and every response (shared replies are in
:mod:`service.web.apidoc.replies`); its docstring's first paragraph is the summary.
"""

from service.web.apidoc.document import build_document, document
from service.web.apidoc.spec import (
    BEARER,
    FORM,
    HTML,
    JSON,
    METRICS,
    MULTIPART,
    SESSION,
    STRING,
    Reply,
    add_security_scheme,
    doc,
    openapi_path,
    undocumented,
)

__all__ = [
    "BEARER",
    "FORM",
    "HTML",
    "JSON",
    "METRICS",
    "MULTIPART",
    "SESSION",
    "STRING",
    "Reply",
    "add_security_scheme",
    "build_document",
    "doc",
    "document",
    "openapi_path",
    "undocumented",
]
