package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileSynced(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "meta.json")
	for _, data := range []string{"first, and longer", "second"} {
		if err := WriteFileSynced(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != data {
			t.Fatalf("after writing %q the file holds %q, %v", data, got, err)
		}
	}
	if _, err := os.Stat(name + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left behind: %v", err)
	}
	if err := WriteFileSynced(filepath.Join(dir, "missing", "x"), []byte("x")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
