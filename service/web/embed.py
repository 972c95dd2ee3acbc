"""``/embed.js`` and ``/embed.css``: the embeddable comment widget (docs/widget.md).

Host pages on any origin load the script with a ``<script src>``; it links the
stylesheet as ``/embed.css?v=<digest of the stylesheet>``. The script's URL stays the
same across releases, so it is cached for an hour; the stylesheet's versioned URL
changes with its content, so it is cached for a year. Both are read once, compressed
once, and answered with an ETag (304 when it matches) and gzip when the client takes it.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, request
from pydantic import BaseModel, Field

from service.web.apidoc import STRING, Reply, doc

bp = Blueprint("embed", __name__)

JS, CSS = "text/javascript", "text/css"


class EmbedStylesheetQuery(BaseModel):
    """Query of the widget's stylesheet."""

    v: str | None = Field(
        None, description="The version the widget's script links; the current one is cached."
    )


#: Where the widget's files live.
EMBED_DIR = Path(__file__).parent / "static" / "embed"
#: Stands for the stylesheet's version in the script.
CSS_VERSION_SLOT = b"__COMMENTGATE_CSS_VERSION__"
#: The script's URL never changes: an hour, so a release reaches every page soon.
SCRIPT_CACHE = "public, max-age=3600"
#: A stylesheet URL carrying its version names one content for good.
VERSIONED_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """A widget file, ready to serve.

    Attributes:
        body: The file's bytes.
        gzipped: The same, gzip-compressed.
        etag: Strong validator of ``body`` (``gzipped`` gets it with ``-gz``).
        mimetype: Its media type.
    """

    body: bytes
    gzipped: bytes
    etag: str
    mimetype: str

    @classmethod
    def of(cls, body: bytes, mimetype: str) -> Asset:
        """Wrap ``body``: its digest and its compressed form, computed once."""
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            etag=hashlib.sha256(body).hexdigest()[:20],
            mimetype=mimetype,
        )


@cache
def assets() -> dict[str, Asset]:
    """The script, with the stylesheet's version filled in, and the stylesheet."""
    css = (EMBED_DIR / "embed.css").read_bytes()
    version = css_version(css)
    script = (EMBED_DIR / "embed.js").read_bytes().replace(CSS_VERSION_SLOT, version.encode())
    return {
        "js": Asset.of(script, JS),
        "css": Asset.of(css, CSS),
    }


def css_version(css: bytes) -> str:
    """The version the script puts in the stylesheet's URL: a digest of its content."""
    return hashlib.sha256(css).hexdigest()[:12]


def _serve(asset: Asset, cache_control: str) -> Response:
    gzipped = request.accept_encodings["gzip"] > 0
    response = Response(asset.gzipped if gzipped else asset.body, mimetype=asset.mimetype)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(asset.etag + ("-gz" if gzipped else ""))
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = "Accept-Encoding"
    # Any page may embed the widget: a <script crossorigin> or <link crossorigin> (e.g.
    # with subresource integrity) needs these, and so does a host page sending COEP.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)  # a 304 when If-None-Match names this ETag
    return response


@bp.get("/embed.js")
@doc(
    "widget",
    responses={
        200: Reply("The script (gzip when accepted; cached an hour).", media={JS: STRING}),
        304: Reply("Not modified (If-None-Match matched its ETag)."),
    },
)
def script() -> Response:
    """The widget's script."""
    return _serve(assets()["js"], SCRIPT_CACHE)


@bp.get("/embed.css")
@doc(
    "widget",
    query=EmbedStylesheetQuery,
    responses={
        200: Reply(
            "The stylesheet; cached a year under the `?v=` the script links it with.",
            media={CSS: STRING},
        ),
        304: Reply("Not modified (If-None-Match matched its ETag)."),
    },
)
def stylesheet() -> Response:
    """The widget's stylesheet; cached for a year under the script's versioned URL."""
    css = assets()["css"]
    current = request.args.get("v") == css_version(css.body)
    return _serve(css, VERSIONED_CACHE if current else SCRIPT_CACHE)
