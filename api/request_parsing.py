"""What a GraphQL request over HTTP must be, checked before GraphQL sees it.

Strawberry reads the body with `json.loads` and trusts its shape, so a body that is not
UTF-8, not an object, nested a thousand deep or holding a 5,000-digit number, or a
multipart `map` that points nowhere, ended in a bare HTTP 500. Here every such request is
refused with a 400 and a GraphQL-shaped error body that says what was wrong, before a
resolver runs. The rules, in one place for every way JSON reaches the server (a POST body,
the `variables` of a GET, the `operations` and `map` of a multipart upload, a websocket
message):

- JSON is UTF-8 (RFC 8259), standard (no `NaN`, no `Infinity`, no number beyond a double),
  at most `MAX_JSON_DEPTH` levels deep, and every string in it valid Unicode: a lone
  surrogate such as `"\\ud800"` is refused wherever it stands (see `domain.text`).
- The body is one operation: an object with `query` (a string), and optionally
  `variables` and `extensions` (objects) and `operationName` (a string). Batches are not
  supported.
- A multipart `map` is an object of file part names to lists of paths, each path naming a
  `null` placeholder under `variables` in `operations`, each part a file of the request.
- A subscription comes over the websocket. Over HTTP, Strawberry would run it as a query
  and fail on the stream its field returns (an internal error); it is refused instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.datastructures import UploadFile
from strawberry.http import GraphQLRequestData

from domain import strict_json
from domain.errors import quoted
from domain.text import is_unicode

# Deeper than any real operation's variables (a `meta` object included), shallow enough that
# nothing downstream can run out of stack on it.
MAX_JSON_DEPTH = 64
_NAMED_STATUS_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class RequestRefused(HTTPException):
    """A request that is not a GraphQL request we can run; `code` goes to the client."""

    def __init__(self, reason: str, code: str = "BAD_REQUEST", status_code: int = 400) -> None:
        super().__init__(status_code, reason)
        self.code = code


def code_of(refusal: HTTPException) -> str:
    """The `extensions.code` of a refusal, ours or one Strawberry raised."""
    if isinstance(refusal, RequestRefused):
        return refusal.code
    return _NAMED_STATUS_CODES.get(refusal.status_code, "BAD_REQUEST")


def media_type(content_type: str | None) -> str:
    """`application/json` of `Application/JSON; charset=utf-8`: media types ignore case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    """`application/json`, or a JSON-based type such as `application/graphql+json`."""
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


# JSON ----------------------------------------------------------------------------------


def read_json(data: str | bytes) -> Any:
    """The value of a JSON text a client sent, or `RequestRefused` saying what is wrong."""
    text = _utf8(data) if isinstance(data, bytes) else data
    try:
        value = strict_json.loads(text)
    except strict_json.JsonTooDeep:
        raise _too_deep() from None
    except ValueError as error:  # malformed, or an integer past Python's digit limit
        raise RequestRefused(f"The request is not valid JSON: {error}.", "INVALID_JSON") from None
    _check_values(value)
    return value


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestRefused(
            f"The request is not valid UTF-8 (byte {error.start}): JSON must be UTF-8.",
            "INVALID_JSON",
        ) from None


