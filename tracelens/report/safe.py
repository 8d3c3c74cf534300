"""Text from traces made inert for every output: `visible(name)`, before a format's own escaping.

    visible("GET /x\x1b[2J")      # -> 'GET /x\\x1b[2J': shown, never interpreted
    visible("a\nb")                # -> 'a\\nb': a name stays one line

Span names, attributes, ids and the error messages that quote them come from whoever sent the
traces. A terminal runs what it is sent (ESC clears the screen, an unterminated OSC 8 swallows the
rest of the report), so every C0 and C1 control, DEL, and the bidirectional overrides that reorder
what a reader sees, are written as escapes. Each renderer then adds its own format's escaping on
top (Markdown: pipes and backticks; HTML: entities; CSV: formula prefixes).
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0, DEL, C1; bidi embeddings/overrides/isolates; line and paragraph separators
_OTHERS = "\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\u200e\u200f"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_BEYOND_C0 = re.compile(f"[{_OTHERS}]")  # what json.dumps leaves raw


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """`text` as a string with every control character written as an escape."""
    return _UNSAFE.sub(_escape, str(text))


def is_inert(text: str) -> bool:
    """True when `text` holds no control character a terminal would act on (tests, checks)."""
    return _UNSAFE.search(text.replace("\n", "")) is None


def json_inert(document: str) -> str:
    """A JSON text with the controls json leaves raw (DEL, C1, bidi) written as `\\u` escapes.

    They can only stand inside strings, where the escape means the same character.
    """
    return _BEYOND_C0.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
