"""One input guard for every user text: type check, normalise, strip what can spoof or break,
cap the length with a visible notice. Display escaping happens at render time (html.escape).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

DEFAULT_MAX_CHARS = 2_000

# Direction overrides/isolates can make displayed text lie about its order (CVE-2021-42574).
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# Zero-width characters other than the joiners emoji and some scripts need.
_INVISIBLE = {"\u200b", "\u2060", "\ufeff", "\u00ad"}
_KEEP_CONTROLS = {"\n", "\t"}


@dataclass(frozen=True)
class GuardedText:
    text: str
    original_chars: int
    truncated: bool = False
    removed: int = 0  # characters stripped as controls/overrides/invisible
    notices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.text.strip()


def _drop(ch: str) -> bool:
    if ch in _KEEP_CONTROLS:
        return False
    if ch in _BIDI_CONTROLS or ch in _INVISIBLE:
        return True
    return unicodedata.category(ch) in ("Cc", "Cs")  # controls and lone surrogates


def guard_text(value: object, max_chars: int = DEFAULT_MAX_CHARS) -> GuardedText:
    """Return a safe, capped version of `value` and the notices a page should show."""
    notices: list[str] = []
    if value is None:
        value = ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
        notices.append("Bytes were decoded as UTF-8.")
    elif not isinstance(value, str):
        notices.append(f"Expected text, got {type(value).__name__}; converted it to text.")
        value = str(value)
    original = len(value)
    # Cap before normalising so a 10 MB paste never costs more than a slice.
    truncated = original > max_chars
    if truncated:
        value = value[:max_chars]
    value = unicodedata.normalize("NFC", value)
    cleaned = "".join(ch for ch in value if not _drop(ch))
    removed = len(value) - len(cleaned)
    if truncated:
        notices.append(f"Input is {original:,} characters; only the first {max_chars:,} are used.")
    if removed:
        notices.append(
            f"Removed {removed} invisible or control character(s) "
            "(direction overrides, zero-width spaces, control codes)."
        )
    return GuardedText(cleaned, original, truncated, removed, tuple(notices))
