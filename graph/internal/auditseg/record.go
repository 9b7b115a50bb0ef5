package auditseg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Record is one entry of the log.
type Record struct {
	// Seq is the record's sequence number; Append takes consecutive ones.
	Seq uint64
	// Time is when the record was made; it is kept to the nanosecond.
	Time time.Time
	// Orgs are the organizations the record concerns.
	Orgs []string
	// Data is the record's content, opaque to the log.
	Data []byte
}

// Framing sizes and limits.
const (
	headerLen  = 8 // length and CRC
	trailerLen = 4
	seqLen     = 8
	// MaxRecordBytes bounds the body of a record.
	MaxRecordBytes = 16 << 20
	// maxOrgs and maxOrgLen bound a record's organizations, as the
	// two-byte counts of the payload do.
	maxOrgs   = 1<<16 - 1
	maxOrgLen = 1<<16 - 1
)

// ErrCorrupt reports a record that does not read back as written.
var ErrCorrupt = errors.New("audit segment corrupt")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sealer encrypts payloads; nil keeps them plain.
type sealer struct{ aead cipher.AEAD }

// newSealer derives the log's own AES-256 key from key (HMAC-SHA256 of a
// fixed purpose), so that the store's key is never used directly. A nil
// key gives a nil sealer.
func newSealer(key []byte) (*sealer, error) {
	if key == nil {
		return nil, nil
	}
	if len(key) == 0 {
		return nil, errors.New("empty encryption key")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("verband audit segments v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("make cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("make cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// appendRecord appends the framed record r to b.
func appendRecord(b []byte, r *Record, s *sealer) ([]byte, error) {
	if len(r.Orgs) > maxOrgs {
		return b, fmt.Errorf("record %d: %d organizations, at most %d", r.Seq, len(r.Orgs), maxOrgs)
	}
	start := len(b)
	b = append(b, make([]byte, headerLen)...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	payload := len(b)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Orgs)))
	for _, o := range r.Orgs {
		if len(o) > maxOrgLen {
			return b[:start], fmt.Errorf("record %d: organization name of %d bytes", r.Seq, len(o))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(o)))
		b = append(b, o...)
	}
	b = append(b, r.Data...)
	if s != nil {
		plain := append([]byte(nil), b[payload:]...)
		b = b[:payload]
		nonce := make([]byte, s.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return b[:start], fmt.Errorf("record %d: make nonce: %w", r.Seq, err)
		}
		b = append(b, nonce...)
		b = s.aead.Seal(b, nonce, plain, b[start+headerLen:payload])
	}
	n := len(b) - start - headerLen
	if n > MaxRecordBytes {
		return b[:start], fmt.Errorf("record %d: %d bytes, at most %d", r.Seq, n, MaxRecordBytes)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+headerLen:], castagnoli))
	return binary.BigEndian.AppendUint32(b, uint32(n)), nil
}

// frameLen is the length of a framed record with a body of n bytes.
func frameLen(n int) int64 { return int64(headerLen + n + trailerLen) }

// checkFrame checks a whole frame (header, body and trailer) and returns
// its body.
func checkFrame(f []byte) ([]byte, error) {
	if len(f) < headerLen+seqLen+trailerLen {
		return nil, fmt.Errorf("frame of %d bytes: %w", len(f), ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(f)
	if int64(len(f)) != frameLen(int(n)) || binary.BigEndian.Uint32(f[len(f)-trailerLen:]) != n {
		return nil, fmt.Errorf("frame length does not match its trailer: %w", ErrCorrupt)
	}
	body := f[headerLen : headerLen+int(n)]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(f[4:]) {
		return nil, fmt.Errorf("checksum mismatch: %w", ErrCorrupt)
	}
	return body, nil
}

// decodeBody reads a record from a checked body.
func decodeBody(body []byte, s *sealer) (Record, error) {
	r := Record{Seq: binary.BigEndian.Uint64(body)}
	p := body[seqLen:]
	if s != nil {
		ns := s.aead.NonceSize()
		if len(p) < ns {
			return r, fmt.Errorf("record %d: sealed payload too short: %w", r.Seq, ErrCorrupt)
		}
		plain, err := s.aead.Open(nil, p[:ns], p[ns:], body[:seqLen])
		if err != nil {
			return r, fmt.Errorf("record %d: open sealed payload (wrong key?): %w", r.Seq, ErrCorrupt)
		}
		p = plain
	}
	if len(p) < 10 {
		return r, fmt.Errorf("record %d: payload of %d bytes: %w", r.Seq, len(p), ErrCorrupt)
	}
	r.Time = time.Unix(0, int64(binary.BigEndian.Uint64(p))).UTC()
	k := int(binary.BigEndian.Uint16(p[8:]))
	p = p[10:]
	if k > 0 {
		r.Orgs = make([]string, 0, k)
	}
	for range k {
		if len(p) < 2 || len(p) < 2+int(binary.BigEndian.Uint16(p)) {
			return r, fmt.Errorf("record %d: organizations cut short: %w", r.Seq, ErrCorrupt)
		}
		l := int(binary.BigEndian.Uint16(p))
		r.Orgs = append(r.Orgs, string(p[2:2+l]))
		p = p[2+l:]
	}
	if s == nil {
		p = append([]byte(nil), p...) // the caller's buffer is reused
	}
	r.Data = p
	return r, nil
}
