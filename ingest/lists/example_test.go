package lists_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/verband-cti/verband/ingest/lists"
	"github.com/verband-cti/verband/schema"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func ExampleNewDecoder() {
	list := "# watchlist\nhxxps://evil[.]example/gate.php\n198.51.100.7:8443  # C2\n"
	dec, err := lists.NewDecoder(strings.NewReader(list), "watch.txt", lists.Options{Source: "acme", TLP: schema.TLPAmber})
	if err != nil {
		panic(err)
	}
	for {
		o, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		v, _ := o.String("value")
		p, _ := o.String("pattern")
		fmt.Println(o.Type, v+p)
	}
	// Output:
	// url https://evil.example/gate.php
	// ipv4-addr 198.51.100.7
	// indicator [network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 8443]
	// grouping
}

func ExampleClassify() {
	for _, s := range []string{"hxxp://evil[.]example/a", "evil(.)example:8080", "192.0.2.0/24", "evil.example/x.php", "not-a-value"} {
		v, err := lists.Classify(s)
		if err != nil {
			fmt.Println(s, "→", err)
			continue
		}
		fmt.Println(s, "→", v.Kind, v.String())
	}
	// Output:
	// hxxp://evil[.]example/a → url http://evil.example/a
	// evil(.)example:8080 → domain evil.example:8080
	// 192.0.2.0/24 → ipv4-cidr 192.0.2.0/24
	// evil.example/x.php → url http://evil.example/x.php
	// not-a-value → classify "not-a-value": not an address, domain, URL, e-mail address or hash: unknown indicator type
}
