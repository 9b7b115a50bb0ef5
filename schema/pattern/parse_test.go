package pattern

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// specExamples are the patterns of the STIX 2.1 specification (part 9),
// as the OASIS pattern validator tests them.
var specExamples = []string{
	`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
	`[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']`,
	`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']`,
	`[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
	`([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS`,
	`[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']`,
	`[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']`,
	`[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']`,
	`[file:extensions.windows-pebinary-ext.sections[*].entropy > 7.0]`,
	`[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']`,
	`[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']`,
	`[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS`,
	`[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']`,
	`[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']`,
	`[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']`,
	`[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']`,
	`[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']`,
	`[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']`,
	`[x-usb-device:usbdrive.serial_number = '575833314133343231313937']`,
	`[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES'^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS`,
	`[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']`,
	`([file:name = 'foo.dll'] AND [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']`,
	// More shapes from the specification's text and the validator's tests.
	`[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
	`[file:size = 1280]`, `[file:size != 1280]`, `[file:size < 1024]`, `[file:size <= 1024]`, `[file:size > 1024]`, `[file:size >= 1024]`,
	`[file:extended_properties.'ntfs-ext'.sid = '234']`,
	`[ipv4addr:value NOT ISSUBSET '192.168.0.1/24']`,
	`[user-account:value = 'Peter'] AND [user-account:value != 'Paul'] AND [user-account:value = 'Mary'] WITHIN 5 SECONDS`,
	`[file:file_system_properties.file_name LIKE 'name%']`,
	`[file:file_name IN ('test.txt', 'test2.exe', 'README')]`,
	`[file:size IN (1024, 2048, 4096)]`,
	`[network-connection:extended_properties[0].source_payload MATCHES 'dGVzdHRlc3R0ZXN0']`,
	`[x_whatever:detected == t'2018-03-22T12:11:14.1Z']`,
	`[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']`,
	`[foo:bar=1] REPEATS 9 TIMES`,
	`( [(network-traffic:dst_port IN(443,6443,8443) AND network-traffic:src_packets != 0) ])`,
	`([win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar']) WITHIN 5 SECONDS WITHIN 6 SECONDS`,
	`([win-registry-key:key = 'hkey_local_machine\\\\foo\\\\bar'] REPEATS 2 TIMES) REPEATS 2 TIMES`,
	`[network-traffic:src_port = 37020 AND user-account:user_id = 'root'] START t'2016-06-01T01:30:00.123Z' STOP t'2016-06-01T02:20:00.123Z' OR [ipv4-addr:value = '192.168.122.83'] START t'2016-06-01T03:55:00.123Z' STOP t'2016-06-01T04:30:24.743Z'`,
	`[EXISTS windows-registry-key:values[*].name AND user-account:is_privileged = true AND x:y[-1] <> false]`,
	`[process:pid NOT = 4 AND process:x_score > -1.5 AND process:x_score < .5 AND process:x_n >= +3] /* a comment */ // and another`,
	`[x:a = h''] WITHIN 2.5 SECONDS`,
}

func TestParseSpecExamples(t *testing.T) {
	for _, s := range specExamples {
		p, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%s): %v", s, err)
			continue
		}
		checkRoundTrip(t, s, p)
	}
}

// checkRoundTrip asserts that the printed pattern parses to the same tree
// and prints the same again.
func checkRoundTrip(t *testing.T, src string, p *Pattern) {
	t.Helper()
	printed := p.String()
	q, err := Parse(printed)
	if err != nil {
		t.Fatalf("Parse(String(Parse(%q))) = Parse(%q): %v", src, printed, err)
	}
	if again := q.String(); again != printed {
		t.Fatalf("printing is not stable for %q:\n first %s\nsecond %s", src, printed, again)
	}
	if a, b := clearPos(p), clearPos(q); !reflect.DeepEqual(a, b) {
		t.Fatalf("parse(print(p)) != p for %q (printed %q)", src, printed)
	}
}

// clearPos returns a copy of the tree with every offset zero.
func clearPos(p *Pattern) *Pattern {
	var obs func(ObservationExpr) ObservationExpr
	var cmp func(ComparisonExpr) ComparisonExpr
	obs = func(e ObservationExpr) ObservationExpr {
		switch e := e.(type) {
		case *Observation:
			return &Observation{Expr: cmp(e.Expr)}
		case *ObservationOp:
			return &ObservationOp{Op: e.Op, Left: obs(e.Left), Right: obs(e.Right)}
		case *Qualified:
			return &Qualified{Expr: obs(e.Expr), Qualifier: e.Qualifier}
		}
		return e
	}
	cmp = func(e ComparisonExpr) ComparisonExpr {
		switch e := e.(type) {
		case *ComparisonOp:
			return &ComparisonOp{Op: e.Op, Left: cmp(e.Left), Right: cmp(e.Right)}
		case *Comparison:
			c := *e
			c.Offset = 0
			return &c
		}
		return e
	}
	return &Pattern{Expr: obs(p.Expr)}
}

func TestParseTree(t *testing.T) {
	p, err := Parse(`[a:x = 1 OR a:y = 2 AND a:z = 3] AND [b:v = 'q'] OR [c:w = 'r'] FOLLOWEDBY [d:u = 'o'] WITHIN 5 SECONDS`)
	if err != nil {
		t.Fatal(err)
	}
	// FOLLOWEDBY at the top, OR below it, AND below that; the qualifier
	// binds to [d:u = 'o'] alone.
	fb, ok := p.Expr.(*ObservationOp)
	if !ok || fb.Op != FollowedBy {
		t.Fatalf("top = %T %v, want FOLLOWEDBY", p.Expr, p.Expr)
	}
	if q, ok := fb.Right.(*Qualified); !ok || q.Qualifier.Kind != Within || q.Qualifier.Value.Int != 5 {
		t.Errorf("right of FOLLOWEDBY = %#v, want a WITHIN 5 qualified observation", fb.Right)
	}
	or, ok := fb.Left.(*ObservationOp)
	if !ok || or.Op != Or {
		t.Fatalf("left of FOLLOWEDBY = %#v, want OR", fb.Left)
	}
	and, ok := or.Left.(*ObservationOp)
	if !ok || and.Op != And {
		t.Fatalf("left of OR = %#v, want AND", or.Left)
	}
	first := and.Left.(*Observation).Expr.(*ComparisonOp)
	if first.Op != Or {
		t.Fatalf("inside the first brackets: %v, want OR at the top", first.Op)
	}
	if r, ok := first.Right.(*ComparisonOp); !ok || r.Op != And {
		t.Errorf("AND must bind tighter than OR inside brackets, got %#v", first.Right)
	}
	if got, want := p.String(), `[a:x = 1 OR a:y = 2 AND a:z = 3] AND [b:v = 'q'] OR [c:w = 'r'] FOLLOWEDBY [d:u = 'o'] WITHIN 5 SECONDS`; got != want {
		t.Errorf("String() = %s\nwant       %s", got, want)
	}
}

func TestParseLiterals(t *testing.T) {
	p, err := Parse(`[x:a = 'it\'s \\ here' AND x:b = -42 AND x:c = 2.50 AND x:d = b'AAE=' AND x:e = h'FFd8' AND x:f = t'2016-01-01T00:00:00.5Z' AND x:g = false AND x:'h-1'.'AND'[*][3] = 1]`)
	if err != nil {
		t.Fatal(err)
	}
	var got []Comparison
	var walk func(ComparisonExpr)
	walk = func(e ComparisonExpr) {
		switch e := e.(type) {
		case *ComparisonOp:
			walk(e.Left)
			walk(e.Right)
		case *Comparison:
			got = append(got, *e)
		}
	}
	walk(p.Expr.(*Observation).Expr)
	want := []Literal{
		{Kind: String, Str: `it's \ here`},
		{Kind: Int, Int: -42},
		{Kind: Float, Float: 2.5},
		{Kind: Binary, Bytes: []byte{0, 1}},
		{Kind: Hex, Bytes: []byte{0xff, 0xd8}},
		{Kind: Timestamp, Str: "2016-01-01T00:00:00.5Z"},
		{Kind: Bool, Bool: false},
		{Kind: Int, Int: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("%d comparisons, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i].Value, want[i]) {
			t.Errorf("literal %d = %#v, want %#v", i, got[i].Value, want[i])
		}
	}
	last := got[len(got)-1].Path
	wantPath := ObjectPath{Type: "x", Steps: []Step{{Kind: Key, Name: "h-1"}, {Kind: Key, Name: "AND"}, {Kind: AnyIndex}, {Kind: Index, Index: 3}}}
	if !reflect.DeepEqual(last, wantPath) {
		t.Errorf("path = %#v, want %#v", last, wantPath)
	}
	if s := last.String(); s != `x:'h-1'.'AND'[*][3]` {
		t.Errorf("path prints as %s", s)
	}
	checkRoundTrip(t, "literals", p)
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in     string
		offset int
		msg    string
	}{
		{"file:size = 1280", 0, `want an observation expression`},
		{"[file:size = ]", 13, `want a literal after "=", found "]"`},
		{"[file:hashes.MD5 = cead3f77f6cda6ec00f57d76c9a6879f]", 19, `want a literal`},
		{"[file.size = 1280]", 5, `want ":" after the object type "file"`},
		{"[file:name MATCHES /.*\\.dll/]", 19, `unexpected character '/'`},
		{"[x:k = 'v'] WITHIN ]", 19, `positive number of seconds`},
		{"[x:k = 'v'] WITHIN 5 HOURS", 21, `want SECONDS, found "HOURS"`},
		{"[x:k = 'v'] WITHIN -5 SECONDS", 19, `positive number`},
		{"[network-traffic:dst_ref.value ISSUBSET ]", 40, `want a string after ISSUBSET`},
		{"[file:hashes.MD5 =? 'x']", 18, `unexpected character '?'`},
		{"[x_whatever:detected == t'2457-73-22T32:81:84.1Z']", 24, `timestamp`},
		{"[artifact:payload_bin = b'====']", 24, `base64`},
		{"[foo:bar=1] within 2 seconds", 12, `found "within"`},
		{"[x:k = 'v'] WITHIN 5 SECONDS WITHIN 6 SECONDS", 29, `second WITHIN qualifier`},
		{"[x:k = 'v'] REPEATS 2 TIMES REPEATS 3 TIMES", 28, `second REPEATS`},
		{"[x:k = 'v'] START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z' START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z'", 71, `second START/STOP`},
		{"[x:k = 'a\\d']", 9, `invalid escape`},
		{"[x:k = 'open", 7, `string is not closed`},
		{"[x:k = 007]", 7, `leading zero`},
		{"[x:k = 99999999999999999999]", 7, `out of range`},
		{"[x:k > true]", 7, `want a literal after ">"`},
		{"[x:k IN 'a']", 8, `want "(" to start the set`},
		{"[x:k IN ('a' 'b')]", 13, `want "," or ")"`},
		{"[x:k = 1] AND", 13, `found the end of the pattern`},
		{"[x:k = 1]]", 9, `want an observation operator`},
		{"[x:k = 1 /* open", 9, `comment is not closed`},
		{"[x:k[a] = 1]", 5, `list index`},
		{"[x:k = 'a'] \xff", 12, `invalid UTF-8`},
		{"", 0, `found the end of the pattern`},
		{strings.Repeat("(", MaxDepth+1) + "[x:k = 1]" + strings.Repeat(")", MaxDepth+1), MaxDepth, `nesting deeper`},
	} {
		_, err := Parse(c.in)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", c.in, err)
			continue
		}
		if se.Offset != c.offset || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("Parse(%q) = %v, want offset %d and %q", c.in, err, c.offset, c.msg)
		}
	}
}

func TestPrintQuotesAndParens(t *testing.T) {
	for in, want := range map[string]string{
		`[a:b = 1 OR (a:c = 2 OR a:d = 3)]`:                     `[a:b = 1 OR (a:c = 2 OR a:d = 3)]`,
		`[(a:b = 1 OR a:c = 2) AND a:d = 3]`:                    `[(a:b = 1 OR a:c = 2) AND a:d = 3]`,
		`([a:b = 1] OR [a:c = 2]) WITHIN 5 SECONDS`:             `([a:b = 1] OR [a:c = 2]) WITHIN 5 SECONDS`,
		`([a:b = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS`:         `([a:b = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS`,
		`([a:b = 1] REPEATS 2 TIMES) WITHIN 6 SECONDS`:          `[a:b = 1] REPEATS 2 TIMES WITHIN 6 SECONDS`,
		`[file:hashes.SHA-256 == 'x' AND a:'b'.c <> 'y']`:       `[file:hashes.'SHA-256' = 'x' AND a:b.c != 'y']`,
		`[x:'with space' = 'it''s']`:                            ``,
		`[x:y = 5.0 AND x:z = -0.25 AND x:w = +5]`:              `[x:y = 5.0 AND x:z = -0.25 AND x:w = 5]`,
		`[x:y = 1] FOLLOWEDBY ([x:y = 2] FOLLOWEDBY [x:y = 3])`: `[x:y = 1] FOLLOWEDBY ([x:y = 2] FOLLOWEDBY [x:y = 3])`,
	} {
		p, err := Parse(in)
		if want == "" {
			if err == nil {
				t.Errorf("Parse(%s) succeeded, want an error", in)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%s): %v", in, err)
			continue
		}
		if got := p.String(); got != want {
			t.Errorf("String(Parse(%s)) = %s, want %s", in, got, want)
		}
		checkRoundTrip(t, in, p)
	}
}
