package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// resolve finds the nodes a user means by arg: a STIX id (or an alias such
// as the id a source gave an observable), or a canonical value such as an
// IP address, a domain, a URL, an e-mail address or a hash, in any of the
// spellings the canonicalisers accept.
func resolve(tx *graph.Tx, arg string) ([]graph.ID, error) {
	arg = strings.TrimSpace(arg)
	if schema.IsIdentifier(arg) {
		id, err := tx.Lookup(arg)
		if errors.Is(err, graph.ErrNotFound) {
			return nil, fmt.Errorf("no object with STIX id %s", arg)
		}
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", arg, err)
		}
		return []graph.ID{id}, nil
	}
	var ids []graph.ID
	for _, v := range valueSpellings(arg) {
		found, err := tx.ByValue(v)
		if err != nil {
			return nil, fmt.Errorf("look up value %q: %w", v, err)
		}
		for _, id := range found {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no object with STIX id or value %q (try: verband search %q)", arg, arg)
	}
	return ids, nil
}

// valueSpellings returns arg and its canonical forms as an IP address or
// block, a domain, a URL, an e-mail address and a hash, without repeats.
func valueSpellings(arg string) []string {
	out := []string{arg}
	add := func(v string, err error) {
		if err == nil && v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	add(schema.CanonicalIP(arg))
	add(schema.CanonicalDomain(arg))
	add(schema.CanonicalURL(arg))
	add(schema.CanonicalEmail(arg))
	add(strings.ToLower(arg), nil)
	add(schema.CanonicalDomain(schema.Refang(arg)))
	add(schema.CanonicalIP(schema.Refang(arg)))
	add(schema.CanonicalURL(schema.Refang(arg)))
	return out
}

// displayName returns the best short name of a node: its name, value or
// another identifying property, or its STIX id.
func displayName(n *graph.Node) string {
	o, err := n.Object()
	if err != nil {
		return n.StixID
	}
	for _, p := range []string{"name", "value", "path", "key", "account_login", "user_id", "relationship_type"} {
		if s, ok := o.String(p); ok && s != "" {
			return s
		}
	}
	if vs := schema.IndexValues(o); len(vs) > 0 {
		return vs[0]
	}
	return n.StixID
}

// externalIDOf returns the first external id in an object's
// external_references (such as the ATT&CK technique id "T1566.001"), or "".
func externalIDOf(raw json.RawMessage) string {
	var o struct {
		Refs []struct {
			ExternalID string `json:"external_id"`
		} `json:"external_references"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	for _, r := range o.Refs {
		if r.ExternalID != "" {
			return r.ExternalID
		}
	}
	return ""
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
