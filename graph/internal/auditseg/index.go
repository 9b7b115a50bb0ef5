package auditseg

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A segment's index lists, for each organization, the records that
// concern it (sequence number and offset), and bounds the times of its
// records, so that a read by organization or time window touches only the
// records and segments it returns. The last segment's index lives in
// memory and grows with it; when a segment is sealed, its index is written
// beside it as %020d.idx (sealed with the log's key, when it has one). An
// index that is missing, because the process ended before it was written,
// or that does not read is built again from its segment when a read needs
// it.

// idxExt is the file name extension of a segment's index.
const idxExt = ".idx"

// tmpExt ends the name of an index file being written; Open removes those
// that a crash left.
const tmpExt = ".tmp"

// idxMagic starts an index file; the byte after it is its version.
var idxMagic = []byte("VBAI\x01")

// ref locates one record in its segment.
type ref struct {
	seq uint64
	off int64
}

// segIndex is the index of one segment.
type segIndex struct {
	minTime, maxTime int64 // Unix nanoseconds; minTime > maxTime while empty
	orgs             map[string][]ref
}

func newSegIndex() *segIndex {
	return &segIndex{minTime: math.MaxInt64, maxTime: math.MinInt64, orgs: map[string][]ref{}}
}

// add records the record seq at off.
func (x *segIndex) add(seq uint64, off int64, nanos int64, orgs []string) {
	x.minTime, x.maxTime = min(x.minTime, nanos), max(x.maxTime, nanos)
	for _, o := range orgs {
		x.orgs[o] = append(x.orgs[o], ref{seq: seq, off: off})
	}
}

// copy returns a copy that later adds to x do not change.
func (x *segIndex) copy() *segIndex {
	c := &segIndex{minTime: x.minTime, maxTime: x.maxTime, orgs: make(map[string][]ref, len(x.orgs))}
	for o, refs := range x.orgs {
		c.orgs[o] = slices.Clip(refs)
	}
	return c
}

// indexName names the index of a segment.
func indexName(seg segment) string {
	return strings.TrimSuffix(seg.name, segExt) + idxExt
}

// encodeIndex returns the contents of x's index file.
func encodeIndex(x *segIndex, seg segment, s *sealer) ([]byte, error) {
	p := binary.BigEndian.AppendUint64(nil, uint64(x.minTime))
	p = binary.BigEndian.AppendUint64(p, uint64(x.maxTime))
	orgs := make([]string, 0, len(x.orgs))
	for o := range x.orgs {
		orgs = append(orgs, o)
	}
	slices.Sort(orgs)
	p = binary.BigEndian.AppendUint32(p, uint32(len(orgs)))
	for _, o := range orgs {
		p = binary.BigEndian.AppendUint16(p, uint16(len(o)))
		p = append(p, o...)
		refs := x.orgs[o]
		p = binary.BigEndian.AppendUint32(p, uint32(len(refs)))
		for _, r := range refs {
			p = binary.BigEndian.AppendUint64(p, r.seq)
			p = binary.BigEndian.AppendUint64(p, uint64(r.off))
		}
	}
	b := slices.Clone(idxMagic)
	if s != nil {
		nonce := make([]byte, s.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("make nonce: %w", err)
		}
		b = append(b, nonce...)
		b = s.aead.Seal(b, nonce, p, []byte(seg.name))
	} else {
		b = append(b, p...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// decodeIndex reads an index file of seg.
func decodeIndex(b []byte, seg segment, s *sealer) (*segIndex, error) {
	if len(b) < len(idxMagic)+4 || !bytes.HasPrefix(b, idxMagic) {
		return nil, fmt.Errorf("not an index file: %w", ErrCorrupt)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("checksum mismatch: %w", ErrCorrupt)
	}
	p := body[len(idxMagic):]
	if s != nil {
		ns := s.aead.NonceSize()
		if len(p) < ns {
			return nil, fmt.Errorf("sealed index too short: %w", ErrCorrupt)
		}
		plain, err := s.aead.Open(nil, p[:ns], p[ns:], []byte(seg.name))
		if err != nil {
			return nil, fmt.Errorf("open sealed index (wrong key?): %w", ErrCorrupt)
		}
		p = plain
	}
	short := fmt.Errorf("index cut short: %w", ErrCorrupt)
	if len(p) < 20 {
		return nil, short
	}
	x := &segIndex{minTime: int64(binary.BigEndian.Uint64(p)), maxTime: int64(binary.BigEndian.Uint64(p[8:])), orgs: map[string][]ref{}}
	n := int(binary.BigEndian.Uint32(p[16:]))
	p = p[20:]
	for range n {
		if len(p) < 2 || len(p) < 2+int(binary.BigEndian.Uint16(p))+4 {
			return nil, short
		}
		l := int(binary.BigEndian.Uint16(p))
		org := string(p[2 : 2+l])
		k := int(binary.BigEndian.Uint32(p[2+l:]))
		p = p[2+l+4:]
		if len(p) < 16*k {
			return nil, short
		}
		refs := make([]ref, k)
		for i := range refs {
			refs[i] = ref{seq: binary.BigEndian.Uint64(p), off: int64(binary.BigEndian.Uint64(p[8:]))}
			p = p[16:]
		}
		x.orgs[org] = refs
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%d bytes after the index: %w", len(p), ErrCorrupt)
	}
	return x, nil
}

// writeIndex writes the index file of a sealed segment. The next Sync
// makes it durable; until then a crash only costs building it again.
func (l *Log) writeIndex(seg segment, x *segIndex) error {
	b, err := encodeIndex(x, seg, l.seal)
	if err != nil {
		return fmt.Errorf("write index of %s: %w", seg.name, err)
	}
	// Two reads may build the same index at once: each writes a file of
	// its own and renames it into place.
	f, err := os.CreateTemp(l.dir, indexName(seg)+".*"+tmpExt)
	if err != nil {
		return fmt.Errorf("write index of %s: %w", seg.name, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(l.dir, indexName(seg)))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write index of %s: %w", seg.name, err)
	}
	return nil
}

// sealedIndex returns the index of a sealed segment, building it from the
// segment (and writing it) when its file is missing or does not read. A
// segment dropped meanwhile gives nil.
func (l *Log) sealedIndex(seg segment, last uint64) (*segIndex, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, indexName(seg)))
	if err == nil {
		if x, derr := decodeIndex(b, seg, l.seal); derr == nil {
			return x, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read index of %s: %w", seg.name, err)
	}
	x := newSegIndex()
	if _, err := l.scanForwardRaw(seg, last, -1, seg.first, last, func(r Record, off int64) bool {
		x.add(r.Seq, off, r.Time.UnixNano(), r.Orgs)
		return true
	}); err != nil {
		return nil, fmt.Errorf("build index of %s: %w", seg.name, err)
	}
	if _, err := os.Stat(filepath.Join(l.dir, seg.name)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err := l.writeIndex(seg, x); err != nil {
		return nil, err
	}
	return x, nil
}
