package bench

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/verband-cti/verband/graph"
	"github.com/verband-cti/verband/schema"
)

// Config configures a Generator.
type Config struct {
	// Objects is how many objects the generator emits, exactly.
	Objects int
	// Seed seeds every random choice: the same Config yields byte-identical
	// objects in the same order.
	Seed uint64
	// Orgs is the number of organizations that own and create objects; each
	// is an identity object emitted first. Default 16 (fewer when Objects is
	// small).
	Orgs int
}

// Item is one object to store, with the policy and provenance to store it
// under.
type Item struct {
	Object *schema.Object
	Meta   graph.Meta
}

// Source yields the objects of a benchmark graph in an order in which
// references mostly point to objects already yielded.
type Source interface {
	// Next returns the next item, or io.EOF after the last one.
	Next() (Item, error)
	// Len returns how many items the source yields in all.
	Len() int
}

// kind is a generated object kind. Relationship rules are kinds of their
// own, so that one mix table sets every proportion.
type kind uint8

const (
	kIdentity kind = iota
	// Observables.
	kIPv4
	kDomain
	kURL
	kFile
	kEmail
	// Domain objects.
	kIndicator
	kMalware
	kAttackPattern
	kIntrusionSet
	kCampaign
	kThreatActor
	kInfrastructure
	kTool
	kVulnerability
	// Relationships, by rule.
	kRelIndicates
	kRelBasedOn
	kRelResolvesTo
	kRelUses
	kRelAttributedTo
	kRelCommunicatesWith
	kRelTargets
	kRelConsistsOf
	// Containers.
	kReport
	kIncident
	kCase
	kGrouping
	numKinds
)

var kindType = [numKinds]string{
	kIdentity: "identity",
	kIPv4:     "ipv4-addr", kDomain: "domain-name", kURL: "url", kFile: "file", kEmail: "email-addr",
	kIndicator: "indicator", kMalware: "malware", kAttackPattern: "attack-pattern",
	kIntrusionSet: "intrusion-set", kCampaign: "campaign", kThreatActor: "threat-actor",
	kInfrastructure: "infrastructure", kTool: "tool", kVulnerability: "vulnerability",
	kRelIndicates: "relationship", kRelBasedOn: "relationship", kRelResolvesTo: "relationship",
	kRelUses: "relationship", kRelAttributedTo: "relationship", kRelCommunicatesWith: "relationship",
	kRelTargets: "relationship", kRelConsistsOf: "relationship",
	kReport: "report", kIncident: "incident", kCase: schema.TypeCase, kGrouping: "grouping",
}

// blockSize is the number of objects of one generation block; blockMix says
// how many of each kind one block holds (they sum to blockSize). The mix
// follows the shape of real CTI collections: half observables, a quarter
// relationships, 15% domain objects (most of them indicators) and 10%
// containers. Within a block, kinds are emitted in this order, so that
// relationships and containers reference objects already emitted.
const blockSize = 1000

var blockMix = [numKinds]int{
	kIPv4: 170, kDomain: 130, kURL: 70, kFile: 80, kEmail: 50, // 500 observables
	kIndicator: 60, kMalware: 20, kAttackPattern: 15, kIntrusionSet: 10, kCampaign: 10,
	kThreatActor: 5, kInfrastructure: 15, kTool: 5, kVulnerability: 10, // 150 domain objects
	kRelIndicates: 60, kRelBasedOn: 60, kRelResolvesTo: 65, kRelUses: 30, kRelAttributedTo: 10,
	kRelCommunicatesWith: 15, kRelTargets: 5, kRelConsistsOf: 5, // 250 relationships
	kReport: 40, kIncident: 25, kCase: 20, kGrouping: 15, // 100 containers
}

func isSCO(k kind) bool       { return k >= kIPv4 && k <= kEmail }
func isRel(k kind) bool       { return k >= kRelIndicates && k <= kRelConsistsOf }
func isContainer(k kind) bool { return k >= kReport }
func isEvidence(k kind) bool  { return isSCO(k) || k == kIndicator || k == kInfrastructure }
func isThreat(k kind) bool    { return k >= kMalware && k <= kVulnerability && k != kInfrastructure }

// Popularity. Containers share evidence, domains share hosting addresses,
// indicators point at malware families: in each case item i of a pool
// (in order of emission) is drawn with probability proportional to
// (zipfV+i)^-zipfS. With these values, at one million objects (100,000
// containers), the most shared member is in about 3% of all containers, the
// hundredth in about 350, the thousandth in about 35, and 90% of members are
// in exactly one container (the one that introduced them).
const (
	zipfS = 1.1
	zipfV = 10
)

