package bench

import (
	"math/rand/v2"
	"strings"
)

// headWords are real words that open the vocabulary, so that the most
// frequent words of generated text read like threat-intelligence prose.
var headWords = strings.Fields(`
the of and to in a is that for on with as by this from at are was be it
an has have were which its or their been also not used uses using via
malware campaign actor group threat activity infrastructure operation
targeting targets targeted attack attacks phishing spear loader dropper
backdoor trojan ransomware stealer botnet implant beacon payload exploit
vulnerability credential credentials lateral movement persistence
exfiltration command control server servers domain domains address
addresses network traffic email emails document documents macro script
powershell shell remote access tool tools toolkit framework module
modules plugin downloader installer packed obfuscated encrypted encoded
dns http https tls certificate certificates registry key process service
scheduled task injection memory kernel driver rootkit wiper banking
financial government energy telecom healthcare defense manufacturing
education retail logistics maritime aviation sector sectors europe asia
america africa region regional state sponsored espionage criminal
cybercrime affiliate affiliates operator operators cluster clusters
observed reported identified linked overlap overlaps shared reuse reused
hosting provider providers bulletproof proxy proxies vpn tor relay
compromised victim victims organization organizations ministry embassy
supply chain software update updates installer signed unsigned binary
binaries sample samples hash hashes variant variants version versions
first seen last active since during between after before new known
previously multiple several various similar distinct unique custom open
source public private internal external initial second stage final
delivery execution discovery collection impact evasion escalation
privilege privileges account accounts password passwords token tokens
session cookie cookies browser data database file files archive zip rar
iso lnk dll exe loader downloader watering hole drive social engineering
lure lures invoice resume job offer fake login portal page pages kit
kits panel panels c2 beaconing heartbeat fallback channel channels
`)

// syllables build the synthetic tail of the vocabulary.
var syllables = []string{
	"ka", "lo", "mi", "tra", "zen", "vor", "ix", "bot", "net", "cry",
	"pha", "sto", "ul", "re", "dex", "qua", "sha", "wen", "yo", "fi",
	"gar", "mon", "tek", "ras", "vel", "dor", "nix", "pol", "sar", "kin",
}

// vocabulary is the word list of generated names and text: the head words
// first, then synthetic words, all distinct. Word i is drawn with a
// Zipf-like probability, so the head words are frequent and the tail is long,
// as in real prose.
type vocabulary struct {
	words []string
	zipf  *rand.Zipf
}

// vocabSize is the number of distinct words, roughly the vocabulary of a
// large CTI corpus.
const vocabSize = 20000

func newVocabulary(rng *rand.Rand) *vocabulary {
	seen := make(map[string]bool, vocabSize)
	words := make([]string, 0, vocabSize)
	for _, w := range headWords {
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	var sb strings.Builder
	for len(words) < vocabSize {
		sb.Reset()
		n := 2 + rng.IntN(3)
		for range n {
			sb.WriteString(syllables[rng.IntN(len(syllables))])
		}
		if w := sb.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return &vocabulary{words: words, zipf: rand.NewZipf(rng, 1.07, 2, uint64(len(words)-1))}
}

// word returns a word drawn by frequency.
func (v *vocabulary) word() string { return v.words[v.zipf.Uint64()] }

// rare returns a word drawn uniformly, which is usually from the long tail;
// names use rare words so that they discriminate.
func (v *vocabulary) rare(rng *rand.Rand) string { return v.words[rng.IntN(len(v.words))] }
