package pattern_test

import (
	"fmt"

	"github.com/verband-cti/verband/schema/pattern"
)

func ExampleObservableIDs() {
	ids, err := pattern.ObservableIDs(`[ipv4-addr:value = '198.51.100.3' OR domain-name:value = 'Example.COM.']`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range ids {
		fmt.Println(id)
	}
	// Output:
	// ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4
	// domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7
}

func ExampleParse() {
	p, err := pattern.Parse(`[file:hashes.'SHA-256' == 'AEC0…' AND file:name = 'a.exe'] WITHIN 5 SECONDS`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	_, err = pattern.Parse(`[file:size = ]`)
	fmt.Println(err)
	// Output:
	// [file:hashes.'SHA-256' = 'AEC0…' AND file:name = 'a.exe'] WITHIN 5 SECONDS
	// pattern: offset 13: want a literal after "=", found "]"
}
