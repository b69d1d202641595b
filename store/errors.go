package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrTooBig is wrapped when a transaction writes more than the store
// takes in one commit; nothing of it is written, and the caller may split
// the work into several transactions.
var ErrTooBig = errors.New("transaction too big")

// ErrBusy is wrapped when a transaction kept conflicting with concurrent
// ones and the store gave up running it again; nothing of it is written,
// and the caller may try again later.
var ErrBusy = errors.New("too many conflicting writes")

// ErrUnknownTable is wrapped when a table was not declared at Open.
var ErrUnknownTable = errors.New("unknown table")

// UniqueError reports a unique constraint violated by a write.
type UniqueError struct {
	Table  string
	Fields []string
	Values []any
}

func (e *UniqueError) Error() string {
	return fmt.Sprintf("unique violation on %s(%s)", e.Table, strings.Join(e.Fields, ","))
}

// ForeignKeyError reports a reference to a row that does not exist.
type ForeignKeyError struct {
	Table    string // the table written
	Field    string // its foreign-key field
	RefTable string // the referenced table
	ID       string // the missing referenced id
}

func (e *ForeignKeyError) Error() string {
	return fmt.Sprintf("%s.%s references missing %s %q", e.Table, e.Field, e.RefTable, e.ID)
}

// ReferencedError reports a delete refused because other rows reference the row.
type ReferencedError struct {
	Table      string // the table of the row being deleted
	ChildTable string // a table with rows referencing it
}

func (e *ReferencedError) Error() string {
	return fmt.Sprintf("%s row is referenced by %s rows", e.Table, e.ChildTable)
}

// PrimaryKeyError reports an insert whose id is already taken.
type PrimaryKeyError struct {
	Table string
	ID    string
}

func (e *PrimaryKeyError) Error() string {
	return fmt.Sprintf("%s row %q already exists", e.Table, e.ID)
}

// OffsetError reports a page offset token that the store cannot read.
type OffsetError struct {
	Offset string
	Reason string
}

func (e *OffsetError) Error() string {
	return fmt.Sprintf("'%s' is not a valid offset: %s", e.Offset, e.Reason)
}