// ref names an emitted object by kind and position in its pool.
type ref struct {
	k kind
	i uint32
}

// Stats counts what a Generator emitted.
type Stats struct {
	// Objects is the number of objects emitted so far.
	Objects int
	// ByType counts objects per STIX type.
	ByType map[string]int
	// Edges is the number of graph edges the objects imply: one per
	// relationship and one per reference in object_refs and created_by_ref.
	Edges int
}

// Generator emits a seeded synthetic CTI graph, one object at a time,
// without holding the objects: it keeps only the 16-byte ids of emitted
// objects (to reference them later) and the state of the current block.
// A Generator is not safe for concurrent use.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	voc   *vocabulary
	base  time.Time
	span  time.Duration
	orgs  int
	stats Stats

	pools  [numKinds][][16]byte
	zipf   [numKinds]*rand.Zipf
	expect [numKinds]int

	evidence, threat     []ref
	evZipf, threatZipf   *rand.Zipf
	community            []string // the AMBER sharing community: every organization but halfOrg
	nextIP               uint32
	blockObjects, blocks int

	// The current block.
	plan      [numKinds]int
	cur       kind
	curN      int
	start     [numKinds]int // pool sizes when the block began
	evStart   int
	values    [numKinds][]string // values of the block's observables
	indTarget []ref              // the observable each of the block's indicators is based on
	own       [][]ref            // the block's evidence assigned to each of its containers
}

// NewGenerator returns a generator for cfg.
func NewGenerator(cfg Config) *Generator {
	if cfg.Objects < 0 {
		cfg.Objects = 0
	}
	orgs := cfg.Orgs
	if orgs <= 0 {
		orgs = 16
	}
	orgs = max(1, min(orgs, cfg.Objects/1000))
	if cfg.Objects == 0 {
		orgs = 0
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7665_7262_616e_64)) // "verband"
	g := &Generator{
		cfg:  cfg,
		rng:  rng,
		voc:  newVocabulary(rng),
		base: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC),
		span: 6 * 365 * 24 * time.Hour,
		orgs: orgs,
		stats: Stats{
			ByType: map[string]int{},
		},
		cur: numKinds,
	}
	g.blockObjects = cfg.Objects - orgs
	for i := range orgs {
		if i != halfOrg {
			g.community = append(g.community, orgName(i))
		}
	}
	g.blocks = (g.blockObjects + blockSize - 1) / blockSize
	// Addresses walk the IPv4 space with a seeded odd stride, so they are
	// distinct and look scattered.
	g.nextIP = uint32(rng.Uint64())
	for k := range numKinds {
		g.expect[k] = 1 + blockMix[k]*g.blockObjects/blockSize
	}
	expEv, expThreat := 1, 1
	for k := range numKinds {
		if isEvidence(k) {
			expEv += g.expect[k]
		}
		if isThreat(k) {
			expThreat += g.expect[k]
		}
		g.zipf[k] = rand.NewZipf(rng, zipfS, zipfV, uint64(g.expect[k]))
	}
	g.evZipf = rand.NewZipf(rng, zipfS, zipfV, uint64(expEv))
	g.threatZipf = rand.NewZipf(rng, zipfS, zipfV, uint64(expThreat))
	return g
}

// Len returns the number of objects the generator emits in all.
func (g *Generator) Len() int { return g.cfg.Objects }

// Stats returns counts of what was emitted so far.
func (g *Generator) Stats() Stats {
	s := g.stats
	s.ByType = make(map[string]int, len(g.stats.ByType))
	for k, v := range g.stats.ByType {
		s.ByType[k] = v
	}
	return s
}

// Next returns the next object, or io.EOF after the last one.
func (g *Generator) Next() (Item, error) {
	if g.stats.Objects >= g.cfg.Objects {
		return Item{}, io.EOF
	}
	var it Item
	var err error
	if g.stats.Objects < g.orgs {
		it, err = g.identity()
	} else {
		for g.cur >= numKinds || g.curN >= g.plan[g.cur] {
			g.advance()
		}
		it, err = g.emit(g.cur, g.curN)
		g.curN++
	}
	if err != nil {
		return Item{}, fmt.Errorf("generate object %d: %w", g.stats.Objects, err)
	}
	g.stats.Objects++
	g.stats.ByType[it.Object.Type]++
	return it, nil
}

