"""The benchmark's ceiling: a bare Flask route returning a constant small JSON document."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def constant() -> tuple[dict[str, str], int]:
        return {"case_id": "case_000000000000000000000000", "status": "submitted"}, 200

    return app
