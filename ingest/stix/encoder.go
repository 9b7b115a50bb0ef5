package stix

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/verband-cti/verband/schema"
)

// BundleWriter writes a STIX 2.1 bundle to a stream one object at a time,
// so that an export of any size needs memory for one object only:
//
//	{"type":"bundle","id":"bundle--…","objects":[
//	{…},
//	{…}
//	]}
//
// Each object is written on a line of its own, with its properties in
// sorted order (schema.Object.MarshalJSON). The writer does not check the
// objects; callers pass objects that schema.Validate accepts. A
// BundleWriter is not safe for concurrent use.
type BundleWriter struct {
	w      *bufio.Writer
	n      int
	err    error
	closed bool
}

// NewBundleID returns a random bundle id, "bundle--" and a UUIDv4.
func NewBundleID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("bundle--%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// NewBundleWriter starts a bundle with the given id (NewBundleID when
// empty) on w. Nothing is written until the first Write or Close.
func NewBundleWriter(w io.Writer, id string) (*BundleWriter, error) {
	if id == "" {
		id = NewBundleID()
	}
	if schema.IdentifierType(id) != "bundle" {
		return nil, fmt.Errorf("new bundle writer: id %q is not a bundle id", id)
	}
	bw := &BundleWriter{w: bufio.NewWriterSize(w, 64<<10)}
	idJSON, err := json.Marshal(id)
	if err != nil {
		return nil, fmt.Errorf("new bundle writer: %w", err)
	}
	bw.w.WriteString(`{"type":"bundle","id":`)
	bw.w.Write(idJSON)
	bw.w.WriteString(`,"objects":[`)
	return bw, nil
}

// Write adds one object to the bundle.
func (bw *BundleWriter) Write(o *schema.Object) error {
	raw, err := o.MarshalJSON()
	if err != nil {
		return fmt.Errorf("write bundle: encode %s: %w", o.ID, err)
	}
	return bw.WriteRaw(raw)
}

// WriteRaw adds one object, given as its JSON encoding, to the bundle.
func (bw *BundleWriter) WriteRaw(raw []byte) error {
	if bw.closed {
		return errors.New("write bundle: writer closed")
	}
	if bw.err != nil {
		return bw.err
	}
	if bw.n > 0 {
		bw.w.WriteByte(',')
	}
	bw.w.WriteByte('\n')
	if _, err := bw.w.Write(raw); err != nil {
		bw.err = fmt.Errorf("write bundle: %w", err)
		return bw.err
	}
	bw.n++
	return nil
}

// Count returns the number of objects written.
func (bw *BundleWriter) Count() int { return bw.n }

// Close ends the bundle and flushes it; it does not close the underlying
// writer.
func (bw *BundleWriter) Close() error {
	if bw.closed {
		return bw.err
	}
	bw.closed = true
	if bw.err != nil {
		return bw.err
	}
	if bw.n > 0 {
		bw.w.WriteByte('\n')
	}
	bw.w.WriteString("]}\n")
	if err := bw.w.Flush(); err != nil {
		bw.err = fmt.Errorf("write bundle: %w", err)
	}
	return bw.err
}