// WriteNDJSON writes every remaining object as one JSON line each and
// returns how many it wrote. The same Config always writes the same bytes.
func (g *Generator) WriteNDJSON(w io.Writer) (int, error) {
	n := 0
	for {
		it, err := g.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		b, err := it.Object.MarshalJSON()
		if err != nil {
			return n, fmt.Errorf("encode %s: %w", it.Object.ID, err)
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return n, fmt.Errorf("write object %d: %w", n, err)
		}
		n++
	}
}

// advance moves to the next kind, starting a new block after the last.
func (g *Generator) advance() {
	g.cur++
	g.curN = 0
	if g.cur < numKinds {
		return
	}
	// A new block: the last one may be partial, with the mix scaled down.
	done := g.stats.Objects - g.orgs
	size := min(blockSize, g.blockObjects-done)
	g.plan = scaleMix(size)
	for k := range numKinds {
		g.start[k] = len(g.pools[k])
		g.values[k] = g.values[k][:0]
	}
	g.evStart = len(g.evidence)
	g.indTarget = g.indTarget[:0]
	g.own = nil
	g.cur = 0
}

// scaleMix returns the kind counts of a block of size objects, by largest
// remainder so that they sum to size exactly.
func scaleMix(size int) [numKinds]int {
	var plan [numKinds]int
	if size >= blockSize {
		return blockMix
	}
	type frac struct {
		k   kind
		rem int
	}
	left := size
	var fr []frac
	for k := range numKinds {
		plan[k] = blockMix[k] * size / blockSize
		left -= plan[k]
		fr = append(fr, frac{k, blockMix[k] * size % blockSize})
	}
	// Stable selection of the largest remainders; ties go to earlier kinds.
	for ; left > 0; left-- {
		best := -1
		for i, f := range fr {
			if f.rem > 0 && (best < 0 || f.rem > fr[best].rem) {
				best = i
			}
		}
		plan[fr[best].k]++
		fr[best].rem = 0
	}
	return plan
}

// pick draws an object of kind k: by popularity over the whole pool, or,
// when local is set, uniformly among those of the current block. ok is
// false when there is none.
func (g *Generator) pick(k kind, local bool) (ref, bool) {
	n := len(g.pools[k])
	if n == 0 {
		return ref{}, false
	}
	if local {
		if from := g.start[k]; n > from {
			return ref{k, uint32(from + g.rng.IntN(n-from))}, true
		}
	}
	return ref{k, uint32(g.zipf[k].Uint64() % uint64(n))}, true
}

// pickOf draws from one of several kinds, chosen uniformly, falling back to
// the others when the chosen pool is empty.
func (g *Generator) pickOf(local bool, kinds ...kind) (ref, bool) {
	off := g.rng.IntN(len(kinds))
	for i := range kinds {
		if r, ok := g.pick(kinds[(off+i)%len(kinds)], local); ok {
			return r, true
		}
	}
	return ref{}, false
}

// id returns the STIX id of an emitted object.
func (g *Generator) id(r ref) string {
	return formatID(kindType[r.k], g.pools[r.k][r.i])
}

func formatID(typ string, u [16]byte) string {
	b := make([]byte, 0, len(typ)+2+36)
	b = append(b, typ...)
	b = append(b, "--"...)
	var h [32]byte
	hex.Encode(h[:], u[:])
	b = append(b, h[0:8]...)
	b = append(b, '-')
	b = append(b, h[8:12]...)
	b = append(b, '-')
	b = append(b, h[12:16]...)
	b = append(b, '-')
	b = append(b, h[16:20]...)
	b = append(b, '-')
	b = append(b, h[20:32]...)
	return string(b)
}

// parseUUID reads the uuid of a STIX id produced by formatID or SCOID.
func parseUUID(id string) ([16]byte, error) {
	var u [16]byte
	if len(id) < 36 {
		return u, fmt.Errorf("id %q: too short", id)
	}
	s := id[len(id)-36:]
	var h [32]byte
	copy(h[0:8], s[0:8])
	copy(h[8:12], s[9:13])
	copy(h[12:16], s[14:18])
	copy(h[16:20], s[19:23])
	copy(h[20:32], s[24:36])
	if _, err := hex.Decode(u[:], h[:]); err != nil {
		return u, fmt.Errorf("id %q: %w", id, err)
	}
	return u, nil
}

