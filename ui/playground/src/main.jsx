// Verband's GraphQL playground: GraphiQL, served from the binary at
// /playground, talking to /graphql on the same origin.
import React from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/graphiql.css";
import examples from "./examples.json";
import pickQuery from "./pick.graphql";

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
const graphqlURL = window.location.origin + base + "graphql";
const fetcher = createGraphiQLFetcher({ url: graphqlURL });

// slots turns the answer of pickQuery into the values the examples' fill
// maps name, each with a label for the note saying what was filled in; a
// slot without a value keeps the example's own text.
function slots(data) {
  const nodes = (c) => (c && c.edges ? c.edges.map((e) => e.node) : []);
  const [value] = nodes(data.values);
  const sets = nodes(data.sets);
  const campaigns = nodes(data.campaigns);
  const cases = nodes(data.cases);
  const [container] = nodes(data.containers);
  // The members of the first cluster of the user's latest cluster run
  // share evidence: one has correlations to show, and two have a path.
  const [cluster] = nodes(data.clusters);
  const linked = cluster && Array.isArray(cluster.members) ? cluster.members : [];
  const named = (n) => ({ value: n.stixId, label: typeof n.name === "string" ? n.name : n.stixId });
  const out = {};
  const actor = sets[0] || campaigns[0];
  if (value && typeof value.value === "string") {
    out.searchText = { value: value.value, label: value.value };
  } else if (actor && typeof actor.name === "string") {
    out.searchText = { value: actor.name, label: actor.name };
  }
  const walkStart = campaigns[0] || sets[0];
  if (walkStart) {
    out.campaign = named(walkStart);
  }
  const pair = [cases, linked, sets, campaigns].find((l) => l.length >= 2);
  if (pair) {
    out.pathFrom = named(pair[0]);
    out.pathTo = named(pair[1]);
  }
  const related = linked[0] || container || campaigns[0];
  if (related) {
    out.container = named(related);
  }
  return out;
}

// fillExample puts the slot values into an example's query in place of
// the literals its fill map names, and says so in a first comment line.
function fillExample(e, values) {
  let query = e.query;
  const used = [];
  for (const [literal, slot] of Object.entries(e.fill || {})) {
    const v = values[slot];
    if (v && typeof v.value === "string" && v.value !== "") {
      query = query.split(JSON.stringify(literal)).join(JSON.stringify(v.value));
      used.push(v.label);
    }
  }
  if (used.length > 0) {
    query = "# Filled in from your data: " + used.join(", ") + ".\n" + query;
  }
  return query;
}

// pickExamples asks the API for the slot values with pickQuery
// (pick.graphql), which finds, as the signed-in user, objects of their own
// for the example tabs, so that on a first visit each tab runs against real
// data rather than ids that exist only in the documentation; with the
// user's token it offers only what the user may see. It gives up after a
// few seconds or on any error: the examples then keep their own text.
async function pickExamples() {
  if (!token) {
    return {};
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 4000);
  try {
    const resp = await fetch(graphqlURL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({ query: pickQuery }),
      signal: abort.signal,
    });
    if (!resp.ok) {
      return {};
    }
    const answer = await resp.json();
    return answer && answer.data ? slots(answer.data) : {};
  } catch {
    return {};
  } finally {
    clearTimeout(timer);
  }
}

function Playground({ tabs }) {
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

pickExamples().then((values) => {
  const tabs = examples.map((e) => ({ query: fillExample(e, values), headers }));
  createRoot(document.getElementById("graphiql")).render(<Playground tabs={tabs} />);
});
