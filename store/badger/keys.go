package badger

// Key layout
//
// Every badger key is a tuple of string components. Below, "|" stands for the
// end of a component:
//
//	r|<table>|<id>                           → row JSON
//	u|<table>|<f1,f2,...>|<JSON value list>  → id of the owning row (unique index)
//	f|<table>|<field>|<parentID>|<childID>   → empty (foreign index: children of a parent)
//	g|<table>|<id>                           → empty (reference guard, see below)
//	t|<tag>|<table>|<id>                     → empty (tag index, Tagged tables only)
//	s|<table>|<index>|<v1>|...|<vn>|<id>     → empty (sorted index, see sortValue)
//	m|bootstrapped                           → "1"
//	m|schema                                 → decimal key-layout version
//
// A component is written as its bytes with every 0x00 byte replaced by
// 0x00 0xFF, followed by the terminator 0x00 0x01. Two properties follow, and
// the rest of the package relies on both:
//
//   - Unambiguous: ids, tags and values may contain any byte ("/", NUL, ...)
//     and can never be mistaken for a separator, so a prefix such as
//     f|routes|service|<parentID>| matches the children of exactly that parent.
//   - Order preserving: comparing two encoded tuples bytewise compares them
//     component by component, and a component sorts before its extensions
//     (the terminator's 0x00 0x01 is below every escaped or plain byte that
//     could follow). So r|<table>| iterates rows in id order and t| iterates
//     the tag index by tag, then table, then id, with plain prefix scans.
//
// The unique value list is the JSON array of the set's values, where a
// foreign-key value contributes the referenced id and numbers are normalised
// to their float64 JSON form, so the same logical values always give the same
// key whichever Go types the caller used.
//
// The reference guard exists for badger's conflict detection, which only
// tracks keys a transaction actually read: a Delete that scans the foreign
// index and finds no children cannot notice a child inserted concurrently (a
// phantom). So every write that adds a foreign index entry also writes the
// parent's guard key, and Delete reads it; whichever of the two commits second
// then conflicts and is retried against the other's result.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

const (
	kindRow    = "r"
	kindUnique = "u"
	kindRef    = "f"
	kindGuard  = "g"
	kindTag    = "t"
	kindMeta   = "m"
	kindSorted = "s"
)

// Escape bytes of the component encoding; see the package comment above.
const (
	escByte  = 0x00
	escNUL   = 0xFF // 0x00 0xFF is a literal 0x00 inside a component
	escTermB = 0x01 // 0x00 0x01 ends a component
)

var errBadKey = errors.New("malformed key")

// appendComponent appends one encoded component, a string or bytes, to b.
func appendComponent[S string | []byte](b []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == escByte {
			b = append(b, s[:i]...)
			b = append(b, escByte, escNUL)
			s, i = s[i+1:], -1
		}
	}
	b = append(b, s...)
	return append(b, escByte, escTermB)
}

// makeKey encodes a whole tuple. The result of a shorter tuple is a prefix of
// every key that extends it, which is how prefix scans are built.
func makeKey(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 2
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = appendComponent(b, p)
	}
	return b
}

// splitKey decodes the components of b. It fails on bytes that no encoder
// produced, which is how forged page offsets are recognised.
func splitKey(b []byte) ([]string, error) {
	var parts []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, escByte)
		if i < 0 || i+1 >= len(b) {
			return nil, errBadKey
		}
		switch b[i+1] {
		case escTermB:
			parts = append(parts, string(b[:i]))
			b = b[i+2:]
		case escNUL:
			// Slow path: the component holds NUL bytes.
			var sb []byte
			for {
				j := bytes.IndexByte(b, escByte)
				if j < 0 || j+1 >= len(b) {
					return nil, errBadKey
				}
				sb = append(sb, b[:j]...)
				if b[j+1] == escTermB {
					b = b[j+2:]
					break
				}
				if b[j+1] != escNUL {
					return nil, errBadKey
				}
				sb = append(sb, escByte)
				b = b[j+2:]
			}
			parts = append(parts, string(sb))
		default:
			return nil, errBadKey
		}
	}
	return parts, nil
}