// scoNamespace is the UUIDv5 namespace of STIX 2.1 deterministic SCO ids.
var scoNamespace = func() []byte {
	u, err := parseUUID(schema.SCONamespace)
	if err != nil {
		panic(err)
	}
	return u[:]
}()

// scoUUID returns the version 5 uuid of name in the SCO namespace.
func scoUUID(name []byte) [16]byte {
	h := sha1.New()
	h.Write(scoNamespace)
	h.Write(name)
	var sum [sha1.Size]byte
	var u [16]byte
	copy(u[:], h.Sum(sum[:0]))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

// newUUID draws a random (version 4) uuid.
func (g *Generator) newUUID() [16]byte {
	var u [16]byte
	a, b := g.rng.Uint64(), g.rng.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (56 - 8*i))
		u[8+i] = byte(b >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// now returns the creation time of the next object: time runs through the
// data set from oldest to newest, with jitter.
func (g *Generator) now() time.Time {
	frac := float64(g.stats.Objects) / float64(max(1, g.cfg.Objects))
	t := g.base.Add(time.Duration(frac * float64(g.span)))
	t = t.Add(time.Duration(g.rng.IntN(3600_000)) * time.Millisecond)
	return t.Truncate(time.Millisecond)
}

// halfOrg is the organization the enforcement comparison reads as (see
// HalfViewer): a member agency left out of the AMBER sharing community, so
// it sees about half of the graph while the others see most of it.
const halfOrg = 1

// halfViewer is an analyst of halfOrg, the organization the generator
// leaves out of its AMBER sharing community.
var halfViewer = graph.Viewer{Org: orgName(halfOrg)}

// HalfViewer returns the viewer of the enforcement comparison: an analyst
// of the organization the synthetic graph's AMBER sharing community leaves
// out, who sees about half of the graph (see Generator). On an edge list,
// whose objects are all GREEN, it sees everything.
func HalfViewer() graph.Viewer { return halfViewer }

// policy draws the access policy of an object owned by org. The mix:
//
//   - 40% GREEN and 6% CLEAR, which every organization sees;
//   - 40% AMBER shared with the community, every organization but halfOrg;
//   - 12% AMBER shared with the next organization only;
//   - 2% RED, for the owner alone.
//
// Every organization but halfOrg sees the community's objects, so it sees
// about 88% of the graph (with 16 organizations: 86% plus its own and its
// neighbour's share of the rest). halfOrg sees GREEN, CLEAR, what it owns
// and what organization 0 shares with it: about half. The draw is one
// number per object, independent of the object's kind and place, so the
// hidden half is spread over every kind of object and through the whole
// graph: walks from visible nodes cross hidden nodes and edges.
func (g *Generator) policy(org int) (graph.Policy, schema.TLP) {
	p := graph.Policy{Owner: orgName(org)}
	switch x := g.rng.IntN(100); {
	case x < 40:
		p.TLP = schema.TLPGreen
	case x < 80:
		p.TLP = schema.TLPAmber
		p.Sharing = g.community
	case x < 92:
		p.TLP = schema.TLPAmber
		if g.orgs > 1 {
			p.Sharing = []string{orgName((org + 1) % g.orgs)}
		}
	case x < 98:
		p.TLP = schema.TLPClear
	default:
		p.TLP = schema.TLPRed
	}
	return p, p.TLP
}

func orgName(i int) string { return fmt.Sprintf("org-%02d", i) }

// obj collects the properties of one object under construction.
type obj struct {
	props map[string]json.RawMessage
	typ   string
	id    string
	t     time.Time
}

func newObj(typ string, n int) *obj {
	return &obj{typ: typ, props: make(map[string]json.RawMessage, n)}
}

func (o *obj) str(k, v string)            { o.props[k] = jsonString(v) }
func (o *obj) raw(k string, v []byte)     { o.props[k] = v }
func (o *obj) strs(k string, vs []string) { o.props[k] = jsonStrings(vs) }

// finish sets type, id, spec_version, markings and, for non-observables,
// created and modified, and returns the object.
func (o *obj) finish(tlp schema.TLP) *schema.Object {
	o.props["type"] = jsonString(o.typ)
	o.props["id"] = jsonString(o.id)
	o.props["spec_version"] = specVersion
	o.props["object_marking_refs"] = markingRefs[tlp]
	so := &schema.Object{Type: o.typ, ID: o.id, Props: o.props}
	if !o.t.IsZero() {
		ts := jsonString(o.t.Format(timeLayout))
		o.props["created"] = ts
		o.props["modified"] = ts
		so.Created, so.Modified = o.t, o.t
	}
	return so
}

// Raw values shared by many objects. Nothing writes into them: a changed
// property gets a new slice.
var (
	specVersion = json.RawMessage(`"2.1"`)
	markingRefs = func() (m [schema.TLPRed + 1]json.RawMessage) {
		for t := range m {
			m[t] = jsonStrings([]string{schema.TLP(t).MarkingID()})
		}
		return m
	}()
)

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func (g *Generator) meta(p graph.Policy) graph.Meta {
	return graph.Meta{Policy: p, Provenance: graph.Provenance{Source: "bench"}}
}

// identity emits organization i.
func (g *Generator) identity() (Item, error) {
	i := len(g.pools[kIdentity])
	u := g.newUUID()
	g.pools[kIdentity] = append(g.pools[kIdentity], u)
	o := newObj("identity", 8)
	o.id = formatID("identity", u)
	o.t = g.base
	o.str("name", fmt.Sprintf("Organization %02d CERT", i))
	o.str("identity_class", "organization")
	o.strs("sectors", []string{"government-national"})
	p := graph.Policy{Owner: orgName(i), TLP: schema.TLPClear}
	return Item{o.finish(p.TLP), g.meta(p)}, nil
}

// emit emits the n-th object of kind k in the current block.
func (g *Generator) emit(k kind, n int) (Item, error) {
	switch {
	case isSCO(k):
		return g.observable(k)
	case isRel(k):
		return g.relationship(k, n)
	case isContainer(k):
		return g.container(k, n)
	default:
		return g.domainObject(k)
	}
}

// observable emits an SCO with a fresh, canonical value and its
// deterministic id.
func (g *Generator) observable(k kind) (Item, error) {
	org := g.rng.IntN(g.orgs)
	p, tlp := g.policy(org)
	o := newObj(kindType[k], 8)
	seq := len(g.pools[k])
	var value, md5 string
	switch k {
	case kIPv4:
		value = g.ipv4()
		o.str("value", value)
	case kDomain:
		value = g.domain(seq)
		o.str("value", value)
	case kURL:
		host := g.domain(seq + 1<<24)
		if d, ok := g.pick(kDomain, true); ok && g.rng.IntN(2) == 0 {
			host = g.valueOf(d)
		}
		scheme := "http"
		if g.rng.IntN(3) == 0 {
			scheme = "https"
		}
		value = scheme + "://" + host + "/" + g.voc.word() + "/" + g.voc.rare(g.rng) + strconv.FormatUint(uint64(seq), 36) + ".php"
		o.str("value", value)
	case kFile:
		var sha1, sha256 string
		md5, sha1, sha256 = g.hexString(16), g.hexString(20), g.hexString(32)
		value = sha256
		o.raw("hashes", []byte(`{"MD5":"`+md5+`","SHA-1":"`+sha1+`","SHA-256":"`+sha256+`"}`))
		o.str("name", g.voc.rare(g.rng)+[]string{".exe", ".dll", ".doc", ".js", ".lnk"}[g.rng.IntN(5)])
		o.raw("size", strconv.AppendInt(nil, int64(1024+g.rng.IntN(4<<20)), 10))
	case kEmail:
		host := g.domain(seq + 2<<24)
		if d, ok := g.pick(kDomain, true); ok && g.rng.IntN(2) == 0 {
			host = g.valueOf(d)
		}
		value = g.voc.rare(g.rng) + "." + strconv.FormatUint(uint64(seq), 36) + "@" + host
		o.str("value", value)
	}
	// The id is STIX 2.1's UUIDv5 over the canonical JSON of the id
	// contributing properties, which for these shapes is written directly
	// (the tests check it against schema.SCOID).
	var name []byte
	if k == kFile {
		name = append(name, `{"hashes":{"MD5":"`...)
		name = append(name, md5...)
		name = append(name, `"},"name":`...)
		name = append(name, o.props["name"]...)
		name = append(name, '}')
	} else {
		name = append(name, `{"value":`...)
		name = append(name, o.props["value"]...)
		name = append(name, '}')
	}
	u := scoUUID(name)
	o.id = formatID(o.typ, u)
	so := o.finish(tlp)
	g.pools[k] = append(g.pools[k], u)
	g.values[k] = append(g.values[k], value)
	g.evidence = append(g.evidence, ref{k, uint32(seq)})
	return Item{so, g.meta(p)}, nil
}

// valueOf returns the value of an observable of the current block.
func (g *Generator) valueOf(r ref) string { return g.values[r.k][int(r.i)-g.start[r.k]] }

// ipv4 returns a fresh public-looking address.
func (g *Generator) ipv4() string {
	for {
		g.nextIP += 0x9e3779b1 // odd: visits every address once per 2^32 steps
		a := g.nextIP
		switch b0 := a >> 24; {
		case b0 == 0, b0 == 10, b0 == 127, b0 >= 224, a>>16 == 0xc0a8, a>>20 == 0xac1:
			continue // unspecified, private, loopback, multicast and reserved
		}
		return strconv.Itoa(int(a>>24)) + "." + strconv.Itoa(int(a>>16&0xff)) + "." + strconv.Itoa(int(a>>8&0xff)) + "." + strconv.Itoa(int(a&0xff))
	}
}

var tlds = []string{"com", "net", "org", "info", "biz", "ru", "cn", "io", "xyz", "top", "online", "site"}

// domain returns a fresh domain name: seq makes it unique.
func (g *Generator) domain(seq int) string {
	var s string
	if g.rng.IntN(4) == 0 {
		s = []string{"cdn", "mail", "update", "api", "login", "static"}[g.rng.IntN(6)] + "."
	}
	return s + g.voc.rare(g.rng) + "-" + strconv.FormatUint(uint64(seq), 36) + "." + tlds[g.rng.IntN(len(tlds))]
}

func (g *Generator) hexString(n int) string {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		x := g.rng.Uint64()
		for j := i; j < min(n, i+8); j++ {
			b[j] = byte(x)
			x >>= 8
		}
	}
	return hex.EncodeToString(b)
}

// title returns n capitalised words, rare ones so that names discriminate.
func (g *Generator) title(n int) string {
	b := make([]byte, 0, 12*n)
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		w := g.voc.rare(g.rng)
		if i == 0 || g.rng.IntN(3) == 0 {
			w = g.voc.word()
			if len(w) < 4 {
				w = g.voc.rare(g.rng)
			}
		}
		if c := w[0]; c >= 'a' && c <= 'z' {
			b = append(b, c-'a'+'A')
			w = w[1:]
		}
		b = append(b, w...)
	}
	return string(b)
}

