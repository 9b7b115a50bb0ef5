package query

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/verband-cti/verband/graph"
)

// idCodec turns the store's internal node ids into the ids the API shows,
// and back. Internal ids come from one sequence shared by every
// organization, so two of them would tell a viewer how many objects were
// written between them, hidden ones included. The API shows each id
// encrypted instead: a 64-bit block cipher (a four-round Feistel network
// whose round function is AES, keyed by a secret of the store), written as
// 16 hex digits. The mapping is a permutation, stable for the life of the
// store, so an API id stays valid and unique, and says nothing about any
// other id.
type idCodec struct{ block cipher.Block }

// idRounds is the number of Feistel rounds: four make a strong
// pseudorandom permutation when the round function is a pseudorandom
// function (Luby and Rackoff).
const idRounds = 4

// newIDCodec keys a codec with a store's secret.
func newIDCodec(s *graph.Store) (*idCodec, error) {
	key, err := s.Key("api-ids")
	if err != nil {
		return nil, fmt.Errorf("key the API ids: %w", err)
	}
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		return nil, fmt.Errorf("key the API ids: %w", err)
	}
	return &idCodec{block: block}, nil
}

// round is the round function: the first 32 bits of AES over the round
// number and the half. buf holds the block in and out; the caller passes
// one for all rounds, since blocks handed to the cipher's interface go to
// the heap, and two for each round cost more than the AES itself.
func (c *idCodec) round(buf *[2 * aes.BlockSize]byte, i int, half uint32) uint32 {
	in, out := buf[:aes.BlockSize], buf[aes.BlockSize:]
	clear(in)
	in[0] = byte(i)
	binary.BigEndian.PutUint32(in[1:], half)
	c.block.Encrypt(out, in)
	return binary.BigEndian.Uint32(out)
}

// encode returns the API id of an internal id.
func (c *idCodec) encode(id graph.ID) string {
	buf := new([2 * aes.BlockSize]byte)
	l, r := uint32(uint64(id)>>32), uint32(id)
	for i := range idRounds {
		l, r = r, l^c.round(buf, i, r)
	}
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], l)
	binary.BigEndian.PutUint32(b[4:], r)
	return hex.EncodeToString(b[:])
}

// decode returns the internal id of an API id, and false when s is not one.
func (c *idCodec) decode(s string) (graph.ID, bool) {
	var b [8]byte
	if len(s) != 16 {
		return 0, false
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, false
	}
	buf := new([2 * aes.BlockSize]byte)
	l, r := binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:])
	for i := idRounds - 1; i >= 0; i-- {
		l, r = r^c.round(buf, i, l), l
	}
	id := graph.ID(uint64(l)<<32 | uint64(r))
	return id, id != 0
}

// ObjectID returns the id the API shows for a node (the `id` field of its
// object, which `node` accepts), for tools that hold the store's internal
// ids.
func (a *API) ObjectID(id graph.ID) string { return a.ids.encode(id) }

// objectID is an API id as the ID field of an object returns it. graphql-go
// takes it for the ID type, and encoding/json, which graphql-go writes every
// value with, writes it as the plain string it is. graphql.ID has a
// MarshalJSON, whose output json.Marshal scans and copies again: 4% of the
// CPU of a neighbourhood request, which names up to a hundred objects,
// against 1% for the plain string.
type objectID string

// ImplementsGraphQLType reports that an objectID is an ID.
func (objectID) ImplementsGraphQLType(name string) bool { return name == "ID" }

// UnmarshalGraphQL is never called, since no argument is an objectID; it
// takes a string, as graphql.ID does.
func (id *objectID) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("an ID must be a string, not %T", input)
	}
	*id = objectID(s)
	return nil
}
