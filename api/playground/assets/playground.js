// The Model Shelf playground: GraphiQL against this server's /graphql, queries and
// mutations over HTTP, subscriptions (a job's live progress) over a websocket at the same
// address. Everything it loads comes from this server (see api/playground/vendored.py).
"use strict";

const WELCOME = `# Model Shelf playground
#
# Run: Ctrl-Enter
# Complete: Ctrl-Space
# Docs: the book icon, top left
# History: the clock below it
#
# Subscriptions work here too:
# subscription {
#   job(id: "1") { state done total }
# }
# Uploads: see the README (curl).

{
  models(first: 10) {
    totalCount
    nodes { sha256 name sizeBytes tags { name } }
  }
}
`;

// The operation and its variables live in the address, so a link shares them. Not as
// `query`: a GET with a `query` parameter runs it, even from a browser.
const parameters = new URLSearchParams(window.location.search);

function remember(name, value) {
  if (value) {
    parameters.set(name, value);
  } else {
    parameters.delete(name);
  }
  const search = parameters.toString();
  window.history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
}

const endpoint = new URL(window.location.pathname, window.location.origin);
const socket = new URL(endpoint);
socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

const fetcher = GraphiQL.createFetcher({
  url: endpoint.href,
  subscriptionUrl: socket.href,
});

function Playground() {
  return React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: WELCOME,
    query: parameters.get("operation") ?? undefined,
    variables: parameters.get("variables") ?? undefined,
    onEditQuery: (query) => remember("operation", query),
    onEditVariables: (variables) => remember("variables", variables),
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    inputValueDeprecation: true,
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Playground));
