package refdata

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/publicsuffix"

	"github.com/verband-cti/verband/internal/shareddata"
)

func TestReadSharedParents(t *testing.T) {
	in := "# dynamic DNS\n\nLinkPC.net\n*.swtest.ru\n.ydns.eu.\n  crabdance.com  \nlinkpc.net\n"
	s, err := ReadSharedParents(strings.NewReader(in), "mine.txt")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4 {
		t.Errorf("%d entries, want 4", s.Len())
	}
	for _, d := range []string{"linkpc.net", "ydns.eu", "crabdance.com", "temp.swtest.ru", "ru.swtest.ru"} {
		if !s.Has(d) {
			t.Errorf("%s missing", d)
		}
	}
	// A wildcard names the domains one label below, not the domain itself
	// nor those further down.
	for _, d := range []string{"c2.linkpc.net", "net", "swtest.ru", "x.temp.swtest.ru", "evil-linkpc.net"} {
		if s.Has(d) {
			t.Errorf("Has(%q) is true", d)
		}
	}
	if where, _ := s.Source("temp.swtest.ru"); where != "mine.txt:4" {
		t.Errorf("temp.swtest.ru listed at %q, want the wildcard's line, mine.txt:4", where)
	}
	if where, _ := s.Source("linkpc.net"); where != "mine.txt:3" {
		t.Errorf("linkpc.net listed at %q, want the first line naming it, mine.txt:3", where)
	}
	var none *SharedParents
	if none.Has("linkpc.net") {
		t.Error("a nil set holds something")
	}

	for _, c := range []struct{ in, want string }{
		{"linkpc.net\nnot a domain\n", "bad.txt:2"},
		{"com\n", "top-level domain"},
		{"*.com\n", "top-level domain"},
		{"ok.example\n192.0.2.1\n", "bad.txt:2"},
	} {
		_, err := ReadSharedParents(strings.NewReader(c.in), "bad.txt")
		if !errors.Is(err, ErrBadEntry) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadSharedParents(%q) = %v; want ErrBadEntry naming %q", c.in, err, c.want)
		}
	}
}

func TestLoadSharedParents(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	if err := os.WriteFile(a, []byte("one.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("two.example\none.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSharedParents(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 || !s.Has("one.example") || !s.Has("two.example") {
		t.Errorf("loaded %d domains", s.Len())
	}
	if where, _ := s.Source("one.example"); where != a+":1" {
		t.Errorf("one.example listed at %q", where)
	}
	if _, err := LoadSharedParents(filepath.Join(dir, "missing.txt")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
}

// TestBuiltinSharedParents checks the embedded list: it parses, it does
// not repeat what the Public Suffix List already holds, and it holds the
// providers that link the most unrelated families in the shared data.
func TestBuiltinSharedParents(t *testing.T) {
	s := BuiltinSharedParents()
	if s.Len() < 100 {
		t.Errorf("built-in list holds %d domains", s.Len())
	}
	for d := range s.set {
		if ps, _ := publicsuffix.PublicSuffix("x." + d); ps == d {
			t.Errorf("%s is on the Public Suffix List already", d)
		}
	}
	for _, d := range []string{"linkpc.net", "publicvm.com", "mooo.com", "chickenkiller.com", "portmap.io"} {
		if !s.Has(d) {
			t.Errorf("%s missing", d)
		}
	}
}

// TestBuiltinSharedParentsProvenance checks what the list's header says of
// how it was made: every domain on it names subdomains in three or more of
// the Maltrail family lists of the shared data.
func TestBuiltinSharedParentsProvenance(t *testing.T) {
	dir := shareddata.Dir(t, "maltrail")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no maltrail lists in %s: %v", dir, err)
	}
	// below[k][d] holds the families that name a host at least k+1 labels
	// below domain d.
	below := [2]map[string]map[string]bool{{}, {}}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			host, _, _ := strings.Cut(line, "/")
			host, _, _ = strings.Cut(strings.ToLower(host), ":")
			labels := strings.Split(host, ".")
			for k := 1; k < len(labels); k++ {
				d := strings.Join(labels[k:], ".")
				for j := 0; j < min(k, 2); j++ {
					if below[j][d] == nil {
						below[j][d] = map[string]bool{}
					}
					below[j][d][filepath.Base(p)] = true
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	s := BuiltinSharedParents()
	for d := range s.set {
		if n := len(below[0][d]); n < 3 {
			t.Errorf("%s names subdomains in %d Maltrail families, the list's header says three or more", d, n)
		}
	}
	for d := range s.wild {
		if n := len(below[1][d]); n < 3 {
			t.Errorf("*.%s: %d Maltrail families name hosts two labels below %s, the list's header says three or more", d, n, d)
		}
	}
}
