"""Page tokens: a signed keyset position (the last case of a page) tied to the query that
issued it, so that a tampered token, or one used with another client or status filter, is
refused. The service (casesvc/service.py) issues and reads them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import itsdangerous


class InvalidPageToken(ValueError):
    """A page token that this service did not issue for this query."""


class PageTokens:
    """Encodes and reads page tokens signed with ``secret_key``; ``valid_id`` checks the
    case id a token carries."""

    def __init__(self, secret_key: str, valid_id: Callable[[str], bool]) -> None:
        self._serializer = itsdangerous.URLSafeSerializer(secret_key, salt="casesvc.page-token")
        self._valid_id = valid_id

    def encode(self, created_at: dt.datetime, case_id: str, query: list[str | None]) -> str:
        return self._serializer.dumps([created_at.isoformat(), case_id, query])

    def decode(self, token: str, query: list[str | None]) -> tuple[dt.datetime, str]:
        """The ``(created_at, case_id)`` position a token holds, if it was issued for
        ``query``; ``InvalidPageToken`` otherwise."""
        # The payload is checked as strictly as if it were unsigned: the signing key of a
        # development install is public, so a well-signed token can still be forged.
        try:
            payload = self._serializer.loads(token)
            if not (isinstance(payload, list) and len(payload) == 3):
                raise TypeError("page token payload is not a list of three")
            created_at, case_id, for_query = payload
            if not (isinstance(created_at, str) and isinstance(case_id, str)):
                raise TypeError("page token position is not two strings")
            instant = dt.datetime.fromisoformat(created_at)
            if instant.tzinfo is None or not self._valid_id(case_id):
                raise ValueError("page token payload is malformed")
            instant = instant.astimezone(dt.UTC)
        except (itsdangerous.BadData, ValueError, TypeError, OverflowError) as exc:
            raise InvalidPageToken("page_token is not valid") from exc
        if for_query != query:  # the caller's client and status filter, as a JSON list
            raise InvalidPageToken("page_token belongs to a different query")
        return instant, case_id
