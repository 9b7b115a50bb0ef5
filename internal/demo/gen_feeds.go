//go:build ignore

// gen_feeds writes the containers the demo loads beside the ATT&CK sample
// when the shared data folder is absent, so that a fresh clone's demo has
// reports and lists that share evidence, for the correlation, path and
// cluster queries to show:
//
//   - sample/eset-sample.json.gz: ESET's MISP events on the sample's
//     intrusion sets (Sednit/APT28, the Dukes/APT29, TeleBots/Sandworm,
//     Turla), copied from the shared data folder's eset/ and joined into one
//     MISP search response, each event unchanged;
//   - sample/maltrail/<family>.txt.gz: Maltrail's static trails of the same
//     sets, byte for byte, gzip-compressed;
//   - sample/warninglists/<list>.json.gz: MISP warninglists of benign values
//     (the Tranco top 10k domains, common false positives, URL shorteners,
//     private and special-use ranges), so that google.com links nothing.
//
// Their licenses go beside them (LICENSE-ESET.txt, LICENSE-MALTRAIL.txt;
// the warninglists are CC0) and their origin into sample/NOTICE.
//
// Run it with "go generate ./internal/demo".
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/verband-cti/verband/internal/shareddata"
)

// esetEvents are the ESET event files, under eset/, of the sample's sets.
var esetEvents = []string{
	"sednit/2017-05-09_Trump_Attack_on_Syria_IoCs.json",
	"sednit/2018-11-20_Zebrocy.json",
	"sednit/2019-05-23_Zebrocy.json",
	"dukes/misp-dukes-operation-ghost-event.json",
	"telebots/misp-telebots.json",
	"turla/misp-mosquito-event.json",
	"turla/misp-turla-comrat-v4-event.json",
	"turla/misp-turla-crutch-event.json",
	"turla/misp-turla-lightneuron-event.json",
	"turla/misp-turla-outlook-event.json",
	"turla/misp-turla-powershell-event.json",
	"turla/misp-turla-wateringhole-armenia-event.json",
}

// trails are the Maltrail families, under maltrail/, of the sample's sets.
var trails = []string{"apt_sofacy.txt", "apt_duke.txt", "apt_turla.txt"}

// warninglists are the warninglists, under misp/warninglists/, the demo
// applies.
var warninglists = []string{"tranco10k.json", "common-ioc-false-positive.json", "url-shortener.json", "rfc1918.json", "rfc5735.json"}

func main() {
	root, ok := shareddata.Find()
	if !ok {
		log.Fatal("shared data folder not found")
	}
	var events []json.RawMessage
	for _, name := range esetEvents {
		b, err := os.ReadFile(filepath.Join(root, "eset", name))
		if err != nil {
			log.Fatal(err)
		}
		var resp struct{ Response []json.RawMessage }
		if err := json.Unmarshal(b, &resp); err != nil || len(resp.Response) == 0 {
			log.Fatalf("%s: not a MISP search response: %v", name, err)
		}
		events = append(events, resp.Response...)
	}
	var out bytes.Buffer
	out.WriteString("{\"response\":[\n")
	for i, e := range events {
		if i > 0 {
			out.WriteString(",\n")
		}
		out.Write(e)
	}
	out.WriteString("\n]}\n")
	writeGz(filepath.Join("sample", "eset-sample.json.gz"), out.Bytes())
	copyGz(filepath.Join(root, "eset", "LICENSE"), filepath.Join("sample", "LICENSE-ESET.txt"), false)
	for _, t := range trails {
		copyGz(filepath.Join(root, "maltrail", t), filepath.Join("sample", "maltrail", t+".gz"), true)
	}
	copyGz(filepath.Join(root, "maltrail", "LICENSE"), filepath.Join("sample", "LICENSE-MALTRAIL.txt"), false)
	for _, w := range warninglists {
		copyGz(filepath.Join(root, "misp", "warninglists", w), filepath.Join("sample", "warninglists", w+".gz"), true)
	}
	fmt.Printf("wrote %d ESET events, %d trails, %d warninglists\n", len(events), len(trails), len(warninglists))
}

// copyGz copies a file, gzip-compressed when gz is set.
func copyGz(from, to string, gz bool) {
	b, err := os.ReadFile(from)
	if err != nil {
		log.Fatal(err)
	}
	if gz {
		writeGz(to, b)
		return
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

// writeGz writes b gzip-compressed, without a name or time in the header,
// so that the output depends only on the input.
func writeGz(to string, b []byte) {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
