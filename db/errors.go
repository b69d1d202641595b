package db

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-gw/portico/schema"
)

// Code is one of Kong's DAO error codes (kong/db/errors.lua).
type Code int

// Kong's error codes; the Admin API maps each to an HTTP status.
const (
	CodeInvalidPrimaryKey     Code = 1
	CodeSchemaViolation       Code = 2
	CodePrimaryKeyViolation   Code = 3
	CodeForeignKeyViolation   Code = 4
	CodeUniqueViolation       Code = 5
	CodeNotFound              Code = 6
	CodeInvalidOffset         Code = 7
	CodeDatabaseError         Code = 8
	CodeInvalidSize           Code = 9
	CodeInvalidUniqueGlobal   Code = 10
	CodeInvalidOptions        Code = 11
	CodeOperationUnsupported  Code = 12
	CodeForeignKeysUnresolved Code = 13
	// CodeBusy is Portico's: a write that kept conflicting with concurrent
	// ones, answered with a bare message (no code is shown) and 503.
	CodeBusy Code = 100
)

// msgBusy is the answer to a write the store gave up retrying.
const msgBusy = "too many concurrent writes to the same entities; try again"

// Kong's error names and messages (kong/db/errors.lua).
const (
	codeNameSchemaViolation      = "schema violation"
	codeNameUniqueViolation      = "unique constraint violation"
	codeNameForeignKeyViolation  = "foreign key violation"
	codeNameNotFound             = "not found"
	codeNamePrimaryKeyViolation  = "primary key violation"
	codeNameInvalidOffset        = "invalid offset"
	codeNameInvalidSize          = "invalid size"
	codeNameInvalidOptions       = "invalid options"
	codeNameOperationUnsupported = "operation unsupported"
	codeNameInvalidPrimaryKey    = "invalid primary key"
	msgUniqueViolation           = "UNIQUE violation detected on '%s'"
	msgForeignKeyViolation       = "the foreign key '%s' does not reference an existing '%s' entity."
	msgForeignKeyRestricted      = "an existing '%s' entity references this '%s' entity"
	msgNotFoundByPK              = "could not find the entity with primary key '%s'"
	msgNotFoundByField           = "could not find the entity with '%s'"
	msgPrimaryKeyViolation       = "primary key violation on key '%s'"
	msgSizeNotNumber             = "size must be a number"
	msgSizeRange                 = "size must be an integer between 1 and 1000"
	referencedByField            = "@referenced_by"
	msgInvalidPrimaryKey         = "invalid primary key: '%s'"
	msgExpectedUUID              = "expected a valid UUID"
	msgWorkspaceNotEmpty         = "Workspace is not empty"
)

// Error is a client-facing DAO error in Kong's shape. Fields is rendered as
// Kong's "fields" object (or "options" for invalid options).
type Error struct {
	Code    Code
	Name    string
	Message string
	Fields  any
	// Detail, on a plain error, nests the message with these details:
	// {"message": {"message": ..., <detail>...}} (Kong's refusal to delete
	// a non-empty workspace).
	Detail map[string]any
}

func (e *Error) Error() string { return e.Message }

// SchemaViolation wraps validation errors.
func SchemaViolation(errs schema.Errors) *Error {
	return &Error{Code: CodeSchemaViolation, Name: codeNameSchemaViolation, Message: errs.Message(), Fields: errs}
}

// InvalidOptions reports a bad query option (tags, filters).
func InvalidOptions(field, msg string) *Error {
	return &Error{Code: CodeInvalidOptions, Name: codeNameInvalidOptions,
		Message: fmt.Sprintf("invalid option (%s: %s)", field, msg), Fields: map[string]any{field: msg}}
}

// InvalidSize reports a bad page size.
func InvalidSize(notNumber bool) *Error {
	msg := msgSizeRange
	if notNumber {
		msg = msgSizeNotNumber
	}
	return &Error{Code: CodeInvalidSize, Name: codeNameInvalidSize, Message: msg}
}

func invalidOffset(msg string) *Error {
	return &Error{Code: CodeInvalidOffset, Name: codeNameInvalidOffset, Message: msg}
}

// invalidPrimaryKey reports a URL key that cannot be an id, for entities
// addressed by id only.
func invalidPrimaryKey() *Error {
	fields := map[string]any{schema.FieldID: msgExpectedUUID}
	return &Error{Code: CodeInvalidPrimaryKey, Name: codeNameInvalidPrimaryKey,
		Message: fmt.Sprintf(msgInvalidPrimaryKey, luaPretty(fields)), Fields: fields}
}

// Plain returns an error the Admin API renders as Kong's bare
// {"message": ...} body with the status of code.
func Plain(code Code, message string) *Error { return &Error{Code: code, Message: message} }

func notFoundByPK(id string) *Error {
	pk := map[string]any{schema.FieldID: id}
	return &Error{Code: CodeNotFound, Name: codeNameNotFound,
		Message: fmt.Sprintf(msgNotFoundByPK, luaPretty(pk)), Fields: pk}
}

func notFoundByField(field string, value any) *Error {
	f := map[string]any{field: value}
	return &Error{Code: CodeNotFound, Name: codeNameNotFound,
		Message: fmt.Sprintf(msgNotFoundByField, luaPretty(f)), Fields: f}
}

func uniqueViolation(fields map[string]any) *Error {
	return &Error{Code: CodeUniqueViolation, Name: codeNameUniqueViolation,
		Message: fmt.Sprintf(msgUniqueViolation, luaPretty(fields)), Fields: fields}
}

func foreignKeyViolation(field, refEntity, id string) *Error {
	pk := map[string]any{schema.FieldID: id}
	return &Error{Code: CodeForeignKeyViolation, Name: codeNameForeignKeyViolation,
		Message: fmt.Sprintf(msgForeignKeyViolation, luaPretty(pk), refEntity),
		Fields:  map[string]any{field: pk}}
}

func foreignKeyRestricted(parent, child string) *Error {
	return &Error{Code: CodeForeignKeyViolation, Name: codeNameForeignKeyViolation,
		Message: fmt.Sprintf(msgForeignKeyRestricted, child, parent),
		Fields:  map[string]any{referencedByField: child}}
}

// workspaceNotEmpty refuses to delete a workspace that still holds
// entities (Kong Enterprise's workspaces endpoint).
func workspaceNotEmpty() *Error {
	return Plain(CodeSchemaViolation, msgWorkspaceNotEmpty)
}

func primaryKeyViolation(id string) *Error {
	pk := map[string]any{schema.FieldID: id}
	return &Error{Code: CodePrimaryKeyViolation, Name: codeNamePrimaryKeyViolation,
		Message: fmt.Sprintf(msgPrimaryKeyViolation, luaPretty(pk)), Fields: pk}
}

// luaPretty renders a value as Kong's messages do (penlight pretty.write on
// one line): tables as {k="v",n=1} with sorted keys, null as null.
func luaPretty(v any) string {
	var b strings.Builder
	writeLua(&b, v)
	return b.String()
}

func writeLua(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(strconv.Quote(v))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
			b.WriteByte('=')
			writeLua(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('{')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeLua(b, x)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, v)
	}
}
