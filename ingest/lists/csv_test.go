package lists_test

import (
	"slices"
	"testing"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

func TestCSVHeaderAndColumns(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  lists.Options
		want  []string // observable values
	}{
		{"header synonyms", "# exported\nfirst_seen,ioc,type\n2024-01-01,192.0.2.1,ip-dst\n2024-01-02,example.com,domain\n", lists.Options{},
			[]string{"192.0.2.1", "example.com"}},
		{"no header", "192.0.2.1,C2\nexample.com,C2\n", lists.Options{},
			[]string{"192.0.2.1", "example.com"}},
		{"no header, numbered column", "C2,192.0.2.1\nC2,example.com\n", lists.Options{Columns: lists.Columns{Value: "2", Comment: "1"}},
			[]string{"192.0.2.1", "example.com"}},
		{"named column", "id;Indicator Value;kind\n1;192.0.2.1;ipv4\n", lists.Options{Columns: lists.Columns{Value: "indicator_value"}},
			[]string{"192.0.2.1"}},
		{"tab separated", "value\ttype\n192.0.2.1\tip\n", lists.Options{},
			[]string{"192.0.2.1"}},
		{"semicolons", "value;comment\nexample.com;a, b\n", lists.Options{},
			[]string{"example.com"}},
		{"quoted values", "\"value\",\"comment\"\n\"hxxp://evil[.]example/a,b\",\"it said \"\"hi\"\"\"\n", lists.Options{},
			[]string{"http://evil.example/a,b"}},
		{"forced header", "a,b\n192.0.2.1,x\n", lists.Options{Columns: lists.Columns{Header: lists.HeaderYes, Value: "1"}},
			[]string{"192.0.2.1"}},
		{"forced no header", "value\n192.0.2.1\n", lists.Options{Columns: lists.Columns{Header: lists.HeaderNo}},
			[]string{"192.0.2.1"}}, // "value" is then data, and refused
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode(t, "x.csv", tt.input, tt.opts)
			var scos []*schema.Object
			for _, o := range got.objs {
				if schema.KindOf(o.Type) == schema.KindSCO {
					scos = append(scos, o)
				}
			}
			if v := values(scos); !slices.Equal(v, tt.want) {
				t.Errorf("values %q, want %q (errors %v)", v, tt.want, got.errs)
			}
		})
	}
}

func TestCSVRowMetadata(t *testing.T) {
	input := "value,type,comment,first_seen,last_seen,tags,tlp,source\n" +
		"192.0.2.1,ipv4,C2 server,2024-01-01T00:00:00Z,2024-03-01 12:00:00,\"botnet; c2,emotet\",TLP:RED,partner-x\n" +
		"example.com,,,,,,,\n"
	got := decode(t, "x.csv", input, lists.Options{Labels: []string{"import"}})
	if len(got.errs) > 0 {
		t.Fatal(got.errs)
	}
	inds := got.byType("indicator")
	if len(inds) != 1 {
		t.Fatalf("%d indicators, want 1 (only the row with metadata)", len(inds))
	}
	ind := inds[0]
	checks := map[string]string{
		"description":          "C2 server",
		"valid_from":           "2024-01-01T00:00:00.000Z",
		"x_verband_first_seen": "2024-01-01T00:00:00.000Z",
		"x_verband_last_seen":  "2024-03-01T12:00:00.000Z",
		"x_verband_source":     "partner-x",
		"name":                 "192.0.2.1",
	}
	for k, want := range checks {
		if v, _ := ind.String(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if l := ind.Strings("labels"); !slices.Equal(l, []string{"import", "botnet", "c2", "emotet"}) {
		t.Errorf("labels %q", l)
	}
	if m := ind.Strings("object_marking_refs"); !slices.Equal(m, []string{schema.MarkingTLP2Red}) {
		t.Errorf("markings %q", m)
	}
	// The row's TLP reaches its observable through the hints.
	if got.objs[0].Type != "ipv4-addr" || got.hints[0].TLP != schema.TLPRed {
		t.Errorf("first object %s with hint %s, want the ipv4-addr with TLP:RED", got.objs[0].Type, got.hints[0].TLP)
	}
	if got.hints[2].TLP != schema.TLPUnmarked {
		t.Errorf("hint of the second row's observable %s, want unmarked", got.hints[2].TLP)
	}
}

func TestParseColumns(t *testing.T) {
	c, err := lists.ParseColumns("value=2, type=kind, first_seen=1, tags=labels, header=yes")
	if err != nil {
		t.Fatal(err)
	}
	want := lists.Columns{Value: "2", Type: "kind", FirstSeen: "1", Tags: "labels", Header: lists.HeaderYes}
	if c != want {
		t.Errorf("ParseColumns = %+v, want %+v", c, want)
	}
	for _, bad := range []string{"value", "colour=2", "header=maybe", "value="} {
		if _, err := lists.ParseColumns(bad); err == nil {
			t.Errorf("ParseColumns(%q) accepted", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2024-01-02T03:04:05Z":      "2024-01-02T03:04:05.000Z",
		"2024-01-02T03:04:05+02:00": "2024-01-02T01:04:05.000Z",
		"2024-01-02 03:04:05":       "2024-01-02T03:04:05.000Z",
		"2024-01-02":                "2024-01-02T00:00:00.000Z",
		"2024/01/02":                "2024-01-02T00:00:00.000Z",
		"1704164645":                "2024-01-02T03:04:05.000Z",
		"1704164645123":             "2024-01-02T03:04:05.123Z",
	} {
		got, err := lists.ParseTime(in)
		if err != nil || got.Format("2006-01-02T15:04:05.000Z") != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

func TestDetectFormat(t *testing.T) {
	if f := lists.DetectFormat("x.txt", []byte("# Copyright (c) 2014-2026 Maltrail developers (https://github.com/stamparm/maltrail/)\n")); f != lists.FormatMaltrail {
		t.Errorf("maltrail head: %s", f)
	}
	if f := lists.DetectFormat("x.TSV", nil); f != lists.FormatCSV {
		t.Errorf("x.TSV: %s", f)
	}
	if f := lists.DetectFormat("x.list", []byte("1.2.3.4\n")); f != lists.FormatPlain {
		t.Errorf("x.list: %s", f)
	}
}