// sentence returns 15 to 40 words drawn by frequency.
func (g *Generator) sentence() string {
	n := 15 + g.rng.IntN(26)
	b := make([]byte, 0, 8*n)
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, g.voc.word()...)
	}
	return string(append(b, '.'))
}

// creator picks the creating organization of an SDO.
func (g *Generator) creator() (int, string) {
	org := g.rng.IntN(g.orgs)
	return org, g.id(ref{kIdentity, uint32(org)})
}

// domainObject emits an SDO with text.
func (g *Generator) domainObject(k kind) (Item, error) {
	org, by := g.creator()
	p, tlp := g.policy(org)
	o := newObj(kindType[k], 14)
	u := g.newUUID()
	o.id = formatID(o.typ, u)
	o.t = g.now()
	o.str("created_by_ref", by)
	switch k {
	case kIndicator:
		target, pattern := g.indicatorPattern()
		g.indTarget = append(g.indTarget, target)
		o.str("name", "Indicator "+g.title(2))
		o.str("pattern", pattern)
		o.str("pattern_type", "stix")
		o.str("valid_from", o.t.Format(timeLayout))
		o.strs("indicator_types", []string{"malicious-activity"})
	case kMalware:
		o.str("name", g.title(2+g.rng.IntN(3)))
		o.str("description", g.sentence())
		o.raw("is_family", []byte("true"))
		o.strs("malware_types", []string{[]string{"trojan", "backdoor", "ransomware", "dropper", "spyware"}[g.rng.IntN(5)]})
	case kAttackPattern:
		o.str("name", g.title(2+g.rng.IntN(3)))
		o.str("description", g.sentence())
		ext := fmt.Sprintf("T%04d", 1000+g.rng.IntN(700))
		if g.rng.IntN(2) == 0 {
			ext += fmt.Sprintf(".%03d", 1+g.rng.IntN(9))
		}
		o.raw("external_references", []byte(`[{"external_id":"`+ext+`","source_name":"mitre-attack"}]`))
	case kIntrusionSet, kCampaign, kThreatActor:
		o.str("name", g.title(2+g.rng.IntN(3)))
		o.str("description", g.sentence())
		o.strs("aliases", []string{g.title(2)})
		if k == kThreatActor {
			o.strs("threat_actor_types", []string{"nation-state"})
		} else {
			o.str("first_seen", o.t.Format(timeLayout))
		}
	case kInfrastructure:
		o.str("name", g.title(2+g.rng.IntN(3)))
		o.str("description", g.sentence())
		o.strs("infrastructure_types", []string{"command-and-control"})
	case kTool:
		o.str("name", g.title(2+g.rng.IntN(2)))
		o.str("description", g.sentence())
	case kVulnerability:
		cve := fmt.Sprintf("CVE-%d-%05d", 2015+g.rng.IntN(10), g.rng.IntN(60000))
		o.str("name", cve)
		o.str("description", g.sentence())
		o.raw("external_references", []byte(`[{"external_id":"`+cve+`","source_name":"cve"}]`))
	}
	seq := len(g.pools[k])
	g.pools[k] = append(g.pools[k], u)
	g.stats.Edges++ // created_by_ref
	if isEvidence(k) {
		g.evidence = append(g.evidence, ref{k, uint32(seq)})
	}
	if isThreat(k) {
		g.threat = append(g.threat, ref{k, uint32(seq)})
	}
	return Item{o.finish(tlp), g.meta(p)}, nil
}

