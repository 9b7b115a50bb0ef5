package detect

import "errors"

// Reasons for leaving a value or an object out of an export. Skip.Reason
// wraps one of them; test with errors.Is.
var (
	// ErrRevoked: the indicator is revoked.
	ErrRevoked = errors.New("revoked")
	// ErrExpired: the indicator's valid_until has passed.
	ErrExpired = errors.New("expired")
	// ErrNotYetValid: the indicator's valid_from is in the future.
	ErrNotYetValid = errors.New("not yet valid")
	// ErrNotForDetection: the indicator is not meant for detection (its
	// indicator_types say benign).
	ErrNotForDetection = errors.New("not meant for detection")
	// ErrNotSimple: the pattern is not a simple comparison (see the package
	// documentation), or not a STIX pattern at all.
	ErrNotSimple = errors.New("pattern is not a simple comparison")
	// ErrUnsupported: the pattern compares a property no export can match
	// on, such as a file name or a registry key.
	ErrUnsupported = errors.New("property not supported for detection")
	// ErrBadValue: a compared value is not a valid value of its type.
	ErrBadValue = errors.New("invalid value")
	// ErrReserved: a private, loopback, link-local, documentation or
	// otherwise reserved address or block, a block broader than /8 (IPv4)
	// or /16 (IPv6), or a special-use domain name.
	ErrReserved = errors.New("private or reserved")
	// ErrWarninglisted: the warninglist matcher holds the value.
	ErrWarninglisted = errors.New("on a warninglist")
	// ErrTLP: the object's TLP is stricter than Options.MaxTLP.
	ErrTLP = errors.New("TLP does not allow export")
	// ErrNoRule: the output format has no way to match this kind of value
	// (Suricata: e-mail addresses and SHA-512; Zeek: SHA-512).
	ErrNoRule = errors.New("no rule for this kind of value in this format")
)
