"""Security headers on every HTML response, and templates that need no inline code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import service.web
from service.web.pages import CONTENT_SECURITY_POLICY
from tests.service.web.pages.conftest import BROWSER, DEMO_REFERER, Page, filled_form

#: Every template the app renders (``create_app`` serves them from here).
TEMPLATES = sorted((Path(service.web.__file__).parent / "templates").rglob("*.html"))


def assert_secured(headers: dict[str, str]) -> None:
    csp = headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_demo_page_is_secured(client: FlaskClient) -> None:
    response = client.get("/")
    assert_secured(dict(response.headers))
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("url", ["/?cursor=broken", "/?comment=unknown"])
def test_other_pages_are_secured(client: FlaskClient, url: str) -> None:
    assert_secured(dict(client.get(url).headers))


def test_html_error_pages_are_secured(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/comments",
        data={"thread": "elsewhere"},
        headers=BROWSER | {"Referer": "https://blog.example/"},
    )
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert_secured(dict(response.headers))
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_the_redirect_after_a_post_keeps_a_same_origin_referer_policy(
    client: FlaskClient,
) -> None:
    page = Page.of(client.get("/").get_data(as_text=True))
    response = client.post(
        "/api/v1/comments",
        data=filled_form(page, body="hi", author_name="Ada"),
        headers=BROWSER | {"Referer": DEMO_REFERER},
    )
    assert response.status_code == 303
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("url", ["/healthz", "/api/v1/captcha", "/api/v1/comments?thread=t"])
def test_json_responses_carry_no_html_policy(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.mimetype.endswith("json")
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_view_may_set_its_own_policy(app: Flask) -> None:
    from flask import Response

    def framed() -> Response:
        response = Response("<p>hi</p>", mimetype="text/html")
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response

    app.add_url_rule("/test-own-policy", "test_own_policy", framed)
    response = app.test_client().get("/test-own-policy")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_the_template_check_sees_the_templates(app: Flask) -> None:
    assert app.template_folder is not None
    folder = Path(app.root_path, app.template_folder).resolve()
    assert TEMPLATES, f"no templates found under {folder}"
    assert {t.parent for t in TEMPLATES} >= {folder, folder / "moderate"}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_inline_code_or_unescaped_output(template: Path) -> None:
    source = template.read_text()
    assert not re.search(r"<script\b(?![^>]*\ssrc=)", source, re.IGNORECASE)  # only files
    assert not re.search(r"<style\b", source, re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", source, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", source, re.IGNORECASE)
    assert not re.search(r"\|\s*safe\b|\bMarkup\b|autoescape\s+false", source)
