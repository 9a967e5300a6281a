"""The OpenAPI document in its canonical form, as committed in ``docs/openapi.json``.

``python -m casesvc.openapi [PATH]`` writes it (``make spec`` does); it needs no server and no
database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from casesvc.app import create_app
from casesvc.config import Config


def canonical(spec: dict[str, Any]) -> str:
    """The document as committed: keys sorted, two-space indents, a final newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build() -> dict[str, Any]:
    """The document the app serves. Building the app touches no database, and serving the
    document needs none, so this URL is never opened."""
    app = create_app(Config(database_url="sqlite:///never-opened.sqlite3"))
    spec: dict[str, Any] = app.test_client().get("/openapi.json").get_json()
    return spec


def main(argv: list[str]) -> None:
    text = canonical(build())
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
