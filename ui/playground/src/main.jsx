// Verband's GraphQL playground: GraphiQL, served from the binary at
// /playground, talking to /graphql on the same origin.
import React from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/graphiql.css";
import examples from "./examples.json";

const placeholder = "PASTE-YOUR-TOKEN";

// tokenFromHash reads a token from "#token=…" so that "verband demo" can
// print a ready link, then drops it from the address bar.
function tokenFromHash() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  return token;
}

const token = tokenFromHash();
const headers = JSON.stringify({ Authorization: "Bearer " + (token || placeholder) }, null, 2);

// The API lives next to the playground: /playground talks to /graphql, and
// /prefix/playground (behind a proxy) to /prefix/graphql.
const base = window.location.pathname.replace(/playground\/?$/, "");
const fetcher = createGraphiQLFetcher({ url: window.location.origin + base + "graphql" });

const tabs = examples.map((e) => ({ query: e.query, headers }));

function Playground() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={tabs}
      defaultHeaders={headers}
      headers={token ? headers : undefined}
      shouldPersistHeaders={false}
      isHeadersEditorEnabled={true}
      defaultEditorToolsVisibility={token ? false : "headers"}
    >
      <GraphiQL.Logo>Verband</GraphiQL.Logo>
    </GraphiQL>
  );
}

createRoot(document.getElementById("graphiql")).render(<Playground />);
