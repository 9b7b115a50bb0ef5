// Package fsutil holds the few file-system steps that make a write
// durable, shared by the stores that keep small files beside their data:
// syncing a directory after files were created, renamed or removed in it,
// and replacing a file whole through a synced temporary file.
package fsutil
