"""What text from a client must be: Unicode that can be stored and compared.

JSON can carry a lone UTF-16 surrogate (`"\\ud800"`), which is no character at all: it
cannot be encoded as UTF-8, so SQLite, the file system and every other client would choke
on it. Model Shelf refuses such text wherever it arrives (the request body, see
`api.request_parsing`; inside a cursor, see `domain.pagination`), rather than guess what
was meant. A path is text too: a file whose name is not valid UTF-8 cannot be named
through the API.
"""

from __future__ import annotations


def is_unicode(text: str) -> bool:
    """True unless `text` holds a lone surrogate (the only str that is not valid Unicode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