// indicatorPattern picks an observable of the current block and returns it
// with a STIX pattern that matches it. Without one, the pattern names a
// fresh address that is not stored.
func (g *Generator) indicatorPattern() (ref, string) {
	r, ok := g.pickOf(true, kIPv4, kDomain, kURL, kFile)
	if !ok || int(r.i) < g.start[r.k] {
		return ref{k: numKinds}, "[ipv4-addr:value = '" + g.ipv4() + "']"
	}
	v := g.valueOf(r)
	if r.k == kFile {
		return r, "[file:hashes.'SHA-256' = '" + v + "']"
	}
	return r, "[" + kindType[r.k] + ":value = '" + v + "']"
}

var relName = [numKinds]string{
	kRelIndicates: "indicates", kRelBasedOn: "based-on", kRelResolvesTo: "resolves-to",
	kRelUses: "uses", kRelAttributedTo: "attributed-to", kRelCommunicatesWith: "communicates-with",
	kRelTargets: "targets", kRelConsistsOf: "consists-of",
}

// relationship emits the n-th relationship of rule k in the block.
func (g *Generator) relationship(k kind, n int) (Item, error) {
	var src, dst ref
	ok1, ok2 := false, false
	local := func(kk kind, n int) (ref, bool) {
		if i := g.start[kk] + n; i < len(g.pools[kk]) {
			return ref{kk, uint32(i)}, true
		}
		return g.pick(kk, false)
	}
	switch k {
	case kRelIndicates:
		src, ok1 = local(kIndicator, n)
		dst, ok2 = g.pick(kMalware, false)
	case kRelBasedOn:
		src, ok1 = local(kIndicator, n)
		if n < len(g.indTarget) && g.indTarget[n].k != numKinds {
			dst, ok2 = g.indTarget[n], true
		}
	case kRelResolvesTo:
		src, ok1 = local(kDomain, n)
		dst, ok2 = g.pick(kIPv4, false)
	case kRelUses:
		src, ok1 = g.pickOf(false, kIntrusionSet, kCampaign, kMalware)
		dst, ok2 = g.pickOf(false, kMalware, kAttackPattern, kTool)
	case kRelAttributedTo:
		if g.rng.IntN(2) == 0 {
			src, ok1 = g.pick(kCampaign, false)
			dst, ok2 = g.pick(kIntrusionSet, false)
		} else {
			src, ok1 = g.pick(kIntrusionSet, false)
			dst, ok2 = g.pick(kThreatActor, false)
		}
	case kRelCommunicatesWith:
		src, ok1 = g.pick(kMalware, false)
		dst, ok2 = g.pickOf(true, kIPv4, kDomain, kURL)
	case kRelTargets:
		src, ok1 = g.pickOf(false, kIntrusionSet, kMalware)
		dst, ok2 = g.pick(kVulnerability, false)
	case kRelConsistsOf:
		src, ok1 = local(kInfrastructure, n)
		dst, ok2 = g.pickOf(true, kIPv4, kDomain)
	}
	rt := relName[k]
	if !ok1 || !ok2 {
		// Too few objects of the right kinds (tiny graphs): relate two
		// organizations instead, so the count stays exact.
		rt = "related-to"
		src = ref{kIdentity, uint32(g.rng.IntN(g.orgs))}
		dst = ref{kIdentity, uint32(g.rng.IntN(g.orgs))}
	}
	org, by := g.creator()
	p, tlp := g.policy(org)
	o := newObj("relationship", 10)
	o.id = formatID("relationship", g.newUUID())
	o.t = g.now()
	o.str("created_by_ref", by)
	o.str("relationship_type", rt)
	o.str("source_ref", g.id(src))
	o.str("target_ref", g.id(dst))
	g.stats.Edges++
	return Item{o.finish(tlp), g.meta(p)}, nil
}

