// Starts GraphiQL against this server's /graphql; loaded by the page the server renders.
// Kept out of the HTML so that the page needs no inline script.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: root.dataset.endpoint });
  var token = root.dataset.token || "<token>";
  var headers = JSON.stringify({ Authorization: "Bearer " + token }, null, 2);
  var query = [
    "# Welcome to twinmesh. Put your access token in the Headers tab below.",
    "#",
    "# Ctrl-Enter runs the query; Ctrl-Space completes field names.",
    "",
    "query Models {",
    "  models {",
    "    id",
    "    decommissioned",
    "  }",
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
