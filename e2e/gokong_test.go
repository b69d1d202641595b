package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kong/go-kong/kong"
)

// go-kong is the client decK, the Kong Ingress Controller and Terraform sit
// on. These tests drive the built binary through it, as those tools do.

// newKongClient is a go-kong client for g's Admin API.
func newKongClient(t *testing.T, g *gateway) *kong.Client {
	t.Helper()
	c, err := kong.NewClient(kong.String(g.adminURL("")), &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// crud is one go-kong service's lifecycle over an entity T: the i-th
// entity's creation (with id: through PUT), its id and endpoint key (nil
// when it has none), reads, an update and what it changed, listing, delete.
type crud[T any] struct {
	create  func(i int, id *string) (*T, error)
	id      func(*T) *string
	key     func(*T) *string
	get     func(nameOrID *string) (*T, error)
	update  func(*T) (*T, error)
	updated func(*T) bool
	list    func(*kong.ListOpt) ([]*T, *kong.ListOpt, error)
	listAll func() ([]*T, error)
	del     func(nameOrID *string) error
	// tagged: list filters by the tag every created entity carries.
	tagged bool
}

// gkTag is the tag every entity created by a crud case carries.
const gkTag = "gk"

// exercise runs the lifecycle: three entities (the third through PUT with
// its id), reads by id and key, an update, a tag-filtered list paged two at
// a time, the full list, deletes, and reads of the deleted.
func (c crud[T]) exercise(t *testing.T) {
	t.Helper()
	var made []*T
	for i := 0; i < 3; i++ {
		var id *string
		if i == 2 {
			id = kong.String(fmt.Sprintf("00000000-0000-4000-8000-%012d", 100+i))
		}
		e, err := c.create(i, id)
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if id != nil && *c.id(e) != *id {
			t.Fatalf("created with id %s, got %s", *id, *c.id(e))
		}
		made = append(made, e)
	}
	for _, e := range made {
		got, err := c.get(c.id(e))
		if err != nil || *c.id(got) != *c.id(e) {
			t.Fatalf("get by id %s: %v %v", *c.id(e), got, err)
		}
		if c.key != nil && c.key(e) != nil {
			got, err := c.get(c.key(e))
			if err != nil || *c.id(got) != *c.id(e) {
				t.Fatalf("get by key %s: %v %v", *c.key(e), got, err)
			}
		}
	}
	if c.update != nil {
		u, err := c.update(made[0])
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		again, err := c.get(c.id(made[0]))
		if err != nil || !c.updated(u) || !c.updated(again) {
			t.Fatalf("update not kept: %+v, read back %+v (%v)", u, again, err)
		}
	}
	opt := &kong.ListOpt{Size: 2}
	if c.tagged {
		opt.Tags = kong.StringSlice(gkTag)
	}
	seen, pages := map[string]bool{}, 0
	for opt != nil {
		page, next, err := c.list(opt)
		if err != nil {
			t.Fatalf("list page %d: %v", pages, err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d with size 2", len(page))
		}
		for _, e := range page {
			seen[*c.id(e)] = true
		}
		opt, pages = next, pages+1
	}
	for _, e := range made {
		if !seen[*c.id(e)] {
			t.Errorf("paged list (%d pages) lacks %s", pages, *c.id(e))
		}
	}
	if c.tagged && (pages != 2 || len(seen) != 3) {
		t.Errorf("tag-filtered list: %d entities in %d pages, want 3 in 2", len(seen), pages)
	}
	all, err := c.listAll()
	if err != nil || len(all) < 3 {
		t.Fatalf("list all: %d, %v", len(all), err)
	}
	for _, e := range made {
		if err := c.del(c.id(e)); err != nil {
			t.Fatalf("delete %s: %v", *c.id(e), err)
		}
		if _, err := c.get(c.id(e)); !kong.IsNotFoundErr(err) {
			t.Fatalf("get after delete: %v, want not found", err)
		}
	}
}

// fixtures are the entities the nested cases hang on.
type fixtures struct {
	service  *kong.Service
	consumer *kong.Consumer
	upstream *kong.Upstream
	keySet   *kong.KeySet
}

// coreCases are go-kong's services over Portico's entities.
func coreCases(ctx context.Context, c *kong.Client, f fixtures) map[string]func(*testing.T) {
	tags := kong.StringSlice(gkTag)
	name := func(kind string, i int) *string { return kong.String(fmt.Sprintf("gk-%s-%d", kind, i)) }
	pluginNames := []string{"cors", "correlation-id", "bot-detection"}
	return map[string]func(*testing.T){
		"services": crud[kong.Service]{
			create: func(i int, id *string) (*kong.Service, error) {
				return c.Services.Create(ctx, &kong.Service{ID: id, Name: name("svc", i), URL: kong.String("http://example.com/x"), Tags: tags})
			},
			id: func(s *kong.Service) *string { return s.ID }, key: func(s *kong.Service) *string { return s.Name },
			get: func(k *string) (*kong.Service, error) { return c.Services.Get(ctx, k) },
			update: func(s *kong.Service) (*kong.Service, error) {
				return c.Services.Update(ctx, &kong.Service{ID: s.ID, Retries: kong.Int(9)})
			},
			updated: func(s *kong.Service) bool { return s.Retries != nil && *s.Retries == 9 && *s.Path == "/x" },
			list:    func(o *kong.ListOpt) ([]*kong.Service, *kong.ListOpt, error) { return c.Services.List(ctx, o) },
			listAll: func() ([]*kong.Service, error) { return c.Services.ListAll(ctx) },
			del:     func(k *string) error { return c.Services.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"routes": crud[kong.Route]{
			create: func(i int, id *string) (*kong.Route, error) {
				return c.Routes.Create(ctx, &kong.Route{ID: id, Name: name("route", i), Paths: kong.StringSlice(fmt.Sprintf("/gk%d", i)),
					Service: &kong.Service{ID: f.service.ID}, Tags: tags})
			},
			id: func(r *kong.Route) *string { return r.ID }, key: func(r *kong.Route) *string { return r.Name },
			get: func(k *string) (*kong.Route, error) { return c.Routes.Get(ctx, k) },
			update: func(r *kong.Route) (*kong.Route, error) {
				return c.Routes.Update(ctx, &kong.Route{ID: r.ID, Hosts: kong.StringSlice("gk.example")})
			},
			updated: func(r *kong.Route) bool { return len(r.Hosts) == 1 && len(r.Paths) == 1 },
			list:    func(o *kong.ListOpt) ([]*kong.Route, *kong.ListOpt, error) { return c.Routes.List(ctx, o) },
			listAll: func() ([]*kong.Route, error) { return c.Routes.ListAll(ctx) },
			del:     func(k *string) error { return c.Routes.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"consumers": crud[kong.Consumer]{
			create: func(i int, id *string) (*kong.Consumer, error) {
				return c.Consumers.Create(ctx, &kong.Consumer{ID: id, Username: name("user", i), Tags: tags})
			},
			id: func(x *kong.Consumer) *string { return x.ID }, key: func(x *kong.Consumer) *string { return x.Username },
			get: func(k *string) (*kong.Consumer, error) { return c.Consumers.Get(ctx, k) },
			update: func(x *kong.Consumer) (*kong.Consumer, error) {
				return c.Consumers.Update(ctx, &kong.Consumer{ID: x.ID, CustomID: kong.String("cid-0")})
			},
			updated: func(x *kong.Consumer) bool { return x.CustomID != nil && *x.CustomID == "cid-0" && x.Username != nil },
			list:    func(o *kong.ListOpt) ([]*kong.Consumer, *kong.ListOpt, error) { return c.Consumers.List(ctx, o) },
			listAll: func() ([]*kong.Consumer, error) { return c.Consumers.ListAll(ctx) },
			del:     func(k *string) error { return c.Consumers.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"plugins": crud[kong.Plugin]{
			create: func(i int, id *string) (*kong.Plugin, error) {
				p := &kong.Plugin{ID: id, Name: kong.String(pluginNames[i]), Tags: tags}
				if i == 1 { // Kong Enterprise's dynamic ordering
					p.Ordering = &kong.PluginOrdering{Before: kong.PluginOrderingPhase{"access": {"cors"}}}
				}
				return c.Plugins.Create(ctx, p)
			},
			id:  func(p *kong.Plugin) *string { return p.ID },
			get: func(k *string) (*kong.Plugin, error) { return c.Plugins.Get(ctx, k) },
			update: func(p *kong.Plugin) (*kong.Plugin, error) {
				return c.Plugins.Update(ctx, &kong.Plugin{ID: p.ID, Name: p.Name, Enabled: kong.Bool(false)})
			},
			updated: func(p *kong.Plugin) bool { return p.Enabled != nil && !*p.Enabled },
			list:    func(o *kong.ListOpt) ([]*kong.Plugin, *kong.ListOpt, error) { return c.Plugins.List(ctx, o) },
			listAll: func() ([]*kong.Plugin, error) { return c.Plugins.ListAll(ctx) },
			del:     func(k *string) error { return c.Plugins.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"upstreams": crud[kong.Upstream]{
			create: func(i int, id *string) (*kong.Upstream, error) {
				return c.Upstreams.Create(ctx, &kong.Upstream{ID: id, Name: name("up", i), Tags: tags})
			},
			id: func(u *kong.Upstream) *string { return u.ID }, key: func(u *kong.Upstream) *string { return u.Name },
			get: func(k *string) (*kong.Upstream, error) { return c.Upstreams.Get(ctx, k) },
			update: func(u *kong.Upstream) (*kong.Upstream, error) {
				return c.Upstreams.Update(ctx, &kong.Upstream{ID: u.ID, Name: u.Name, Slots: kong.Int(100)})
			},
			updated: func(u *kong.Upstream) bool { return u.Slots != nil && *u.Slots == 100 },
			list:    func(o *kong.ListOpt) ([]*kong.Upstream, *kong.ListOpt, error) { return c.Upstreams.List(ctx, o) },
			listAll: func() ([]*kong.Upstream, error) { return c.Upstreams.ListAll(ctx) },
			del:     func(k *string) error { return c.Upstreams.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"certificates": crud[kong.Certificate]{
			create: func(i int, id *string) (*kong.Certificate, error) {
				cert, key := gkCert(fmt.Sprintf("gk%d.example", i), false)
				return c.Certificates.Create(ctx, &kong.Certificate{ID: id, Cert: &cert, Key: &key, Tags: tags})
			},
			id:  func(x *kong.Certificate) *string { return x.ID },
			get: func(k *string) (*kong.Certificate, error) { return c.Certificates.Get(ctx, k) },
			update: func(x *kong.Certificate) (*kong.Certificate, error) {
				return c.Certificates.Update(ctx, &kong.Certificate{ID: x.ID, SNIs: kong.StringSlice("gk-upd.example")})
			},
			updated: func(x *kong.Certificate) bool { return len(x.SNIs) == 1 && *x.SNIs[0] == "gk-upd.example" },
			list:    func(o *kong.ListOpt) ([]*kong.Certificate, *kong.ListOpt, error) { return c.Certificates.List(ctx, o) },
			listAll: func() ([]*kong.Certificate, error) { return c.Certificates.ListAll(ctx) },
			del:     func(k *string) error { return c.Certificates.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"ca_certificates": crud[kong.CACertificate]{
			create: func(i int, id *string) (*kong.CACertificate, error) {
				cert, _ := gkCert(fmt.Sprintf("gk-ca%d", i), true)
				return c.CACertificates.Create(ctx, &kong.CACertificate{ID: id, Cert: &cert, Tags: tags})
			},
			id:  func(x *kong.CACertificate) *string { return x.ID },
			get: func(k *string) (*kong.CACertificate, error) { return c.CACertificates.Get(ctx, k) },
			update: func(x *kong.CACertificate) (*kong.CACertificate, error) {
				return c.CACertificates.Update(ctx, &kong.CACertificate{ID: x.ID, Tags: kong.StringSlice(gkTag, "updated")})
			},
			updated: func(x *kong.CACertificate) bool { return len(x.Tags) == 2 },
			list: func(o *kong.ListOpt) ([]*kong.CACertificate, *kong.ListOpt, error) {
				return c.CACertificates.List(ctx, o)
			},
			listAll: func() ([]*kong.CACertificate, error) { return c.CACertificates.ListAll(ctx) },
			del:     func(k *string) error { return c.CACertificates.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"key_sets": crud[kong.KeySet]{
			create: func(i int, id *string) (*kong.KeySet, error) {
				return c.KeySets.Create(ctx, &kong.KeySet{ID: id, Name: name("set", i), Tags: tags})
			},
			id: func(x *kong.KeySet) *string { return x.ID }, key: func(x *kong.KeySet) *string { return x.Name },
			get: func(k *string) (*kong.KeySet, error) { return c.KeySets.Get(ctx, k) },
			update: func(x *kong.KeySet) (*kong.KeySet, error) {
				return c.KeySets.Update(ctx, &kong.KeySet{ID: x.ID, Name: kong.String("gk-set-renamed")})
			},
			updated: func(x *kong.KeySet) bool { return *x.Name == "gk-set-renamed" },
			list:    func(o *kong.ListOpt) ([]*kong.KeySet, *kong.ListOpt, error) { return c.KeySets.List(ctx, o) },
			listAll: func() ([]*kong.KeySet, error) { return c.KeySets.ListAll(ctx) },
			del:     func(k *string) error { return c.KeySets.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"keys": crud[kong.Key]{
			create: func(i int, id *string) (*kong.Key, error) {
				k := &kong.Key{ID: id, Name: name("key", i), KID: name("kid", i), Tags: tags,
					PEM: &kong.PEM{PublicKey: kong.String(gkPublicKey())}}
				if i == 1 {
					k.Set = &kong.KeySet{ID: f.keySet.ID}
				}
				return c.Keys.Create(ctx, k)
			},
			id: func(x *kong.Key) *string { return x.ID }, key: func(x *kong.Key) *string { return x.Name },
			get: func(k *string) (*kong.Key, error) { return c.Keys.Get(ctx, k) },
			update: func(x *kong.Key) (*kong.Key, error) {
				return c.Keys.Update(ctx, &kong.Key{ID: x.ID, KID: kong.String("gk-kid-new")})
			},
			updated: func(x *kong.Key) bool { return *x.KID == "gk-kid-new" && x.PEM != nil && x.PEM.PublicKey != nil },
			list:    func(o *kong.ListOpt) ([]*kong.Key, *kong.ListOpt, error) { return c.Keys.List(ctx, o) },
			listAll: func() ([]*kong.Key, error) { return c.Keys.ListAll(ctx) },
			del:     func(k *string) error { return c.Keys.Delete(ctx, k) }, tagged: true,
		}.exercise,
		"key-auth": crud[kong.KeyAuth]{
			create: func(i int, id *string) (*kong.KeyAuth, error) {
				return c.KeyAuths.Create(ctx, f.consumer.ID, &kong.KeyAuth{ID: id, Key: name("key", i), Tags: tags})
			},
			id: func(x *kong.KeyAuth) *string { return x.ID }, key: func(x *kong.KeyAuth) *string { return x.Key },
			get: func(k *string) (*kong.KeyAuth, error) { return c.KeyAuths.Get(ctx, f.consumer.Username, k) },
			update: func(x *kong.KeyAuth) (*kong.KeyAuth, error) {
				return c.KeyAuths.Update(ctx, f.consumer.ID, &kong.KeyAuth{ID: x.ID, Key: kong.String("gk-key-new")})
			},
			updated: func(x *kong.KeyAuth) bool { return *x.Key == "gk-key-new" },
			list:    func(o *kong.ListOpt) ([]*kong.KeyAuth, *kong.ListOpt, error) { return c.KeyAuths.List(ctx, o) },
			listAll: func() ([]*kong.KeyAuth, error) { return c.KeyAuths.ListAll(ctx) },
			del:     func(k *string) error { return c.KeyAuths.Delete(ctx, f.consumer.ID, k) }, tagged: true,
		}.exercise,
		"basic-auth": crud[kong.BasicAuth]{
			create: func(i int, id *string) (*kong.BasicAuth, error) {
				return c.BasicAuths.Create(ctx, f.consumer.ID, &kong.BasicAuth{ID: id, Username: name("basic", i), Password: kong.String("pw"), Tags: tags})
			},
			id: func(x *kong.BasicAuth) *string { return x.ID }, key: func(x *kong.BasicAuth) *string { return x.Username },
			get: func(k *string) (*kong.BasicAuth, error) { return c.BasicAuths.Get(ctx, f.consumer.Username, k) },
			update: func(x *kong.BasicAuth) (*kong.BasicAuth, error) {
				return c.BasicAuths.Update(ctx, f.consumer.ID, &kong.BasicAuth{ID: x.ID, Username: kong.String("gk-basic-new")})
			},
			updated: func(x *kong.BasicAuth) bool { return *x.Username == "gk-basic-new" },
			list:    func(o *kong.ListOpt) ([]*kong.BasicAuth, *kong.ListOpt, error) { return c.BasicAuths.List(ctx, o) },
			listAll: func() ([]*kong.BasicAuth, error) { return c.BasicAuths.ListAll(ctx) },
			del:     func(k *string) error { return c.BasicAuths.Delete(ctx, f.consumer.ID, k) }, tagged: true,
		}.exercise,
		"acls": crud[kong.ACLGroup]{
			create: func(i int, id *string) (*kong.ACLGroup, error) {
				return c.ACLs.Create(ctx, f.consumer.ID, &kong.ACLGroup{ID: id, Group: name("group", i), Tags: tags})
			},
			id:  func(x *kong.ACLGroup) *string { return x.ID },
			get: func(k *string) (*kong.ACLGroup, error) { return c.ACLs.Get(ctx, f.consumer.Username, k) },
			update: func(x *kong.ACLGroup) (*kong.ACLGroup, error) {
				return c.ACLs.Update(ctx, f.consumer.ID, &kong.ACLGroup{ID: x.ID, Group: kong.String("gk-group-new")})
			},
			updated: func(x *kong.ACLGroup) bool { return *x.Group == "gk-group-new" },
			list:    func(o *kong.ListOpt) ([]*kong.ACLGroup, *kong.ListOpt, error) { return c.ACLs.List(ctx, o) },
			listAll: func() ([]*kong.ACLGroup, error) { return c.ACLs.ListAll(ctx) },
			del:     func(k *string) error { return c.ACLs.Delete(ctx, f.consumer.ID, k) }, tagged: true,
		}.exercise,
		"jwt": crud[kong.JWTAuth]{
			create: func(i int, id *string) (*kong.JWTAuth, error) {
				return c.JWTAuths.Create(ctx, f.consumer.ID, &kong.JWTAuth{ID: id, Key: name("iss", i), Secret: kong.String("s"), Tags: tags})
			},
			id: func(x *kong.JWTAuth) *string { return x.ID }, key: func(x *kong.JWTAuth) *string { return x.Key },
			get: func(k *string) (*kong.JWTAuth, error) { return c.JWTAuths.Get(ctx, f.consumer.Username, k) },
			update: func(x *kong.JWTAuth) (*kong.JWTAuth, error) {
				return c.JWTAuths.Update(ctx, f.consumer.ID, &kong.JWTAuth{ID: x.ID, Secret: kong.String("s2")})
			},
			updated: func(x *kong.JWTAuth) bool { return *x.Secret == "s2" },
			list:    func(o *kong.ListOpt) ([]*kong.JWTAuth, *kong.ListOpt, error) { return c.JWTAuths.List(ctx, o) },
			listAll: func() ([]*kong.JWTAuth, error) { return c.JWTAuths.ListAll(ctx) },
			del:     func(k *string) error { return c.JWTAuths.Delete(ctx, f.consumer.ID, k) }, tagged: true,
		}.exercise,
		"hmac-auth": crud[kong.HMACAuth]{
			create: func(i int, id *string) (*kong.HMACAuth, error) {
				return c.HMACAuths.Create(ctx, f.consumer.ID, &kong.HMACAuth{ID: id, Username: name("hmac", i), Secret: kong.String("s"), Tags: tags})
			},
			id: func(x *kong.HMACAuth) *string { return x.ID }, key: func(x *kong.HMACAuth) *string { return x.Username },
			get: func(k *string) (*kong.HMACAuth, error) { return c.HMACAuths.Get(ctx, f.consumer.Username, k) },
			update: func(x *kong.HMACAuth) (*kong.HMACAuth, error) {
				return c.HMACAuths.Update(ctx, f.consumer.ID, &kong.HMACAuth{ID: x.ID, Secret: kong.String("s2")})
			},
			updated: func(x *kong.HMACAuth) bool { return *x.Secret == "s2" },
			list:    func(o *kong.ListOpt) ([]*kong.HMACAuth, *kong.ListOpt, error) { return c.HMACAuths.List(ctx, o) },
			listAll: func() ([]*kong.HMACAuth, error) { return c.HMACAuths.ListAll(ctx) },
			del:     func(k *string) error { return c.HMACAuths.Delete(ctx, f.consumer.ID, k) }, tagged: true,
		}.exercise,
		"workspaces": crud[kong.Workspace]{
			create: func(i int, id *string) (*kong.Workspace, error) {
				return c.Workspaces.Create(ctx, &kong.Workspace{ID: id, Name: name("ws", i)})
			},
			id: func(x *kong.Workspace) *string { return x.ID }, key: func(x *kong.Workspace) *string { return x.Name },
			get: func(k *string) (*kong.Workspace, error) { return c.Workspaces.Get(ctx, k) },
			update: func(x *kong.Workspace) (*kong.Workspace, error) {
				return c.Workspaces.Update(ctx, &kong.Workspace{ID: x.ID, Comment: kong.String("updated")})
			},
			updated: func(x *kong.Workspace) bool { return x.Comment != nil && *x.Comment == "updated" },
			list:    func(o *kong.ListOpt) ([]*kong.Workspace, *kong.ListOpt, error) { return c.Workspaces.List(ctx, o) },
			listAll: func() ([]*kong.Workspace, error) { return c.Workspaces.ListAll(ctx) },
			del:     func(k *string) error { return c.Workspaces.Delete(ctx, k) },
		}.exercise,
		"rbac_roles": crud[kong.RBACRole]{
			create: func(i int, id *string) (*kong.RBACRole, error) {
				return c.RBACRoles.Create(ctx, &kong.RBACRole{ID: id, Name: name("role", i)})
			},
			id: func(x *kong.RBACRole) *string { return x.ID }, key: func(x *kong.RBACRole) *string { return x.Name },
			get: func(k *string) (*kong.RBACRole, error) { return c.RBACRoles.Get(ctx, k) },
			update: func(x *kong.RBACRole) (*kong.RBACRole, error) {
				return c.RBACRoles.Update(ctx, &kong.RBACRole{ID: x.ID, Comment: kong.String("updated")})
			},
			updated: func(x *kong.RBACRole) bool { return x.Comment != nil && *x.Comment == "updated" },
			list:    func(o *kong.ListOpt) ([]*kong.RBACRole, *kong.ListOpt, error) { return c.RBACRoles.List(ctx, o) },
			listAll: func() ([]*kong.RBACRole, error) { return c.RBACRoles.ListAll(ctx) },
			del:     func(k *string) error { return c.RBACRoles.Delete(ctx, k) },
		}.exercise,
		"rbac_users": crud[kong.RBACUser]{
			create: func(i int, id *string) (*kong.RBACUser, error) {
				return c.RBACUsers.Create(ctx, &kong.RBACUser{ID: id, Name: name("rbac-user", i), UserToken: name("token", i)})
			},
			id: func(x *kong.RBACUser) *string { return x.ID }, key: func(x *kong.RBACUser) *string { return x.Name },
			get: func(k *string) (*kong.RBACUser, error) { return c.RBACUsers.Get(ctx, k) },
			update: func(x *kong.RBACUser) (*kong.RBACUser, error) {
				return c.RBACUsers.Update(ctx, &kong.RBACUser{ID: x.ID, Comment: kong.String("updated")})
			},
			updated: func(x *kong.RBACUser) bool { return x.Comment != nil && *x.Comment == "updated" },
			list:    func(o *kong.ListOpt) ([]*kong.RBACUser, *kong.ListOpt, error) { return c.RBACUsers.List(ctx, o) },
			listAll: func() ([]*kong.RBACUser, error) { return c.RBACUsers.ListAll(ctx) },
			del:     func(k *string) error { return c.RBACUsers.Delete(ctx, k) },
		}.exercise,
	}
}

// TestGoKongEntities runs go-kong's services over every entity, in the
// default workspace and through a client bound to another one.
func TestGoKongEntities(t *testing.T) {
	g := startGateway(t)
	ctx := context.Background()
	root := newKongClient(t, g)
	if _, err := root.Workspaces.Create(ctx, &kong.Workspace{Name: kong.String("team-gk")}); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []string{"", "team-gk"} {
		c := newKongClient(t, g)
		if ws != "" {
			c.SetWorkspace(ws)
		}
		svc, err := c.Services.Create(ctx, &kong.Service{Name: kong.String("gk-fixture"), Host: kong.String("example.com")})
		if err != nil {
			t.Fatal(err)
		}
		cons, err := c.Consumers.Create(ctx, &kong.Consumer{Username: kong.String("gk-owner")})
		if err != nil {
			t.Fatal(err)
		}
		set, err := c.KeySets.Create(ctx, &kong.KeySet{Name: kong.String("gk-keys")})
		if err != nil {
			t.Fatal(err)
		}
		for name, run := range coreCases(ctx, c, fixtures{service: svc, consumer: cons, keySet: set}) {
			if ws != "" && name == "workspaces" {
				continue
			}
			t.Run(strings.TrimPrefix(ws+"/"+name, "/"), run)
		}
	}
}

// gkPublicKey returns a new EC public key in PEM.
func gkPublicKey() string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// gkCert returns a PEM certificate for cn (a CA when ca) and its key.
func gkCert(cn string, ca bool) (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames:              []string{cn},
		BasicConstraintsValid: true, IsCA: ca,
	}
	if ca {
		tpl.KeyUsage = x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// TestGoKongEnterprise: what go-kong reads of the node and the Enterprise
// endpoints, with Kong Enterprise's version (the default) and Kong OSS's.
func TestGoKongEnterprise(t *testing.T) {
	for _, c := range []struct {
		name, version, server string
		enterprise            bool
	}{
		{"default", "3.9.1.0", "kong/3.9.1.0-enterprise-edition", true},
		{"oss", "3.9.1", "kong/3.9.1", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var extra []string
			if c.name == "oss" {
				extra = append(extra, "KONG_KONG_VERSION="+c.version)
			}
			g := startGateway(t, extra...)
			ctx := context.Background()
			k := newKongClient(t, g)

			info, err := k.Info.Get(ctx)
			if err != nil || info.Version != c.version || info.Configuration == nil || info.Configuration.Database == "" {
				t.Fatalf("info %+v, %v", info, err)
			}
			root, err := k.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			v, err := kong.ParseSemanticVersion(kong.VersionFromInfo(root))
			if err != nil || v.IsKongGatewayEnterprise() != c.enterprise || v.Major() != 3 || v.Minor() != 9 || v.Patch() != 1 {
				t.Errorf("version %v (enterprise %v), %v", v, v.IsKongGatewayEnterprise(), err)
			}
			if server, err := k.Server(ctx); err != nil || server != c.server {
				t.Errorf("Server %q, %v; want %q", server, err, c.server)
			}
			acl := root["plugins"].(map[string]any)["available_on_server"].(map[string]any)["acl"].(map[string]any)
			if acl["version"] != c.version {
				t.Errorf("acl plugin version %v, want %s", acl["version"], c.version)
			}

			// Schemas and validation, of entities and of plugins.
			s, err := k.Schemas.Get(ctx, "services")
			if err != nil || s["fields"] == nil {
				t.Errorf("services schema %v, %v", s, err)
			}
			if ok, msg, err := k.Schemas.Validate(ctx, kong.EntityTypeServices, &kong.Service{Host: kong.String("example.com")}); !ok || err != nil {
				t.Errorf("valid service: %v %q %v", ok, msg, err)
			}
			if ok, msg, err := k.Schemas.Validate(ctx, kong.EntityTypeRoutes, &kong.Route{Protocols: kong.StringSlice("http")}); ok || err != nil || !strings.Contains(msg, "must set one of") {
				t.Errorf("invalid route: %v %q %v", ok, msg, err)
			}
			if ok, msg, err := k.Plugins.Validate(ctx, &kong.Plugin{Name: kong.String("key-auth")}); !ok || err != nil {
				t.Errorf("valid plugin: %v %q %v", ok, msg, err)
			}
			if ok, msg, err := k.Plugins.Validate(ctx, &kong.Plugin{Name: kong.String("rate-limiting"), Config: kong.Configuration{"minute": "x"}}); ok || err != nil || msg == "" {
				t.Errorf("invalid plugin: %v %q %v", ok, msg, err)
			}
			if ps, err := k.Plugins.GetFullSchema(ctx, kong.String("cors")); err != nil || ps["fields"] == nil {
				t.Errorf("cors schema: %v", err)
			}

			// Targets hang on an upstream; SNIs on a certificate.
			up, err := k.Upstreams.Create(ctx, &kong.Upstream{Name: kong.String("gk-up")})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if _, err := k.Targets.Create(ctx, up.Name, &kong.Target{Target: kong.String(fmt.Sprintf("10.0.0.%d:80", i+1)), Tags: kong.StringSlice(gkTag)}); err != nil {
					t.Fatal(err)
				}
			}
			page, next, err := k.Targets.List(ctx, up.ID, &kong.ListOpt{Size: 2})
			if err != nil || len(page) != 2 || next == nil {
				t.Fatalf("targets page %d, next %v, %v", len(page), next, err)
			}
			targets, err := k.Targets.ListAll(ctx, up.Name)
			if err != nil || len(targets) != 3 {
				t.Fatalf("targets %d, %v", len(targets), err)
			}
			if tg, err := k.Targets.Update(ctx, up.Name, targets[0].ID, &kong.Target{Target: targets[0].Target, Weight: kong.Int(5)}); err != nil || *tg.Weight != 5 {
				t.Errorf("target update: %v", err)
			}
			if err := k.Targets.Delete(ctx, up.Name, targets[0].Target); err != nil {
				t.Errorf("target delete by address: %v", err)
			}
			cert, key := gkCert("gk.example", false)
			crt, err := k.Certificates.Create(ctx, &kong.Certificate{Cert: &cert, Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			sni, err := k.SNIs.Create(ctx, &kong.SNI{Name: kong.String("gk.example"), Certificate: &kong.Certificate{ID: crt.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := k.SNIs.Get(ctx, kong.String("gk.example")); err != nil || *got.ID != *sni.ID {
				t.Errorf("sni by name: %v", err)
			}
			if list, _, err := k.SNIs.ListForCertificate(ctx, crt.ID, nil); err != nil || len(list) != 1 {
				t.Errorf("snis of certificate: %d, %v", len(list), err)
			}

			// RBAC: a role's endpoint permissions, a user's roles, admins.
			role, err := k.RBACRoles.Create(ctx, &kong.RBACRole{Name: kong.String("gk-ops")})
			if err != nil {
				t.Fatal(err)
			}
			ep, err := k.RBACEndpointPermissions.Create(ctx, &kong.RBACEndpointPermission{
				Role: role, Workspace: kong.String("default"), Endpoint: kong.String("/services"), Actions: kong.StringSlice("read", "update"),
			})
			if err != nil || len(ep.Actions) != 2 {
				t.Fatalf("endpoint permission %+v, %v", ep, err)
			}
			if got, err := k.RBACEndpointPermissions.Get(ctx, role.Name, kong.String("default"), kong.String("/services")); err != nil || *got.Endpoint != "/services" {
				t.Errorf("endpoint permission get: %+v %v", got, err)
			}
			ep.Actions, ep.Comment = kong.StringSlice("read"), kong.String("narrower")
			if got, err := k.RBACEndpointPermissions.Update(ctx, ep); err != nil || len(got.Actions) != 1 {
				t.Errorf("endpoint permission update: %+v %v", got, err)
			}
			if all, err := k.RBACEndpointPermissions.ListAllForRole(ctx, role.ID); err != nil || len(all) != 1 {
				t.Errorf("endpoint permissions of role: %d, %v", len(all), err)
			}
			user, err := k.RBACUsers.Create(ctx, &kong.RBACUser{Name: kong.String("gk-bot"), UserToken: kong.String("gk-bot-token")})
			if err != nil {
				t.Fatal(err)
			}
			if roles, err := k.RBACUsers.AddRoles(ctx, user.Name, []*kong.RBACRole{role}); err != nil || len(roles) == 0 {
				t.Errorf("add roles: %v %v", roles, err)
			}
			if roles, err := k.RBACUsers.ListRoles(ctx, user.Name); err != nil || len(roles) != 1 || *roles[0].Name != "gk-ops" {
				t.Errorf("list roles: %v %v", roles, err)
			}
			if err := k.RBACEndpointPermissions.Delete(ctx, role.ID, kong.String("default"), kong.String("/services")); err != nil {
				t.Errorf("endpoint permission delete: %v", err)
			}
			adm, err := k.Admins.Create(ctx, &kong.Admin{Username: kong.String("gk-admin"), Email: kong.String("gk@example.com")})
			if err != nil || adm.ID == nil {
				t.Fatalf("admin %+v, %v", adm, err)
			}
			if got, err := k.Admins.Get(ctx, kong.String("gk-admin")); err != nil || *got.ID != *adm.ID {
				t.Errorf("admin get: %v", err)
			}
			if admins, _, err := k.Admins.List(ctx, nil); err != nil || len(admins) != 1 {
				t.Errorf("admins list: %d, %v", len(admins), err)
			}
			if got, err := k.Admins.Update(ctx, &kong.Admin{ID: adm.ID, CustomID: kong.String("gk-1")}); err != nil || got.CustomID == nil || *got.CustomID != "gk-1" {
				t.Errorf("admin update: %+v %v", got, err)
			}
			if err := k.Admins.Delete(ctx, adm.ID); err != nil {
				t.Errorf("admin delete: %v", err)
			}
			if ok, err := k.Tags.Exists(ctx); err != nil || !ok {
				t.Errorf("tags: %v %v", ok, err)
			}

			// The Enterprise collections Portico does not have read as
			// unused, in the default workspace and through a bound client.
			ws := newKongClient(t, g)
			if _, err := k.Workspaces.Create(ctx, &kong.Workspace{Name: kong.String("gk-ws")}); err != nil {
				t.Fatal(err)
			}
			ws.SetWorkspace("gk-ws")
			for _, cl := range []*kong.Client{k, ws} {
				if l, err := cl.ConsumerGroups.ListAll(ctx); err != nil || len(l) != 0 {
					t.Errorf("consumer groups: %v %v", l, err)
				}
				if l, err := cl.Vaults.ListAll(ctx); err != nil || len(l) != 0 {
					t.Errorf("vaults: %v %v", l, err)
				}
				if l, err := cl.Keys.ListAll(ctx); err != nil || len(l) != 0 {
					t.Errorf("keys: %v %v", l, err)
				}
				if l, err := cl.KeySets.ListAll(ctx); err != nil || len(l) != 0 {
					t.Errorf("key sets: %v %v", l, err)
				}
				if l, err := cl.Partials.ListAll(ctx); err != nil || len(l) != 0 {
					t.Errorf("partials: %v %v", l, err)
				}
				if l, err := cl.Licenses.ListAll(ctx); err != nil || len(l) != 0 {
					t.Errorf("licenses: %v %v", l, err)
				}
				if l, err := cl.MTLSAuths.ListAll(ctx); err != nil || len(l) != 0 {
					t.Errorf("mtls-auths: %v %v", l, err)
				}
				if _, err := cl.ConsumerGroups.Get(ctx, kong.String("gold")); !kong.IsNotFoundErr(err) {
					t.Errorf("consumer group get: %v, want not found", err)
				}
				_, err := cl.FilterChains.ListAll(ctx)
				var apiErr *kong.APIError
				if !errors.As(err, &apiErr) || apiErr.Code() != 400 {
					t.Errorf("filter chains: %v, want 400 (no wasm)", err)
				}
				if _, err := cl.Vaults.Create(ctx, &kong.Vault{Name: kong.String("env"), Prefix: kong.String("my-env")}); !kong.IsForbiddenErr(err) {
					t.Errorf("vault create: %v, want 403", err)
				}
			}
			if l, err := ws.Services.ListAll(ctx); err != nil || len(l) != 0 {
				t.Errorf("services of an empty workspace: %v %v", l, err)
			}
		})
	}
}
