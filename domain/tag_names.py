"""When two tag names are the same tag: equal once trimmed and folded, in any script.

SQLite's NOCASE folds only ASCII, so "Émile" and "émile", or "Straße" and "STRASSE", would
be two tags under it. A tag's `name_key` is its name under Unicode's compatibility caseless
matching (NFKC, full case folding, NFKC again): letter case in every script, ß as ss, the
composed and decomposed spellings of é, and the full-width "ＬＯＲＡ" all fold to one key.
The library keeps that key beside the name with a UNIQUE index (`domain/store/schema.py`),
computed by the database itself through this function (registered on the writer
connection), so no write, from any code path or racing request, can create two tags that
fold to the same key. The name itself is kept as the user typed it, trimmed.
"""

from __future__ import annotations

import unicodedata

# The name of the SQL function the writer connection registers (`domain/store/database.py`)
# and the tags table's triggers call.
SQL_FUNCTION = "tag_name_key"


def clean_tag_name(name: str) -> str:
    """The name as stored: without surrounding white space (Unicode's, not only ASCII's)."""
    return name.strip()


def tag_name_key(name: str) -> str:
    """What makes two names one tag: the trimmed name, NFKC-normalized and case-folded.

    The empty key means the name has nothing but white space: no tag can have it."""
    folded = unicodedata.normalize("NFKC", clean_tag_name(name)).casefold()
    return unicodedata.normalize("NFKC", folded)
