package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/verband-cti/verband/graph/correlate"
	"github.com/verband-cti/verband/ingest/refdata"
)

// correlationFlags are the flags that say which values link no containers
// and where registered domains stop, shared by serve and cluster run.
type correlationFlags struct {
	warninglists  []string
	sharedParents []string
	builtinShared bool
}

// add defines the flags on f.
func (c *correlationFlags) add(f *pflag.FlagSet) {
	f.StringSliceVar(&c.warninglists, "warninglists", nil, "MISP warninglists (files, or folders of list.json files) whose values link no containers in correlations")
	f.StringSliceVar(&c.sharedParents, "shared-parents", nil, `files listing shared parent domains, one per line (dynamic DNS, tunnel and free hosting domains such as linkpc.net), added to the built-in list: subdomains of different customers of one provider do not link through it`)
	f.BoolVar(&c.builtinShared, "builtin-shared-parents", true, "use Verband's built-in list of shared parent domains")
}

// apply loads the lists the flags name into o; cmd names the command in
// errors.
func (c *correlationFlags) apply(cmd string, o *correlate.Options) error {
	if len(c.warninglists) > 0 {
		wl, err := refdata.LoadWarninglists(c.warninglists...)
		if err != nil {
			return fmt.Errorf("%s: --warninglists: %w", cmd, err)
		}
		o.Warninglisted = wl.Listed
	}
	shared, err := refdata.LoadSharedParents(c.sharedParents...)
	if err != nil {
		return fmt.Errorf("%s: --shared-parents: %w", cmd, err)
	}
	if c.builtinShared {
		shared.Add(refdata.BuiltinSharedParents())
	}
	if shared.Len() > 0 {
		o.SharedParent = shared.Has
	}
	return nil
}
