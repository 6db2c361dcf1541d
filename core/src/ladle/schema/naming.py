"""The snake_case naming convention: every table and column name passes through it.

Rules: unicode is folded to ASCII, camelCase splits into words, anything that is not a letter,
digit or underscore becomes `_`, runs of `_` collapse (a double underscore is reserved for
nesting: `address__city`), a leading digit gets a `_` prefix, and names longer than the
destination allows are cut and suffixed with a hash of the full name, so they stay unique.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Container

NEST_SEPARATOR = "__"

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_]+")
_UNDERSCORES = re.compile(r"_{2,}")
# Letters that Unicode decomposition does not fold to ASCII.
_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "TH",
        "ð": "d",
        "\u0131": "i",  # dotless i
    }
)
_SYMBOL_WORDS = {"+": "_plus_", "@": "_at_", "#": "_hash_", "%": "_pct_", "&": "_and_"}


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length]


@functools.lru_cache(maxsize=65536)
def normalize_identifier(name: str) -> str:
    """One segment of a name (a dict key, a resource name) in snake_case, never empty."""
    folded = unicodedata.normalize("NFKD", name.translate(_LETTERS))
    folded = folded.encode("ascii", "ignore").decode()
    for symbol, word in _SYMBOL_WORDS.items():
        folded = folded.replace(symbol, word)
    words = _CAMEL_BOUNDARY.sub("_", folded).lower()
    snake = _UNDERSCORES.sub("_", _NOT_IDENTIFIER.sub("_", words)).rstrip("_")
    if not snake.strip("_"):
        # Nothing ASCII survived (e.g. a key in Cyrillic): keep it unique and stable.
        return f"_{short_hash(name)}"
    if snake[0].isdigit():
        snake = f"_{snake}"
    return snake


def normalize_path(path: tuple[str, ...]) -> str:
    """A nested key path (`("address", "city")`) as one column name (`address__city`)."""
    return NEST_SEPARATOR.join(normalize_identifier(part.split("\x00")[0]) for part in path)


def shorten(name: str, max_length: int | None) -> str:
    """Cap a name at `max_length` bytes; cut names end in a hash of the whole name."""
    if max_length is None or len(name.encode()) <= max_length:
        return name
    suffix = f"_{short_hash(name)}"
    return name.encode()[: max_length - len(suffix)].decode("ascii", "ignore") + suffix


def make_unique(name: str, taken: Container[str], max_length: int | None) -> str:
    """`name`, or `name_2`, `name_3`, ... if it is already taken (collision-safe naming)."""
    if name not in taken:
        return name
    counter = 2
    while True:
        candidate = shorten(f"{name}_{counter}", max_length)
        if candidate not in taken:
            return candidate
        counter += 1
