"""A tiny GraphQL-over-HTTP client on the standard library.

The CLI needs only POSTed JSON operations and their answers; urllib does that without making
an HTTP library a runtime dependency of the server package.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000/graphql"


class ClientError(Exception):
    """A command that cannot be carried out as asked; `status` is the exit status to use."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class GraphQLClient:
    """Sends operations to one server's GraphQL endpoint and answers their `data`."""

    def __init__(self, url: str, timeout: float = 3600) -> None:
        # The timeout is long: migrateLegacyDb answers only when the whole import is done.
        self.url = url
        self.timeout = timeout

    def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        """The operation's `data`; a server that cannot be reached, or errors in the answer
        (a bad argument, a server too old for this CLI), raise ClientError."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = _json_of(response.read())
        except urllib.error.HTTPError as error:
            # GraphQL errors often come with a 4xx status and a JSON body that says why.
            answer = _json_of(error.read(), f"HTTP {error.code} {error.reason}")
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ClientError(
                f"cannot reach the Model Shelf server at {self.url}: {reason} "
                "(is `modelshelf serve` running? --url says where)"
            ) from error
        errors = answer.get("errors")
        if errors:
            messages = "; ".join(str(error.get("message", error)) for error in errors)
            raise ClientError(f"the server refused the request: {messages}")
        data: dict[str, Any] = answer.get("data") or {}
        return data


def _json_of(raw: bytes, fallback: str = "not a GraphQL answer") -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except ValueError:
        raise ClientError(f"the server's answer is not JSON ({fallback})") from None
    if not isinstance(answer, dict):
        raise ClientError(f"the server's answer is not a GraphQL response ({fallback})")
    return answer
