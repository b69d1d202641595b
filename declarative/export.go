package declarative

import (
	"context"
	"fmt"
	"io"
	"math"

	"go.yaml.in/yaml/v3"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
)

// Export reads the entities of one workspace ("" is the default one) as a
// declarative document, as Kong's db_export writes it: `_format_version`
// "3.0", `_transform` false (values are as stored: a basic-auth password is
// its hash), a top-level array per entity in load order, every field
// (nulls included), references as ids. `_workspace` names a workspace
// other than the default. Loading it again gives the same entities.
func Export(ctx context.Context, d *db.DB, workspace string) (map[string]any, error) {
	doc := map[string]any{}
	err := export(ctx, d, workspace, func(key string, v any) error {
		doc[key] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// WriteExport writes Export's document as YAML, an entity's rows at a
// time (as Kong's db_export does), so a large store is not held twice.
func WriteExport(ctx context.Context, d *db.DB, workspace string, w io.Writer) error {
	return export(ctx, d, workspace, func(key string, v any) error {
		if rows, ok := v.([]any); ok {
			if _, err := io.WriteString(w, key+":\n"); err != nil {
				return err
			}
			for _, row := range rows {
				if err := WriteYAML(w, []any{row}); err != nil {
					return err
				}
			}
			return nil
		}
		return WriteYAML(w, map[string]any{key: v})
	})
}

// export emits the document's top-level keys in order.
func export(ctx context.Context, d *db.DB, workspace string, emit func(key string, v any) error) error {
	if err := emit(keyFormatVersion, "3.0"); err != nil {
		return err
	}
	if err := emit(keyTransform, false); err != nil {
		return err
	}
	if ws := d.Workspaces(); ws != nil && workspace != "" && workspace != db.DefaultWorkspace {
		w, found, err := d.LookupWorkspace(ctx, workspace)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no workspace '%s'", workspace)
		}
		ctx = db.InWorkspace(ctx, w.ID)
		if err := emit(keyWorkspace, w.Name); err != nil {
			return err
		}
	}
	for _, e := range New(d.Registry()).Entities() {
		rows, err := d.All(ctx, e, db.PageOptions{})
		if err != nil {
			return fmt.Errorf("exporting %s: %w", e.Name, err)
		}
		if len(rows) == 0 {
			continue
		}
		list := make([]any, len(rows))
		for i, row := range rows {
			list[i] = exported(e, row)
		}
		if err := emit(e.Name, list); err != nil {
			return err
		}
	}
	return nil
}

// exported is a stored row as a file lists it: its schema's fields,
// references as ids, without what the store keeps beside them (the
// workspace, expiry) or what is listed elsewhere (a certificate's snis).
func exported(e *schema.Entity, row map[string]any) map[string]any {
	out := make(map[string]any, len(e.Fields))
	for _, f := range e.Fields {
		if f.Transient {
			continue
		}
		v := row[f.Name]
		if f.Type == schema.Foreign {
			if id := db.RefID(v); id != "" {
				v = id
			} else {
				v = nil
			}
		}
		out[f.Name] = v
	}
	return out
}

// WriteYAML writes a document as YAML.
func WriteYAML(w io.Writer, doc any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(integers(doc)); err != nil {
		return err
	}
	return enc.Close()
}

// integers turns whole numbers into ints, so that YAML shows a timestamp
// or a port as 1700000000 and 80, not 1.7e+09.
func integers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = integers(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = integers(x)
		}
		return out
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v)
		}
	}
	return v
}
