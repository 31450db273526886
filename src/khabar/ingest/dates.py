"""Publication dates: every reader stores them as ISO 8601, so that filters can compare them.

Sources write dates in many ways: ISO 8601 (HTML metadata, JSON, Atom), RFC 822
(RSS: "Tue, 10 Jun 2025 08:30:00 GMT"), or a bare day ("2025/06/10").
"""

from __future__ import annotations

import email.utils
import re
from datetime import date, datetime

from khabar.errors import InputError

_DAY = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


def parse_date(value: str) -> str | None:
    """``value`` as ISO 8601 ("2025-06-10" or "2025-06-10T08:30:00+00:00"), or None if
    it is not a date this function knows."""
    value = value.strip()
    if not value:
        return None
    day = _DAY.match(value)
    if day:
        try:
            return date(int(day[1]), int(day[2]), int(day[3])).isoformat()
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if len(value) <= 10 and parsed.hour == parsed.minute == parsed.second == 0:
        return parsed.date().isoformat()
    return parsed.isoformat()


def normalize_published(value: str | None, *, name: str, strict: bool) -> str | None:
    """A reader's publication date in ISO form.

    ``strict`` (dates a person typed: JSONL, CSV, the API) makes an unreadable date an
    InputError naming ``name``; otherwise (dates found in web pages and feeds) it is
    dropped.
    """
    if value is None or not value.strip():
        return None
    parsed = parse_date(value)
    if parsed is None and strict:
        raise InputError(
            f"{name}: cannot read the date {value!r}; write it as YYYY-MM-DD "
            "(or ISO 8601 with a time)"
        )
    return parsed


def parse_day(value: str, option: str) -> str:
    """A filter bound (``--since``/``--until``) as an ISO day; InputError if not a date."""
    parsed = parse_date(value)
    if parsed is None:
        raise InputError(f"{option}: {value!r} is not a date; write it as YYYY-MM-DD")
    return parsed[:10]
