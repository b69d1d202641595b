package admin

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
)

// Kong's fixed Admin API messages (kong/tools/http.lua, kong/api/init.lua).
const (
	msgNotFound         = "Not found"
	msgMethodNotAllowed = "Method not allowed"
	msgBadJSON          = "Cannot parse JSON body"
	msgUnsupportedMedia = "Unsupported Media Type"
	msgInternal         = "An unexpected error occurred"
	msgBodyTooLarge     = "Payload too large"
	msgBadRequest       = "Bad request"
)

// statusByCode maps Kong's DAO error codes to HTTP statuses
// (kong/api/endpoints.lua ERRORS_HTTP_CODES).
var statusByCode = map[db.Code]int{
	db.CodeInvalidPrimaryKey:     fasthttp.StatusBadRequest,
	db.CodeSchemaViolation:       fasthttp.StatusBadRequest,
	db.CodePrimaryKeyViolation:   fasthttp.StatusBadRequest,
	db.CodeForeignKeyViolation:   fasthttp.StatusBadRequest,
	db.CodeUniqueViolation:       fasthttp.StatusConflict,
	db.CodeNotFound:              fasthttp.StatusNotFound,
	db.CodeInvalidOffset:         fasthttp.StatusBadRequest,
	db.CodeDatabaseError:         fasthttp.StatusInternalServerError,
	db.CodeInvalidSize:           fasthttp.StatusBadRequest,
	db.CodeInvalidUniqueGlobal:   fasthttp.StatusBadRequest,
	db.CodeInvalidOptions:        fasthttp.StatusBadRequest,
	db.CodeOperationUnsupported:  fasthttp.StatusMethodNotAllowed,
	db.CodeForeignKeysUnresolved: fasthttp.StatusBadRequest,
	db.CodeBusy:                  fasthttp.StatusServiceUnavailable,
}

// daoErrorBody renders Kong's DAO error body (or, for a plain error, its
// bare message).
func daoErrorBody(e *db.Error) map[string]any {
	if e.Name == "" {
		if e.Detail != nil {
			inner := map[string]any{"message": e.Message}
			for k, v := range e.Detail {
				inner[k] = v
			}
			return map[string]any{"message": inner}
		}
		return map[string]any{"message": e.Message}
	}
	b := map[string]any{"code": int(e.Code), "name": e.Name, "message": e.Message}
	if e.Fields != nil {
		key := "fields"
		if e.Code == db.CodeInvalidOptions {
			key = "options"
		}
		b[key] = e.Fields
	}
	return b
}

// writeError renders any error the way Kong's Admin API does: DAO errors with
// their code, request decoding errors as 400/415, anything else as a 500
// whose cause is logged, never shown.
func (a *API) writeError(ctx *fasthttp.RequestCtx, err error) {
	var de *db.Error
	var dec *decodeError
	switch {
	case errors.As(err, &de):
		status, ok := statusByCode[de.Code]
		if !ok {
			status = fasthttp.StatusInternalServerError
		}
		if status == fasthttp.StatusInternalServerError {
			a.internalError(ctx, err)
			return
		}
		if de.Code == db.CodeBusy {
			ctx.Response.Header.Set("Retry-After", "1")
		}
		writeJSON(ctx, status, daoErrorBody(de))
	case errors.As(err, &dec):
		writeJSON(ctx, fasthttp.StatusBadRequest, daoErrorBody(db.SchemaViolation(schema.Errors{dec.field: dec.msg})))
	case errors.Is(err, errBadJSON):
		writeMessage(ctx, fasthttp.StatusBadRequest, msgBadJSON)
	case errors.Is(err, errUnsupportedMedia):
		writeMessage(ctx, fasthttp.StatusUnsupportedMediaType, msgUnsupportedMedia)
	default:
		a.internalError(ctx, err)
	}
}

func (a *API) internalError(ctx *fasthttp.RequestCtx, err error) {
	a.log.Errorf("admin API %s %s: %v", ctx.Method(), ctx.Path(), err)
	writeMessage(ctx, fasthttp.StatusInternalServerError, msgInternal)
}

func writeMessage(ctx *fasthttp.RequestCtx, status int, msg string) {
	writeJSON(ctx, status, map[string]any{"message": msg})
}

func notFound(ctx *fasthttp.RequestCtx) { writeMessage(ctx, fasthttp.StatusNotFound, msgNotFound) }

func methodNotAllowed(ctx *fasthttp.RequestCtx) {
	writeMessage(ctx, fasthttp.StatusMethodNotAllowed, msgMethodNotAllowed)
}

// ErrorHandler answers requests fasthttp refuses before routing (a body over
// admin_max_body_size, a malformed request line) with Kong-style JSON.
func (a *API) ErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	ctx.Response.Header.SetBytesV(fasthttp.HeaderServer, a.server)
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeMessage(ctx, fasthttp.StatusRequestEntityTooLarge, msgBodyTooLarge)
		return
	}
	writeMessage(ctx, fasthttp.StatusBadRequest, msgBadRequest)
}
