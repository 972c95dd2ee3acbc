"""``/embed.js`` and ``/embed.css``: served right, small, and free of HTML and style sinks."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from flask.testing import FlaskClient

from service.web.embed import EMBED_DIR, SCRIPT_CACHE, VERSIONED_CACHE, assets, css_version

#: The widget's budget: script and stylesheet together, gzipped (issue 14).
BUDGET_BYTES = 15 * 1024

SOURCE = (EMBED_DIR / "embed.js").read_text()
STYLESHEET = (EMBED_DIR / "embed.css").read_text()


def test_the_script_is_javascript_cached_an_hour_and_embeddable_anywhere(
    client: FlaskClient,
) -> None:
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.content_type == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == SCRIPT_CACHE
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers
    assert "Content-Encoding" not in response.headers
    assert response.headers["Vary"] == "Accept-Encoding"


def test_the_script_links_the_stylesheet_of_this_release(client: FlaskClient) -> None:
    script = client.get("/embed.js").get_data(as_text=True)
    version = css_version(STYLESHEET.encode())
    assert "__COMMENTGATE_CSS_VERSION__" not in script
    assert f'const CSS_VERSION = "{version}";' in script
    assert '"embed.css?v=" + CSS_VERSION' in script


def test_the_versioned_stylesheet_is_cached_for_a_year_others_for_an_hour(
    client: FlaskClient,
) -> None:
    version = css_version(STYLESHEET.encode())
    current = client.get(f"/embed.css?v={version}")
    assert current.status_code == 200
    assert current.content_type == "text/css; charset=utf-8"
    assert current.headers["Cache-Control"] == VERSIONED_CACHE
    assert current.get_data(as_text=True) == STYLESHEET
    for url in ("/embed.css", "/embed.css?v=0123456789ab"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == SCRIPT_CACHE, url
        assert response.get_data(as_text=True) == STYLESHEET


@pytest.mark.parametrize("url", ["/embed.js", "/embed.css"])
def test_gzip_when_accepted_and_304_for_a_known_etag(client: FlaskClient, url: str) -> None:
    plain = client.get(url)
    zipped = client.get(url, headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers

    again = client.get(url, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    head = client.head(url)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(plain.get_data()))


def test_script_and_stylesheet_fit_the_gzipped_budget() -> None:
    served = assets()
    size = len(served["js"].gzipped) + len(served["css"].gzipped)
    assert size <= BUDGET_BYTES, f"{size} bytes gzipped, budget {BUDGET_BYTES}"


#: Ways a script could parse HTML, run strings as code or set inline styles: none may
#: appear (the widget must run under a strict CSP with Trusted Types).
FORBIDDEN = [
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "eval(",
    "new Function",
    "DOMParser",
    "createContextualFragment",
    ".style",
    '"style"',
    "cssText",
    'setTimeout("',
]


def test_the_script_has_no_html_code_or_style_sinks() -> None:
    found = [sink for sink in FORBIDDEN if sink in SOURCE]
    assert found == []


def test_the_stylesheet_loads_nothing_else() -> None:
    # Anything it loaded would need its own CSP allowance on every host page.
    assert not re.search(r"url\(|@import", STYLESHEET)


def strings() -> dict[str, dict[str, object]]:
    """The script's STRINGS table, read as the JSON it is written in."""
    found = re.search(
        r"/\* strings: \*/\s*const STRINGS = (\{.*?\});\s*/\* :strings \*/", SOURCE, re.S
    )
    assert found, "embed.js has no STRINGS block"
    table: dict[str, dict[str, object]] = json.loads(found.group(1))
    return table


def test_every_language_has_every_string() -> None:
    table = strings()
    assert {"en", "de", "fr"} <= set(table)
    english = table["en"]
    for lang, texts in table.items():
        assert set(texts) == set(english), lang
        for key, text in texts.items():
            if isinstance(text, str):
                placeholders = set(re.findall(r"\{\d\}", text))
                assert placeholders == set(re.findall(r"\{\d\}", str(english[key]))), (lang, key)
        assert isinstance(texts["ops"], list)
        assert len(texts["ops"]) == 3, lang


def test_every_documented_theme_variable_exists_in_the_stylesheet() -> None:
    docs = (EMBED_DIR.parents[3] / "docs" / "widget.md").read_text()
    documented = set(re.findall(r"`(--commentgate-[a-z-]+)`", docs))
    used = set(re.findall(r"var\((--commentgate-[a-z-]+)", STYLESHEET))
    assert documented == used
