package admin

import (
	"bytes"
	"errors"
	"mime"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/dbless"
	"github.com/portico-gw/portico/declarative"
)

// Kong's /config answers (kong/api/routes/config.lua).
const (
	msgConfigNeedsDBless = "this endpoint is only available when Kong is configured to not use a database"
	msgExpectedConfig    = "expected a declarative configuration"
	msgUnexpected        = "An unexpected error occurred"
)

// routeConfig serves /config: DB-less mode's whole configuration, read as
// YAML and replaced at once.
func (a *API) routeConfig() {
	a.register([]route{
		{fasthttp.MethodGet, "/config", a.getConfig},
		{fasthttp.MethodPost, "/config", a.postConfig},
	})
}

func (a *API) getConfig(ctx *fasthttp.RequestCtx) {
	if a.config == nil {
		writeMessage(ctx, fasthttp.StatusBadRequest, msgConfigNeedsDBless)
		return
	}
	var buf bytes.Buffer
	if err := a.config.Export(ctx, &buf); err != nil {
		a.log.Errorf("failed exporting config from cache: %v", err)
		writeMessage(ctx, fasthttp.StatusInternalServerError, msgUnexpected)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"config": buf.String()})
}

// postConfig replaces the configuration: a JSON document as the body, a
// `config` field (JSON, form or multipart) holding the text, or the text as
// the body (YAML or JSON). ?check_hash=1 answers 304 when the text is the
// one in force; ?flatten_errors=1 adds Kong's flattened errors to a 400.
func (a *API) postConfig(ctx *fasthttp.RequestCtx) {
	if a.config == nil {
		writeMessage(ctx, fasthttp.StatusBadRequest, msgConfigNeedsDBless)
		return
	}
	params, err := configParams(ctx)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	flatten := truthy(param1(ctx, params, "flatten_errors"))
	checkHash := param1(ctx, params, "check_hash") == "1"

	var src *dbless.Source
	if _, ok := params["_format_version"]; ok {
		delete(params, "flatten_errors")
		delete(params, "check_hash")
		src, err = a.config.ParseValue(params)
	} else {
		var text []byte
		switch c := params["config"].(type) {
		case string:
			text = []byte(c)
		case nil:
			text = ctx.PostBody()
		default:
			// Kong unserializes the field as text: anything else is not
			// a configuration.
			text = nil
		}
		if len(text) == 0 {
			writeMessage(ctx, fasthttp.StatusBadRequest, msgExpectedConfig)
			return
		}
		if checkHash && dbless.HashOf(text) == a.config.Hash() {
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		src, err = a.config.Parse(text, "")
	}
	var de *declarative.Error
	if errors.As(err, &de) {
		// A text that could not be decoded has no entities to flatten.
		writeJSON(ctx, fasthttp.StatusBadRequest, de.Body(flatten && de.Decoded()))
		return
	}
	if err != nil {
		a.internalError(ctx, err)
		return
	}
	entities, err := a.config.Load(ctx, src, true)
	if err != nil {
		var dbErr *db.Error
		if errors.As(err, &dbErr) {
			a.writeError(ctx, err)
			return
		}
		a.log.Errorf("failed loading declarative config: %v", err)
		writeMessage(ctx, fasthttp.StatusInternalServerError, msgUnexpected)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, entities)
}

// configParams decodes POST /config's body: a JSON object or form fields;
// any other body is the configuration's text itself (no params).
func configParams(ctx *fasthttp.RequestCtx) (map[string]any, error) {
	ct := string(ctx.Request.Header.ContentType())
	mediaType, _, _ := mime.ParseMediaType(ct)
	switch mediaType {
	case mimeJSON, mimeForm, mimeMultipart:
		b, err := decodeBody(ct, ctx.PostBody())
		if err != nil {
			return nil, err
		}
		return b.args, nil
	}
	return map[string]any{}, nil
}

// param1 reads a parameter from the query string, else from the body, as
// Kong's merged params do.
func param1(ctx *fasthttp.RequestCtx, params map[string]any, name string) string {
	if v := ctx.QueryArgs().Peek(name); v != nil {
		return string(v)
	}
	switch v := params[name].(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		if v == 1 {
			return "1"
		}
	}
	return ""
}

// truthy is Kong's reading of a boolean parameter (flatten_errors).
func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "true", "1", "on", "yes":
		return true
	}
	return false
}