// splitN decodes b, which must hold exactly n components.
func splitN(b []byte, n int) ([]string, bool) {
	parts, err := splitKey(b)
	if err != nil || len(parts) != n {
		return nil, false
	}
	return parts, true
}

// lastComponent decodes b, which must be exactly one component. It is the
// hot path of page scans (the id after a table prefix).
func lastComponent(b []byte) (string, bool) {
	i := bytes.IndexByte(b, escByte)
	if i >= 0 && i == len(b)-2 && b[i+1] == escTermB {
		return string(b[:i]), true
	}
	parts, ok := splitN(b, 1)
	if !ok {
		return "", false
	}
	return parts[0], true
}

func rowKey(table, id string) []byte { return makeKey(kindRow, table, id) }

func rowPrefix(table string) []byte { return makeKey(kindRow, table) }

func refKey(table, field, parentID, childID string) []byte {
	return makeKey(kindRef, table, field, parentID, childID)
}

func refPrefix(table, field, parentID string) []byte {
	return makeKey(kindRef, table, field, parentID)
}

func guardKey(table, id string) []byte { return makeKey(kindGuard, table, id) }

func tagKey(tag, table, id string) []byte { return makeKey(kindTag, tag, table, id) }

var (
	metaBootstrapped = makeKey(kindMeta, "bootstrapped")
	metaSchema       = makeKey(kindMeta, "schema")
)

// claimKey is the key transactions claiming a name read and delete
// (store.Tx.Claim): never stored, it only takes part in conflict checks.
func claimKey(name string) []byte { return makeKey(kindMeta, "claim", name) }

// jobKey is the marker of a one-time job done (store.Tx.Mark).
func jobKey(job string) []byte { return makeKey(kindMeta, "job", job) }

func sortedPrefix(table, index string) []byte { return makeKey(kindSorted, table, index) }

// Type tags of sorted index values, in their sort order.
const (
	sortNil    = 0x01
	sortFalse  = 0x02
	sortTrue   = 0x03
	sortNumber = 0x04
	sortString = 0x05
)

// sortValue encodes v for a sorted index so that the encodings compare
// bytewise as the values do: a type tag (nil < booleans < numbers <
// strings), then for numbers the float64 bits made sortable (the sign bit
// flipped for positives, every bit for negatives), for strings their
// bytes. A foreign key ({"id": ...}) is its id.
func sortValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return string([]byte{sortNil}), nil
	case bool:
		if x {
			return string([]byte{sortTrue}), nil
		}
		return string([]byte{sortFalse}), nil
	case string:
		return "\x05" + x, nil
	case map[string]any, map[string]string:
		id, ok, err := refID(x)
		if err != nil || !ok {
			return "", fmt.Errorf("sorting by a reference: %v", err)
		}
		return "\x05" + id, nil
	}
	c, err := canonical(v)
	if err != nil {
		return "", err
	}
	f, ok := c.(float64)
	if !ok {
		return "", fmt.Errorf("cannot sort by a %T", v)
	}
	bits := math.Float64bits(f)
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	var b [9]byte
	b[0] = sortNumber
	binary.BigEndian.PutUint64(b[1:], bits)
	return string(b[:]), nil
}

// appendSortValue appends sortValue(v) to b as one component, without the
// intermediate string for the common types (index entries are written on
// every delivery).
func appendSortValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendComponent(append(b, sortString), x), nil
	case float64:
		bits := math.Float64bits(x)
		if bits&(1<<63) != 0 {
			bits = ^bits
		} else {
			bits |= 1 << 63
		}
		var enc [9]byte
		enc[0] = sortNumber
		binary.BigEndian.PutUint64(enc[1:], bits)
		return appendComponent(b, enc[:]), nil
	}
	enc, err := sortValue(v)
	if err != nil {
		return nil, err
	}
	return appendComponent(b, enc), nil
}
