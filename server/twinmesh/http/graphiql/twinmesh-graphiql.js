// Starts GraphiQL against this server's /graphql; loaded by the page the server renders.
// Kept out of the HTML so that the page needs no inline script.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: root.dataset.endpoint });
  var token = root.dataset.token || "<token>";
  var headers = JSON.stringify({ Authorization: "Bearer " + token }, null, 2);
  var welcome = root.dataset.token
    ? "# Welcome to twinmesh. The Headers tab below holds a demo token (tenant demo, role admin)."
    : "# Welcome to twinmesh. Put your access token in the Headers tab below.";
  var query = [
    welcome,
    "#",
    "# Ctrl-Enter runs the query; Ctrl-Space completes field names.",
    "",
    "query Floor {",
    '  twin(id: "b1-f1") {',
    "    id",
    "    model",
    "    properties",
    '    rooms: relationships(name: "hasPart") {',
    "      totalCount",
    "      edges { node { target { id model properties } } }",
    "    }",
    "  }",
    "  models { id }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: query,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false, // tokens stay out of localStorage
      isHeadersEditorEnabled: true,
    })
  );
})();
