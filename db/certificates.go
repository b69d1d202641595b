package db

import (
	"fmt"
	"sort"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// An extension customises one entity's DAO, as Kong's entity-specific DAOs
// (kong/db/dao/certificates.lua) do. It runs inside the write transaction.
type extension interface {
	// afterWrite receives the entity's transient input after the row is
	// written (create and update).
	afterWrite(w *writer, row, transient map[string]any) error
	// decorate fills derived output fields on reads.
	decorate(tx store.Tx, row map[string]any) error
}

// certificateSNIs turns a certificate's transient "snis" list into SNI rows
// and lists them back, as Kong's certificates DAO does.
type certificateSNIs struct {
	certs *schema.Entity
	snis  *schema.Entity
}

// Kong's messages for certificates addressed by SNI (kong/api/routes/certificates.lua).
const (
	msgSNIAssociated = "%s already associated with existing certificate '%s'"
	msgSNINotFound   = "SNI not found"
)

// resolve finds a certificate by one of its SNI names, as Kong's
// /certificates/{sni} does; an unknown name is Kong's plain 404.
func (c *certificateSNIs) resolve(tx store.Tx, name, ws string) (map[string]any, error) {
	sni, err := getUnique(tx, c.snis.Name, ws, "name", name)
	if err == store.ErrNotFound {
		return nil, Plain(CodeNotFound, msgSNINotFound)
	}
	if err != nil {
		return nil, err
	}
	cert, err := tx.Get(c.certs.Name, RefID(sni["certificate"]))
	if err == store.ErrNotFound {
		return nil, Plain(CodeNotFound, msgSNINotFound)
	}
	return cert, err
}

// upsertKey makes PUT /certificates/{sni} of an unknown SNI create a
// certificate serving it.
func (c *certificateSNIs) upsertKey(input map[string]any, name string) {
	if _, given := input["snis"]; !given {
		input["snis"] = []any{name}
	}
}

func (c *certificateSNIs) afterWrite(w *writer, row, transient map[string]any) error {
	list, ok := transient["snis"].([]any)
	if !ok {
		return nil
	}
	certID, _ := row[schema.FieldID].(string)
	ws, _ := row[FieldWorkspace].(string)
	want := map[string]bool{}
	for _, v := range list {
		name, _ := v.(string)
		want[name] = true
		existing, err := getUnique(w.tx, c.snis.Name, ws, "name", name)
		if err != nil && err != store.ErrNotFound {
			return err
		}
		if existing != nil {
			if owner := RefID(existing["certificate"]); owner != certID {
				return SchemaViolation(schema.Errors{"snis": fmt.Sprintf(msgSNIAssociated, name, owner)})
			}
			continue
		}
		sni, errs := c.snis.PrepareInsert(map[string]any{
			"name": name, "certificate": map[string]any{schema.FieldID: certID}, "tags": row["tags"],
		}, w.db.auto)
		if errs == nil {
			errs = c.snis.Validate(sni)
		}
		if errs != nil {
			return SchemaViolation(schema.Errors{"snis": errs.Message()})
		}
		if err := w.insert(c.snis, sni); err != nil {
			return err
		}
	}
	// The list replaces the certificate's SNIs: drop those not named.
	current, err := c.list(w.tx, certID)
	if err != nil {
		return err
	}
	for _, sni := range current {
		if name, _ := sni["name"].(string); !want[name] {
			if err := w.delete(c.snis, sni); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *certificateSNIs) decorate(tx store.Tx, row map[string]any) error {
	certID, _ := row[schema.FieldID].(string)
	snis, err := c.list(tx, certID)
	if err != nil {
		return err
	}
	names := make([]any, 0, len(snis))
	for _, s := range snis {
		names = append(names, s["name"])
	}
	sort.Slice(names, func(i, j int) bool { return names[i].(string) < names[j].(string) })
	row["snis"] = names
	return nil
}

func (c *certificateSNIs) list(tx store.Tx, certID string) ([]map[string]any, error) {
	var out []map[string]any
	q := store.PageQuery{Size: 1000, Foreign: &store.ForeignFilter{Field: "certificate", ID: certID}}
	for {
		page, err := tx.Page(c.snis.Name, q)
		if err != nil {
			return nil, fmt.Errorf("listing SNIs of certificate %s: %w", certID, err)
		}
		out = append(out, page.Rows...)
		if page.Offset == "" {
			return out, nil
		}
		q.Offset = page.Offset
	}
}
