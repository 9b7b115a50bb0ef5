// Package ingest brings external threat intelligence into Verband: decoders
// for the formats partners send (STIX 2.x bundles in package ingest/stix; MISP
// events, CSV and plain lists, and a TAXII 2.1 client to follow), value
// canonicalisation, and exports. Decoders turn bytes into *schema.Object
// values; writing them to the graph is the caller's business.
//
// This package holds what every decoder shares:
//
//   - ObjectError, the error every decoder returns for bad input. It names
//     the file, the 0-based position of the object, its STIX id and the
//     property at fault, and says whether the stream can go on (Fatal).
//   - The sentinels ErrMalformedJSON, ErrTruncated, ErrTrailingData,
//     ErrBadTopLevel, ErrEmpty, ErrNotObject, ErrTooDeep, ErrTooLarge,
//     ErrInvalidUTF8, ErrDuplicateKey and ErrNotUpgraded, which an
//     ObjectError wraps and callers test with errors.Is.
//   - IsFatal, which tells a per-object error (skip the object and read on)
//     from a stream error (stop).
//
// A typical read loop:
//
//	for {
//		obj, err := dec.Next()
//		if err == io.EOF {
//			break
//		}
//		if ingest.IsFatal(err) {
//			return err
//		}
//		if err != nil {
//			report(err) // one bad object; go on with the next
//			continue
//		}
//		use(obj)
//	}
//
// Decoders are not safe for concurrent use; run one decoder per goroutine.
package ingest
