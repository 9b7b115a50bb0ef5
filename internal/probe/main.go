package main
import (
 _ "github.com/dgraph-io/badger/v4"
 _ "github.com/blevesearch/bleve/v2"
 _ "github.com/spf13/cobra"
 _ "github.com/schollz/progressbar/v3"
 _ "golang.org/x/net/idna"
 _ "golang.org/x/net/publicsuffix"
 _ "pgregory.net/rapid"
 _ "go.uber.org/goleak"
)
func main(){}
