package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// EdgeListOptions configure an EdgeList.
type EdgeListOptions struct {
	// NodeType is the STIX type nodes become: "ipv4-addr" (default; node n
	// is the address 10.0.0.0 + n, with its deterministic SCO id) or
	// "infrastructure" (named "node n").
	NodeType string
	// Seed seeds the relationship ids and times.
	Seed uint64
}

// EdgeList reads a graph in the edge-list format that
// shared/tools/cluster_peers.py gen writes: one "a b" pair of non-negative
// integer node ids per line, separated by white space. As in that tool,
// the nodes are 0..max(id), all of them, isolated ones included, so every
// system measured on the file sees the same vertex set. Each node becomes
// one object and each line one "related-to" relationship from a to b, so
// the source yields nodes+lines objects: first every node, then every edge.
// Empty lines and lines starting with '#' are skipped.
//
// OpenEdgeList reads the file once to check it and find the node count;
// Next then reads it again. An EdgeList is not safe for concurrent use;
// Close releases the file.
type EdgeList struct {
	path  string
	opts  EdgeListOptions
	f     *os.File
	sc    *bufio.Scanner
	line  int
	nodes int // max id + 1
	edges int
	next  int // objects emitted
	rng   *rand.Rand
	base  time.Time
}

// maxEdgeListNodes bounds the node ids so that every node has a distinct
// address above 10.0.0.0.
const maxEdgeListNodes = 1<<32 - 10<<24

// OpenEdgeList opens and checks an edge-list file.
func OpenEdgeList(path string, opts EdgeListOptions) (*EdgeList, error) {
	switch opts.NodeType {
	case "":
		opts.NodeType = "ipv4-addr"
	case "ipv4-addr", "infrastructure":
	default:
		return nil, fmt.Errorf("edge list node type %q: want ipv4-addr or infrastructure", opts.NodeType)
	}
	e := &EdgeList{path: path, opts: opts, base: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := e.open(); err != nil {
		return nil, err
	}
	maxID := -1
	for {
		a, b, err := e.scan()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.Join(err, e.Close())
		}
		maxID = max(maxID, a, b)
		e.edges++
	}
	e.nodes = maxID + 1
	if err := e.open(); err != nil {
		return nil, err
	}
	e.rng = rand.New(rand.NewPCG(opts.Seed, 0x6564676573)) // "edges"
	return e, nil
}

func (e *EdgeList) open() error {
	if e.f != nil {
		if _, err := e.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind edge list %s: %w", e.path, err)
		}
	} else {
		f, err := os.Open(e.path)
		if err != nil {
			return fmt.Errorf("open edge list: %w", err)
		}
		e.f = f
	}
	e.sc = bufio.NewScanner(bufio.NewReaderSize(e.f, 1<<20))
	e.line = 0
	return nil
}

// scan returns the next edge, or io.EOF.
func (e *EdgeList) scan() (int, int, error) {
	for e.sc.Scan() {
		e.line++
		f := bytes.Fields(e.sc.Bytes())
		if len(f) == 0 || f[0][0] == '#' {
			continue
		}
		if len(f) != 2 {
			return 0, 0, fmt.Errorf("%s:%d: want two node ids, got %d fields", e.path, e.line, len(f))
		}
		a, err1 := strconv.ParseUint(string(f[0]), 10, 64)
		b, err2 := strconv.ParseUint(string(f[1]), 10, 64)
		if err1 != nil || err2 != nil || a >= maxEdgeListNodes || b >= maxEdgeListNodes {
			return 0, 0, fmt.Errorf("%s:%d: node ids must be integers in [0, %d): %q", e.path, e.line, uint64(maxEdgeListNodes), e.sc.Text())
		}
		return int(a), int(b), nil
	}
	if err := e.sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read edge list %s: %w", e.path, err)
	}
	return 0, 0, io.EOF
}

// Nodes returns the number of nodes (max id + 1).
func (e *EdgeList) Nodes() int { return e.nodes }

// Edges returns the number of edge lines.
func (e *EdgeList) Edges() int { return e.edges }

// Len returns the number of objects the source yields: nodes plus edges.
func (e *EdgeList) Len() int { return e.nodes + e.edges }

// Close releases the file.
func (e *EdgeList) Close() error {
	if e.f == nil {
		return nil
	}
	err := e.f.Close()
	e.f = nil
	if err != nil {
		return fmt.Errorf("close edge list: %w", err)
	}
	return nil
}

// NodeID returns the STIX id of node n.
func (e *EdgeList) NodeID(n int) string {
	if e.opts.NodeType == "infrastructure" {
		return formatID("infrastructure", nodeUUID(n))
	}
	return formatID("ipv4-addr", scoUUID([]byte(`{"value":"`+nodeAddr(n)+`"}`)))
}

func nodeAddr(n int) string {
	a := uint32(10<<24 + n)
	return strconv.Itoa(int(a>>24)) + "." + strconv.Itoa(int(a>>16&0xff)) + "." + strconv.Itoa(int(a>>8&0xff)) + "." + strconv.Itoa(int(a&0xff))
}

// nodeUUID derives the uuid of an infrastructure node from its number, so
// that the same file always yields the same ids.
func nodeUUID(n int) [16]byte {
	u := scoUUID([]byte("verband-bench-node:" + strconv.Itoa(n)))
	u[6] = u[6]&0x0f | 0x40 // presented as a random (version 4) uuid
	return u
}

// Next returns the next object, or io.EOF after the last one.
func (e *EdgeList) Next() (Item, error) {
	if e.f == nil {
		return Item{}, fmt.Errorf("edge list %s: %w", e.path, os.ErrClosed)
	}
	meta := graph.Meta{
		Policy:     graph.Policy{Owner: orgName(0), TLP: schema.TLPGreen},
		Provenance: graph.Provenance{Source: "bench", File: e.path},
	}
	if e.next < e.nodes {
		n := e.next
		e.next++
		o := newObj(e.opts.NodeType, 8)
		o.id = e.NodeID(n)
		if e.opts.NodeType == "infrastructure" {
			o.t = e.base
			o.str("name", "node "+strconv.Itoa(n))
		} else {
			o.str("value", nodeAddr(n))
		}
		return Item{o.finish(schema.TLPGreen), meta}, nil
	}
	a, b, err := e.scan()
	if err != nil {
		return Item{}, err
	}
	e.next++
	o := newObj("relationship", 8)
	var u [16]byte
	x, y := e.rng.Uint64(), e.rng.Uint64()
	for i := range 8 {
		u[i], u[8+i] = byte(x>>(56-8*i)), byte(y>>(56-8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	o.id = formatID("relationship", u)
	o.t = e.base.Add(time.Duration(e.line) * time.Second)
	o.str("relationship_type", "related-to")
	o.str("source_ref", e.NodeID(a))
	o.str("target_ref", e.NodeID(b))
	return Item{o.finish(schema.TLPGreen), meta}, nil
}