def _check_values(value: Any) -> None:
    """Refuse nesting deeper than `MAX_JSON_DEPTH` and text that is not Unicode, walking the
    value without recursion (so the walk itself cannot run out of stack)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if not is_unicode(item):
                raise _not_unicode(value)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep()
        children = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
        pending += [(key, depth) for key, _ in children if isinstance(key, str)]
        pending += [(child, depth + 1) for _, child in children]


def _too_deep() -> RequestRefused:
    return RequestRefused(
        f"The request's JSON is nested more than {MAX_JSON_DEPTH} levels deep.", "JSON_TOO_DEEP"
    )


def _not_unicode(value: Any) -> RequestRefused:
    where = _path_to_invalid_text(value) or "a string"
    return RequestRefused(
        f"The request holds text that is not valid Unicode at {where} (a lone surrogate such "
        "as \\ud800): every string must be valid Unicode.",
        "INVALID_UNICODE",
    )


def _path_to_invalid_text(value: Any, path: str = "") -> str | None:
    """Where the first string that is not Unicode sits, as `variables.tags.2` (keys too);
    only called once the walk found one, within the depth limit."""
    if isinstance(value, str):
        return None if is_unicode(value) else (path or "the body")
    if not isinstance(value, dict | list):
        return None
    children = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in children:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and not is_unicode(key):
            return f"a key in {path or 'the body'}"
        found = _path_to_invalid_text(child, where)
        if found is not None:
            return found
    return None


# The operation -------------------------------------------------------------------------


def operation_of(data: Any) -> GraphQLRequestData:
    """The one operation a request body (or a GET's parameters) holds."""
    if isinstance(data, list):
        raise RequestRefused(
            "Batched operations are not supported: send one operation per request.",
            "BATCH_NOT_SUPPORTED",
        )
    if not isinstance(data, dict):
        raise RequestRefused(
            f'The body must be a JSON object such as {{"query": "{{ tags {{ id }} }}"}}, '
            f"not {quoted(data)}."
        )
    return GraphQLRequestData(
        query=_member(data, "query", str, "a string"),
        variables=_member(data, "variables", dict, "an object"),
        operation_name=_member(data, "operationName", str, "a string"),
        extensions=_member(data, "extensions", dict, "an object"),
    )


def refuse_subscriptions(operation: GraphQLRequestData) -> None:
    """Refuse a request over HTTP whose chosen operation is a subscription. Only a text
    that mentions one is parsed here; a document that does not parse is left to GraphQL,
    which says where its syntax is wrong."""
    if operation.query is None or "subscription" not in operation.query:
        return
    try:
        document = parse(operation.query)
    except GraphQLError:
        return
    chosen = get_operation_ast(document, operation.operation_name)
    if chosen is not None and chosen.operation is OperationType.SUBSCRIPTION:
        raise RequestRefused(
            "Subscriptions run over a websocket at this same address (the graphql-transport-ws "
            "or graphql-ws protocol), not over HTTP.",
            "SUBSCRIPTION_OVER_HTTP",
        )


def _member(data: Mapping[str, Any], key: str, kind: type, kind_name: str) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise RequestRefused(f"`{key}` must be {kind_name} or null, not {quoted(value)}.")
    return value


# Multipart uploads ---------------------------------------------------------------------


def place_files(operations: Any, file_map: Any, files: Mapping[str, Any]) -> Any:
    """`operations` with each file part put where `map` says (the GraphQL multipart request
    spec); every placeholder must be a `null` under `variables`."""
    if not isinstance(operations, dict):
        raise _bad_multipart(
            f"`operations` must be one operation object, not {quoted(operations)}."
        )
    if not isinstance(file_map, dict):
        raise _bad_multipart(
            f"`map` must be an object of part names to paths, not {quoted(file_map)}."
        )
    for part, paths in file_map.items():
        upload = files.get(part)
        if not isinstance(upload, UploadFile):
            raise _bad_multipart(
                f"`map` names the part {quoted(part)}, which is not a file of the request."
            )
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise _bad_multipart(
                f"`map` must list paths (strings) for {quoted(part)}, not {quoted(paths)}."
            )
        for path in paths:
            _place(operations, path, upload)
    return operations


def _place(operations: dict[str, Any], path: str, upload: UploadFile) -> None:
    *parents, last = path.split(".")
    if parents[:1] != ["variables"]:
        raise _bad_multipart(f"The `map` path {quoted(path)} must start with `variables.`.")
    container: Any = operations
    for key in parents:
        container = _child(container, key, path)
    if _child(container, last, path) is not None:
        raise _bad_multipart(f"The `map` path {quoted(path)} must name a null placeholder.")
    if isinstance(container, list):
        container[int(last)] = upload
    else:
        container[last] = upload


def _child(container: Any, key: str, path: str) -> Any:
    if isinstance(container, dict) and key in container:
        return container[key]
    if isinstance(container, list) and key.isdigit() and int(key) < len(container):
        return container[int(key)]
    raise _bad_multipart(f"The `map` path {quoted(path)} names nothing in `operations`.")


def _bad_multipart(reason: str) -> RequestRefused:
    return RequestRefused(reason, "INVALID_MULTIPART")
