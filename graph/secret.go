package graph

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// secretLen is the length of the store's secret, in bytes.
const secretLen = 32

// ensureSecret creates the store's secret when it has none: 32 random
// bytes, written once and never changed, so that what is derived from it
// (Key) stays the same for the life of the store.
func ensureSecret(txn *badger.Txn) error {
	_, err := txn.Get(keySecret)
	if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("make the store's secret: %w", err)
	}
	return txn.Set(keySecret, b)
}

// loadSecret reads the store's secret. A read-only store opened before it
// had one (a store of an older release, never opened for writing since)
// gets a random secret for this opening only.
func (s *Store) loadSecret(txn *badger.Txn) error {
	item, err := txn.Get(keySecret)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound) && s.opts.ReadOnly:
		s.secret = make([]byte, secretLen)
		_, err = rand.Read(s.secret)
		return err
	case err != nil:
		return fmt.Errorf("load the store's secret: %w", err)
	}
	s.secret, err = item.ValueCopy(nil)
	if err == nil && len(s.secret) != secretLen {
		err = fmt.Errorf("secret of %d bytes, want %d: %w", len(s.secret), secretLen, ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("load the store's secret: %w", err)
	}
	return nil
}

// Key returns a 32-byte key for one purpose, derived from a random secret
// the store keeps (HMAC-SHA256 of the purpose), so that each user of a key
// gets its own, stable for the life of the store. The secret is as safe as
// the data directory: encrypt the store at rest to protect both.
func (s *Store) Key(purpose string) ([]byte, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if purpose == "" {
		return nil, fmt.Errorf("derive a key: empty purpose: %w", ErrInvalid)
	}
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose))
	return m.Sum(nil), nil
}
