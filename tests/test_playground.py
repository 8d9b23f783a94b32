"""The GraphiQL playground, used as a person uses it: in Chromium, from the real server,
with the network closed to everything else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import Visit, chromium, origin, visit
from tests.server import running_server

pytestmark = pytest.mark.timeout(180)

TOOL_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"  # variables or headers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("library")) as url:
        for name in ("anime", "landscape"):
            graphql(
                url, "mutation($name: String!) { createTag(name: $name) { __typename } }", name=name
            )
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def playground(browser: Browser, server: str) -> Iterator[Visit]:
    """The playground open and ready; afterwards, nothing was fetched from outside, refused
    by the page's policy, or thrown."""
    with visit(browser, origin(server)) as seen:
        seen.page.goto(server)
        expect(seen.page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible()
        yield seen
        assert seen.outside == []
        assert seen.csp_violations() == []
        assert seen.errors == []


def graphql(url: str, query: str, **variables: object) -> Any:
    response = httpx.post(url, json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def write(page: Page, editor: str, text: str) -> None:
    """Replace what an editor holds by typing, as a person does (no bracket auto-closing:
    the text arrives as one input, like a paste)."""
    page.locator(f"{editor} .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def write_operation(page: Page, text: str) -> None:
    """Type the operation, then wait as long as a person's pause: GraphiQL reads the text
    it was given (to tell a subscription from a query) a moment after the typing stops,
    and keeps it in local storage when it has."""
    write(page, ".graphiql-query-editor", text)
    page.wait_for_function("text => localStorage.getItem('graphiql:query') === text", arg=text)


def run(page: Page, query: str | None = None) -> str:
    """Type the operation (unless it is there), press the play button, and answer the
    response pane's text once it has one."""
    if query is not None:
        write_operation(page, query)
    page.locator(".graphiql-execute-button").click()
    response = page.locator(".result-window .CodeMirror")
    expect(response).to_contain_text('"data"')
    text: str = response.evaluate("element => element.CodeMirror.getValue()")
    return text


def test_a_query_typed_in_the_editor_answers_with_the_network_closed(playground: Visit) -> None:
    answer = run(playground.page, "{ tags { id name } }")
    assert '"name": "anime"' in answer and '"name": "landscape"' in answer
    playground.screenshot("playground-query")


def test_the_docs_explorer_shows_the_model_type(playground: Visit) -> None:
    page = playground.page
    page.get_by_label("Show Documentation Explorer").click()
    search = page.locator(".graphiql-doc-explorer-search-input input")
    search.fill("Model")
    options = page.locator(".graphiql-doc-explorer-search [role=option]")
    options.filter(has_text=re.compile(r"^Model$")).click()
    docs = page.locator(".graphiql-doc-explorer")
    expect(docs.locator(".graphiql-doc-explorer-title")).to_have_text("Model")
    expect(docs).to_contain_text("A model file in the library, known by the SHA-256")
    expect(docs).to_contain_text("sha256")
    playground.screenshot("playground-docs-model")


def test_typing_a_field_offers_completions_from_the_schema(playground: Visit) -> None:
    page = playground.page
    write_operation(page, "{ pendingImp")
    page.keyboard.press("Control+Space")
    expect(page.locator(".CodeMirror-hints")).to_contain_text("pendingImports")


def test_variables_and_headers_are_sent_with_the_operation(playground: Visit) -> None:
    page = playground.page
    write(
        page,
        ".graphiql-query-editor",
        "query Counted($first: Int!) { models(first: $first) { totalCount } }",
    )
    page.get_by_role("button", name="Variables").click()
    write(page, TOOL_EDITOR, '{"first": 1}')
    page.get_by_role("button", name="Headers").click()
    write(page, TOOL_EDITOR, '{"X-Requested-By": "playground"}')
    with page.expect_request(lambda request: request.method == "POST") as sent:
        answer = run(page)
    assert sent.value.headers["x-requested-by"] == "playground"
    # A required variable: without it the server would answer an error instead.
    assert '"totalCount": 0' in answer and '"errors"' not in answer


def test_a_subscription_follows_a_job_over_the_websocket(playground: Visit, server: str) -> None:
    started = graphql(
        server, "mutation { importPending(ids: [999]) { ... on JobStarted { job { id } } } }"
    )
    job = started["importPending"]["job"]["id"]
    answer = run(playground.page, f'subscription {{ job(id: "{job}") {{ id state }} }}')
    assert '"state": "COMPLETED"' in answer


def test_a_run_query_is_kept_in_the_history(playground: Visit) -> None:
    page = playground.page
    run(page, "query RememberMe { tags { name } }")
    page.get_by_label("Show History").click()
    expect(page.locator(".graphiql-history")).to_contain_text("RememberMe")


def test_the_open_operation_is_still_there_after_a_reload(playground: Visit) -> None:
    page = playground.page
    write_operation(page, "query KeptAcrossReloads { tags { id } }")
    page.reload()
    expect(page.locator(".graphiql-query-editor")).to_contain_text("KeptAcrossReloads")


def test_a_shared_link_opens_with_its_operation_and_variables(
    playground: Visit, server: str
) -> None:
    page = playground.page
    page.goto(f"{server}?{urlencode({'operation': '{ tags { name } }', 'variables': '{}'})}")
    expect(page.locator(".graphiql-query-editor")).to_contain_text("{ tags { name } }")
    assert '"name": "anime"' in run(page)