// assignEvidence shares the block's new evidence among its containers:
// each container gets a size drawn from a skewed distribution, most
// evidence lands in exactly one container, and leftovers go round-robin.
func (g *Generator) assignEvidence() {
	nc := 0
	for k := kReport; k < numKinds; k++ {
		nc += g.plan[k]
	}
	g.own = make([][]ref, nc)
	if nc == 0 {
		return
	}
	ev := append([]ref(nil), g.evidence[g.evStart:]...)
	g.rng.Shuffle(len(ev), func(i, j int) { ev[i], ev[j] = ev[j], ev[i] })
	mean := float64(len(ev)) / float64(nc)
	next := 0
	for c := range nc {
		want := int(g.rng.ExpFloat64() * mean)
		end := min(len(ev), next+max(1, want))
		g.own[c] = ev[next:end:end]
		next = end
	}
	for c := 0; next < len(ev); c = (c + 1) % nc {
		g.own[c] = append(g.own[c], ev[next])
		next++
	}
}

// container emits the n-th container of kind k in the block: its own
// evidence, a few popular observables shared with other containers, and
// for reports and groupings the threat objects they are about.
func (g *Generator) container(k kind, n int) (Item, error) {
	if g.own == nil {
		g.assignEvidence()
	}
	c := n
	for kk := kReport; kk < k; kk++ {
		c += g.plan[kk]
	}
	refs := append([]ref(nil), g.own[c]...)
	for range g.rng.IntN(5) {
		if len(g.evidence) > 0 {
			refs = append(refs, g.evidence[g.evZipf.Uint64()%uint64(len(g.evidence))])
		}
	}
	threats := g.rng.IntN(2)
	if k == kReport || k == kGrouping {
		threats = 1 + g.rng.IntN(3)
	}
	for range threats {
		if len(g.threat) > 0 {
			refs = append(refs, g.threat[g.threatZipf.Uint64()%uint64(len(g.threat))])
		}
	}
	ids := make([]string, 0, len(refs))
	seen := make(map[ref]bool, len(refs))
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			ids = append(ids, g.id(r))
		}
	}
	if len(ids) == 0 {
		ids = append(ids, g.id(ref{kIdentity, uint32(g.rng.IntN(g.orgs))}))
	}
	org, by := g.creator()
	p, tlp := g.policy(org)
	o := newObj(kindType[k], 16)
	o.id = formatID(o.typ, g.newUUID())
	o.t = g.now()
	o.str("created_by_ref", by)
	o.str("description", g.sentence())
	switch k {
	case kReport:
		o.str("name", "Report "+g.title(3))
		o.str("published", o.t.Format(timeLayout))
		o.strs("report_types", []string{"threat-report"})
	case kIncident:
		o.str("name", "Incident "+g.title(2))
	case kCase:
		o.str("name", "Case "+g.title(2))
		o.str("status", schema.CaseStatuses[g.rng.IntN(len(schema.CaseStatuses))])
		o.str("severity", schema.CaseSeverities[g.rng.IntN(len(schema.CaseSeverities))])
		o.str("x_owner_organization", orgName(org))
		o.strs("participating_organizations", []string{orgName(org), orgName((org + 1) % g.orgs)})
	case kGrouping:
		o.str("name", "Grouping "+g.title(2))
		o.str("context", "suspicious-activity")
	}
	o.strs("object_refs", ids)
	g.stats.Edges += len(ids) + 1
	return Item{o.finish(tlp), g.meta(p)}, nil
}

// jsonString encodes s as a JSON string.
func jsonString(s string) json.RawMessage {
	return schema.AppendJSONString(make([]byte, 0, len(s)+2), s)
}

func jsonStrings(vs []string) json.RawMessage {
	n := 2
	for _, v := range vs {
		n += len(v) + 3
	}
	return schema.AppendJSONStrings(make([]byte, 0, n), vs)
}
