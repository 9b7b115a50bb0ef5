package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verband-cti/verband/graph"
)

// DefaultDataDir is where the store lives unless --data-dir says otherwise.
const DefaultDataDir = "./verband-data"

// app holds the global flags and the output streams shared by every
// command.
type app struct {
	stdout, stderr io.Writer

	dataDir  string
	json     bool
	logLevel string
	keyFile  string
	keyEnv   string
	cpuProf  string
	memProf  string
	profFile *os.File
	memFile  *os.File
}

func (a *app) addGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&a.dataDir, "data-dir", DefaultDataDir, "data directory of the store")
	f.BoolVar(&a.json, "json", false, "print machine-readable JSON on stdout")
	f.StringVar(&a.logLevel, "log-level", "", "log level: debug, info, warn or error (default info for serve and demo, warn otherwise)")
	f.StringVar(&a.keyFile, "encryption-key-file", "", "file holding the AES key for encryption at rest (16, 24 or 32 bytes, raw, hex or base64)")
	f.StringVar(&a.keyEnv, "encryption-key-env", "", "name of an environment variable holding the AES key (hex or base64)")
	f.StringVar(&a.cpuProf, "cpuprofile", "", "write a CPU profile of the whole command to this file (read it with `go tool pprof`)")
	f.StringVar(&a.memProf, "memprofile", "", "write an allocation profile of the whole command to this file when it ends (read it with `go tool pprof -sample_index=alloc_space`)")
}

// logger returns a text logger on stderr at the chosen level, or at def
// when --log-level was not given.
func (a *app) logger(def slog.Level) (*slog.Logger, error) {
	level := def
	if a.logLevel != "" {
		if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
			return nil, usagef("--log-level %q: want debug, info, warn or error", a.logLevel)
		}
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})), nil
}

// storeOptions returns the store options the global flags ask for.
func (a *app) storeOptions(log *slog.Logger) graph.Options {
	opts := graph.DefaultOptions()
	opts.EncryptionKeyFile = a.keyFile
	opts.EncryptionKeyEnv = a.keyEnv
	opts.Logger = log
	return opts
}

// openOptions returns the store options of the global flags, with the
// command-line logger.
func (a *app) openOptions() (graph.Options, error) {
	log, err := a.logger(slog.LevelWarn)
	if err != nil {
		return graph.Options{}, err
	}
	return a.storeOptions(log), nil
}

// openStore opens the store in the data directory. With mustExist, a
// missing directory is an error rather than a new empty store.
func (a *app) openStore(mustExist bool) (*graph.Store, error) {
	opts, err := a.openOptions()
	if err != nil {
		return nil, err
	}
	return a.openStoreWith(mustExist, opts)
}

// openStoreWith is openStore with the options a command adjusted.
func (a *app) openStoreWith(mustExist bool, opts graph.Options) (*graph.Store, error) {
	if mustExist {
		if _, err := os.Stat(a.dataDir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open store: data directory %s does not exist (ingest some data first, or name another with --data-dir)", a.dataDir)
		}
	}
	s, err := graph.Open(a.dataDir, opts)
	if errors.Is(err, graph.ErrLocked) {
		return nil, fmt.Errorf("open store: %w (is `verband serve` or `verband demo` running on it? stop it first)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// closeStore closes s and joins its error to err.
func closeStore(s *graph.Store, err *error) {
	if cerr := s.Close(); cerr != nil {
		*err = errors.Join(*err, fmt.Errorf("close store: %w", cerr))
	}
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// policyString renders a policy for people.
func policyString(p graph.Policy) string {
	s := p.TLP.String()
	if p.Owner != "" {
		s += ", owner " + p.Owner
	}
	if len(p.Sharing) > 0 {
		s += ", shared with " + strings.Join(p.Sharing, ", ")
	}
	if len(p.Users) > 0 {
		s += ", users " + strings.Join(p.Users, ", ")
	}
	return s
}

// policyJSON is a policy in --json output.
type policyJSON struct {
	Owner   string   `json:"owner,omitempty"`
	TLP     string   `json:"tlp"`
	Sharing []string `json:"sharing,omitempty"`
	Users   []string `json:"users,omitempty"`
}

func toPolicyJSON(p graph.Policy) policyJSON {
	return policyJSON{Owner: p.Owner, TLP: p.TLP.String(), Sharing: p.Sharing, Users: p.Users}
}

// startProfile starts the CPU profile that --cpuprofile asks for, and
// creates the file of --memprofile, so that a path that cannot be written
// fails before the command runs rather than after.
func (a *app) startProfile() error {
	if a.memProf != "" && a.memFile == nil {
		f, err := os.Create(a.memProf)
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		a.memFile = f
	}
	if a.cpuProf == "" || a.profFile != nil {
		return nil
	}
	f, err := os.Create(a.cpuProf)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return errors.Join(fmt.Errorf("--cpuprofile: start: %w", err), f.Close())
	}
	a.profFile = f
	return nil
}

// stopProfile ends the CPU profile, if one runs, and closes its file, and
// writes the allocation profile --memprofile asks for.
func (a *app) stopProfile() error {
	var errs []error
	if a.profFile != nil {
		pprof.StopCPUProfile()
		if err := a.profFile.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--cpuprofile: close %s: %w", a.cpuProf, err))
		}
		a.profFile = nil
	}
	if f := a.memFile; f != nil {
		a.memFile = nil
		// A collection first, so that the in-use figures are current.
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			errs = append(errs, fmt.Errorf("--memprofile: write %s: %w", a.memProf, err))
		}
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--memprofile: close %s: %w", a.memProf, err))
		}
	}
	return errors.Join(errs...)
}
