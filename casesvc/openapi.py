"""The OpenAPI document in its canonical form, as committed in ``docs/openapi.json``.

``python -m casesvc.openapi [PATH]`` writes it (``make spec`` does); no server or database
of yours is needed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from casesvc import create_app
from casesvc.config import Config
from casesvc.db import close_all


def canonical(spec: dict[str, Any]) -> str:
    """The document as committed: keys sorted, two-space indents, a final newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build() -> dict[str, Any]:
    """The document the app serves, built on a throwaway database."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Config(database_url=f"sqlite:///{tmp}/spec.db", auto_upgrade=True))
        spec: dict[str, Any] = app.test_client().get("/openapi.json").get_json()
        close_all(app.extensions["casesvc.service"].database)
    return spec


def main(argv: list[str]) -> None:
    text = canonical(build())
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
