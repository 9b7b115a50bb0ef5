package taxii

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/verband-cti/verband/internal/fsutil"
)

// PositionsFile is the name of the positions file in a store's data
// directory.
const PositionsFile = "taxii-positions.json"

// Position is how far pulls of one collection have come.
type Position struct {
	// APIRoot and Collection name the collection.
	APIRoot    string `json:"api_root"`
	Collection string `json:"collection"`
	// AddedAfter is the X-TAXII-Date-Added-Last of the last page loaded:
	// the next pull asks for objects added after it.
	AddedAfter string `json:"added_after"`
	// Objects counts the objects loaded by all pulls.
	Objects int `json:"objects"`
	// Updated is when the position last moved.
	Updated time.Time `json:"updated"`
}

// Key identifies a collection among positions.
func (p Position) Key() string { return dirURL(p.APIRoot) + "collections/" + p.Collection + "/" }

// Positions remembers pull positions.
type Positions interface {
	// Load returns the position of a collection; ok is false when there is
	// none.
	Load(apiRoot, collection string) (p Position, ok bool, err error)
	// Save records a position, replacing the collection's earlier one.
	Save(p Position) error
}

// FilePositions keeps positions as a JSON array in one file, rewritten
// atomically on every Save.
type FilePositions struct {
	path string
	mu   sync.Mutex
}

// NewFilePositions returns positions kept in the file at path, which need
// not exist yet.
func NewFilePositions(path string) *FilePositions { return &FilePositions{path: path} }

// DataDirPositions returns the positions file of a store's data directory.
func DataDirPositions(dataDir string) *FilePositions {
	return NewFilePositions(filepath.Join(dataDir, PositionsFile))
}

// Path returns the file's path.
func (f *FilePositions) Path() string { return f.path }

func (f *FilePositions) read() ([]Position, error) {
	raw, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read TAXII positions: %w", err)
	}
	var ps []Position
	if err := json.Unmarshal(raw, &ps); err != nil {
		return nil, fmt.Errorf("read TAXII positions %s: %w", f.path, err)
	}
	return ps, nil
}

// Load implements Positions.
func (f *FilePositions) Load(apiRoot, collection string) (Position, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.read()
	if err != nil {
		return Position{}, false, err
	}
	key := Position{APIRoot: apiRoot, Collection: collection}.Key()
	for _, p := range ps {
		if p.Key() == key {
			return p, true, nil
		}
	}
	return Position{}, false, nil
}

// All returns every saved position, by collection URL.
func (f *FilePositions) All() ([]Position, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read()
}

// Save implements Positions: the file is replaced durably (written to a
// temporary file in the same directory, synced, renamed over the old one,
// and the directory synced), so that after a power failure the position
// is the old one or the new one, and a pull resumes at or before it.
func (f *FilePositions) Save(p Position) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.read()
	if err != nil {
		return err
	}
	ps = slices.DeleteFunc(ps, func(q Position) bool { return q.Key() == p.Key() })
	ps = append(ps, p)
	slices.SortFunc(ps, func(a, b Position) int { return strings.Compare(a.Key(), b.Key()) })
	raw, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		return fmt.Errorf("save TAXII position: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("save TAXII position: %w", err)
	}
	if err := fsutil.WriteFileSynced(f.path, append(raw, '\n')); err != nil {
		return fmt.Errorf("save TAXII position: %w", err)
	}
	return nil
}
