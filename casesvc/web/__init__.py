"""The web UI: server-rendered pages whose scripts use the public JSON API like any client.

It is a plain Flask blueprint (not a flask-smorest one), so it stays out of the OpenAPI
document. The pages carry no case data: their ES modules fetch ``/cases`` and insert
every piece of case text with ``textContent``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

# Same-origin scripts and styles only; no inline script or style, no framing, no plugins.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)

blp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ui/static",
)


@blp.get("/")
def index() -> BaseResponse:
    return redirect(url_for("web.dashboard"))


@blp.get("/dashboard")
def dashboard() -> str:
    return render_template("web/dashboard.html", page="dashboard")


@blp.get("/dashboard/case/<case_id>")
def case(case_id: str) -> str:
    # Served for any id: the page asks the API and shows a not-found state on a 404.
    return render_template("web/case.html", page="case", case_id=case_id)


@blp.get("/dashboard/cases")
def cases() -> str:
    return render_template("web/cases.html", page="cases")


@blp.get("/favicon.ico")
def favicon() -> Response:
    # Where browsers look on pages that name no icon (/docs, /openapi.json): the SVG one.
    assert blp.static_folder is not None
    return send_from_directory(blp.static_folder, "favicon.svg", mimetype="image/svg+xml")


@blp.after_request
def secure_headers(response: Response) -> Response:
    # Stricter than the app-wide default; nosniff, no-referrer and DENY come from
    # casesvc/security.py, as on every response.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if request.endpoint == "web.static":
        # Revalidate every time (a cheap 304), so an upgrade never runs stale scripts.
        response.cache_control.no_cache = True
    return response
