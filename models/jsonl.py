"""JSON-lines files, read one way: each non-empty line one JSON value, or a `DataError` whose
message names the file and line, written for the user (the command lines print it and exit 2,
the pages show it; never a traceback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


class DataError(ValueError):
    """The data cannot be used; the message is written for the user."""


def objects(text: str, name: str, max_rows: int) -> Iterator[tuple[str, Any]]:
    """(where, value) for each non-empty line of `text`; `where` is "NAME line N"."""
    n = 0
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {i}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg})") from None
        n += 1
        if n > max_rows:
            raise DataError(f"{name}: more than {max_rows:,} rows; use a smaller file")
        yield where, value
