"""The web UI's server side: routes, headers and the static files (no browser needed here)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from casesvc.web import CONTENT_SECURITY_POLICY

STATIC = Path(__file__).resolve().parents[2] / "casesvc" / "web" / "static"
PAGES = ["/dashboard", "/dashboard/cases", "/dashboard/case/case_000000000000000000000000"]


class Tags(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_root_redirects_to_the_dashboard(http: FlaskClient) -> None:
    """`/` sends the browser to `/dashboard`."""
    response = http.get("/")
    assert (302, "/dashboard") == (response.status_code, response.headers["Location"])


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_with_the_csp(http: FlaskClient, path: str) -> None:
    """Each UI page is HTML and carries the Content-Security-Policy and nosniff."""
    response = http.get(path)
    assert (200, "text/html") == (response.status_code, response.mimetype)
    assert CONTENT_SECURITY_POLICY == response.headers["Content-Security-Policy"]
    assert "nosniff" == response.headers["X-Content-Type-Options"]


def test_csp_allows_only_same_origin_scripts_and_styles() -> None:
    """The policy names only 'self' for scripts, styles and connections, and forbids framing."""
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    expected = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
    }
    assert expected == {name: directives[name] for name in expected}


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style(http: FlaskClient, path: str) -> None:
    """Every script is an external same-origin module; no inline style or event handler."""
    tags = tags_of(http.get(path).get_data(as_text=True))
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts, "each page loads its module"
    assert all(
        s.get("type") == "module" and (s.get("src") or "").startswith("/ui/static/js/")
        for s in scripts
    )
    assert not any(tag == "style" for tag, _ in tags)
    assert not [
        (tag, name)
        for tag, attrs in tags
        for name in attrs
        if name == "style" or name.startswith("on")
    ]


def test_page_assets_are_served(http: FlaskClient) -> None:
    """Every stylesheet, script, icon and module import a page names is served from here."""
    html = "".join(http.get(path).get_data(as_text=True) for path in PAGES)
    urls = {
        attrs.get("src") or attrs.get("href")
        for tag, attrs in tags_of(html)
        if tag in ("script", "link")
    }
    for module in STATIC.glob("js/*.js"):
        for name in re.findall(r'from "\./([\w.-]+\.js)"', module.read_text()):
            urls.add(f"/ui/static/js/{name}")
    for url in sorted(u for u in urls if u):
        response = http.get(url)
        assert 200 == response.status_code, url
        assert "no-cache" in response.headers["Cache-Control"], url
        if url.endswith(".js"):
            assert response.mimetype in ("text/javascript", "application/javascript"), url


def test_case_page_is_served_for_any_id_and_escapes_it(http: FlaskClient) -> None:
    """An unknown or hostile id still gets the page (it shows not-found), escaped."""
    response = http.get("/dashboard/case/<img src=x onerror=alert(1)>")
    html = response.get_data(as_text=True)
    assert 200 == response.status_code
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_ui_stays_out_of_the_openapi_document(http: FlaskClient) -> None:
    """The API document lists only the API: no UI route leaks into it."""
    paths = http.get("/openapi.json").json["paths"]
    assert ["/cases", "/cases/{case_id}", "/healthz", "/metrics", "/readyz"] == sorted(paths)


def test_scripts_never_insert_html() -> None:
    """Case text is clinical free text: the scripts only ever insert it as text."""
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(")
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in sorted(STATIC.glob("js/*.js"))
        for line in path.read_text().splitlines()
        if forbidden.search(line)
    ]
    assert [] == offenders
