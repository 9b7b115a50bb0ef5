package community

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// ReadEdgeList reads a graph in the edge-list format of
// shared/tools/cluster_peers.py: one edge per line as two non-negative
// integer node ids separated by spaces or tabs, optionally followed by a
// weight (1 when absent). As in that tool, the graph's nodes are 0..max id,
// all of them, isolated ones included, so that every system reading the file
// sees the same vertex set. Repeated edges are summed and a line "a a" is a
// loop (see Builder). Empty lines and lines starting with '#' are skipped. A
// line that does not parse is an error wrapping ErrSyntax that names the
// line number.
func ReadEdgeList(r io.Reader) (*Graph, error) {
	return readEdgeList(r, 0)
}

// LoadEdgeList reads the edge-list file at path (see ReadEdgeList).
func LoadEdgeList(path string) (*Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load edge list: %w", err)
	}
	defer f.Close()
	hint := 0
	if st, err := f.Stat(); err == nil {
		// Lines of the benchmark graphs average about 14 bytes.
		hint = int(st.Size() / 12)
	}
	g, err := readEdgeList(f, hint)
	if err != nil {
		return nil, fmt.Errorf("load edge list %s: %w", path, err)
	}
	return g, nil
}

func readEdgeList(r io.Reader, edgeHint int) (*Graph, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	b := NewBuilder(0, edgeHint)
	for line := 1; ; line++ {
		text, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("edge list line %d: %w: line longer than %d bytes", line, ErrSyntax, br.Size())
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read edge list line %d: %w", line, err)
		}
		if len(text) > 0 {
			if perr := parseEdgeLine(b, text); perr != nil {
				return nil, fmt.Errorf("edge list line %d: %w", line, perr)
			}
		}
		if err != nil { // io.EOF
			break
		}
	}
	return b.Build(), nil
}

// parseEdgeLine adds the edge of one line to b; blank and comment lines add
// nothing.
func parseEdgeLine(b *Builder, text []byte) error {
	i := skipSpace(text, 0)
	if i == len(text) || text[i] == '#' {
		return nil
	}
	u, i, err := parseNode(text, i)
	if err != nil {
		return err
	}
	j := skipSpace(text, i)
	if j == i {
		return syntaxError(text)
	}
	v, i, err := parseNode(text, j)
	if err != nil {
		return err
	}
	w := 1.0
	if j := skipSpace(text, i); j < len(text) {
		if j == i {
			return syntaxError(text)
		}
		k := j
		for k < len(text) && !isSpace(text[k]) {
			k++
		}
		if w, err = strconv.ParseFloat(string(text[j:k]), 64); err != nil || skipSpace(text, k) != len(text) {
			return syntaxError(text)
		}
	}
	return b.AddEdge(u, v, w)
}

func syntaxError(text []byte) error {
	for len(text) > 0 && isSpace(text[len(text)-1]) {
		text = text[:len(text)-1]
	}
	if len(text) > 80 {
		text = append(text[:77:77], "..."...)
	}
	return fmt.Errorf("%w: want two node ids and an optional weight, got %q", ErrSyntax, text)
}

// parseNode parses a node id at text[i:] and returns it and the index after
// it. It fails on a missing number, a non-digit right after the digits, and
// an id of MaxNodes or more.
func parseNode(text []byte, i int) (int, int, error) {
	start, x := i, 0
	for ; i < len(text) && '0' <= text[i] && text[i] <= '9'; i++ {
		x = x*10 + int(text[i]-'0')
		if x >= MaxNodes {
			return 0, i, fmt.Errorf("%w: node id at column %d is %d or more", ErrSyntax, start+1, MaxNodes)
		}
	}
	if i == start || (i < len(text) && !isSpace(text[i])) {
		return 0, i, syntaxError(text)
	}
	return x, i, nil
}

func skipSpace(text []byte, i int) int {
	for i < len(text) && isSpace(text[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
