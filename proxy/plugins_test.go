package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/bundled"
)

// testPlugins runs stand-ins under real plugin names (so rows validate
// against the real schemas):
//   - key-auth "authenticates" the consumer named by X-Consumer;
//   - request-termination adds its config.message to X-Picked (it does not
//     terminate), or fails when the message is "fail", or panics on "panic",
//     or exits with 418 on "exit";
//   - correlation-id records the log entries it receives.
type testPlugins struct {
	mu   sync.Mutex
	logs []*plugins.LogEntry
}

type pickRecorder struct{ tag string }

func (p pickRecorder) Access(c *plugins.Context) error {
	switch p.tag {
	case "fail":
		return errors.New("boom")
	case "panic":
		panic("kaboom")
	case "exit":
		c.Exit(418, map[string]string{"message": "teapot"}, nil)
		return nil
	}
	c.Request.Header.Add("X-Picked", p.tag)
	return nil
}

func (p pickRecorder) HeaderFilter(c *plugins.Context) error {
	c.Response.Header.Add("X-Picked-Downstream", p.tag)
	return nil
}

type consumerFromHeader struct{}

func (consumerFromHeader) Access(c *plugins.Context) error {
	if id := string(c.Request.Header.Peek("X-Consumer")); id != "" {
		c.Consumer = map[string]any{"id": id}
	}
	return nil
}

type logRecorder struct{ tp *testPlugins }

func (l logRecorder) Log(e *plugins.LogEntry) {
	cp := *e // the entry is reused after Log
	l.tp.mu.Lock()
	l.tp.logs = append(l.tp.logs, &cp)
	l.tp.mu.Unlock()
}

func (tp *testPlugins) registry() *plugins.Registry {
	all := plugins.NewRegistry()
	bundled.Register(all)
	r := plugins.NewRegistry()
	for name, f := range map[string]plugins.Factory{
		"key-auth": func(map[string]any) (plugins.Handler, error) { return consumerFromHeader{}, nil },
		"request-termination": func(c map[string]any) (plugins.Handler, error) {
			s, _ := c["message"].(string)
			return pickRecorder{s}, nil
		},
		"correlation-id": func(map[string]any) (plugins.Handler, error) { return logRecorder{tp}, nil },
	} {
		info, _ := all.Lookup(name)
		info.New = f
		r.Register(info)
	}
	return r
}

func (tp *testPlugins) entries() []*plugins.LogEntry {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]*plugins.LogEntry(nil), tp.logs...)
}

// Kong's precedence, one plugin name configured at several scopes: the
// most specific row wins, with the consumer known once key-auth ran.
func TestPluginPrecedence(t *testing.T) {
	up := echoUpstream(t, "up")
	scopes := []string{"global", "service", "route", "route+service", "consumer", "consumer+service", "consumer+route", "consumer+route+service"}
	for _, c := range []struct {
		name       string
		configured []string
		consumer   bool
		want       string
	}{
		{"global only", []string{"global"}, false, "global"},
		{"service over global", []string{"global", "service"}, false, "service"},
		{"route over service", []string{"global", "service", "route"}, false, "route"},
		{"route+service over route", []string{"route", "service", "route+service"}, false, "route+service"},
		{"consumer rows need a consumer", []string{"service", "consumer", "consumer+route"}, false, "service"},
		{"consumer over route", []string{"route", "consumer"}, true, "consumer"},
		{"route+service over consumer", []string{"route+service", "consumer"}, true, "route+service"},
		{"consumer+service over route+service", []string{"route+service", "consumer+service"}, true, "consumer+service"},
		{"consumer+route over consumer+service", []string{"consumer+service", "consumer+route"}, true, "consumer+route"},
		{"all of them", scopes, true, "consumer+route+service"},
		{"all of them, no consumer", scopes, false, "route+service"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tplug testPlugins
			tp := newTestProxy(t, func(o *Options) { o.Plugins = tplug.registry() })
			svc := tp.insert("services", map[string]any{"url": up.URL})
			other := tp.insert("services", map[string]any{"url": up.URL, "name": "other"})
			rt := tp.insert("routes", map[string]any{"paths": []any{"/p"}, "service": map[string]any{"id": svc["id"]}})
			alice := tp.insert("consumers", map[string]any{"username": "alice"})
			bob := tp.insert("consumers", map[string]any{"username": "bob"})
			tp.insert("plugins", map[string]any{"name": "key-auth"})
			for _, s := range c.configured {
				row := map[string]any{"name": "request-termination", "config": map[string]any{"message": s}}
				if strings.Contains(s, "service") || s == "service" {
					row["service"] = map[string]any{"id": svc["id"]}
				}
				if strings.Contains(s, "route") {
					row["route"] = map[string]any{"id": rt["id"]}
				}
				if strings.Contains(s, "consumer") {
					row["consumer"] = map[string]any{"id": alice["id"]}
				}
				tp.insert("plugins", row)
			}
			// Rows that never apply: another service's, another
			// consumer's, a disabled one's.
			tp.insert("plugins", map[string]any{"name": "request-termination", "config": map[string]any{"message": "other service"},
				"service": map[string]any{"id": other["id"]}, "route": map[string]any{"id": rt["id"]}})
			tp.insert("plugins", map[string]any{"name": "request-termination", "config": map[string]any{"message": "bob"},
				"consumer": map[string]any{"id": bob["id"]}, "route": map[string]any{"id": rt["id"]}, "service": map[string]any{"id": svc["id"]}})
			if !slices.Contains(c.configured, "consumer+route+service") {
				// A disabled row shadows nothing, even at the most
				// specific scope.
				tp.insert("plugins", map[string]any{"name": "request-termination", "config": map[string]any{"message": "disabled"},
					"enabled": false, "consumer": map[string]any{"id": alice["id"]}, "route": map[string]any{"id": rt["id"]}, "service": map[string]any{"id": svc["id"]}})
			}
			headers := map[string]string{}
			if c.consumer {
				headers["X-Consumer"] = alice["id"].(string)
			}
			r := tp.do("GET", "/p", headers, "")
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := r.echo(t).Headers["X-Picked"]; len(got) != 1 || got[0] != c.want {
				t.Fatalf("the upstream saw X-Picked %v, want [%s]", got, c.want)
			}
			if got := r.headers.Values("X-Picked-Downstream"); len(got) != 1 || got[0] != c.want {
				t.Fatalf("header filter: X-Picked-Downstream %v, want [%s]", got, c.want)
			}
		})
	}
}

// A plugin that fails or panics gives its request Kong's 500 and harms no
// other request; a plugin that exits answers without the upstream, with
// Kong's headers; log plugins get the request after the answer.
func TestPluginPhases(t *testing.T) {
	up := echoUpstream(t, "up")
	var tplug testPlugins
	tp := newTestProxy(t, func(o *Options) { o.Plugins = tplug.registry() })
	svc := tp.insert("services", map[string]any{"url": up.URL})
	for _, tag := range []string{"fail", "panic", "exit", "fine"} {
		rt := tp.insert("routes", map[string]any{"paths": []any{"/" + tag}, "service": map[string]any{"id": svc["id"]}})
		tp.insert("plugins", map[string]any{"name": "request-termination", "config": map[string]any{"message": tag},
			"route": map[string]any{"id": rt["id"]}})
	}
	tp.insert("plugins", map[string]any{"name": "correlation-id"}) // logs every request

	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/fail", 500, `"message":"An unexpected error occurred"`},
		{"/panic", 500, `"message":"An unexpected error occurred"`},
		{"/exit", 418, `{"message":"teapot"}`},
		{"/fine", 200, `"server":"up"`},
	} {
		r := tp.do("GET", c.path, nil, "")
		if r.status != c.status || !strings.Contains(string(r.body), c.body) {
			t.Errorf("%s: %d %s, want %d with %s", c.path, r.status, r.body, c.status, c.body)
		}
		if r.headers.Get("X-Kong-Request-Id") == "" || r.headers.Get("Server") == "" {
			t.Errorf("%s: Kong's headers missing: %v", c.path, r.headers)
		}
		if c.status == 418 && r.headers.Get("X-Kong-Response-Latency") == "" {
			t.Errorf("an exit lacks X-Kong-Response-Latency: %v", r.headers)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(tplug.entries()) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	logs := tplug.entries()
	if len(logs) != 4 {
		t.Fatalf("%d log entries, want 4", len(logs))
	}
	statuses := map[int]bool{}
	for _, e := range logs {
		statuses[e.Response.Status] = true
		if e.Request.Method != "GET" || e.Route.ID == "" || e.Service.ID != svc["id"] {
			t.Errorf("log entry %+v", e)
		}
	}
	if !statuses[500] || !statuses[418] || !statuses[200] {
		t.Errorf("logged statuses %v", statuses)
	}
}

// A global plugin applies to the routes of its own workspace only.
func TestPluginsOfAnotherWorkspace(t *testing.T) {
	up := echoUpstream(t, "up")
	var tplug testPlugins
	tp := newTestProxy(t, func(o *Options) { o.Plugins = tplug.registry() })
	svc := tp.insert("services", map[string]any{"url": up.URL})
	tp.insert("routes", map[string]any{"paths": []any{"/p"}, "service": map[string]any{"id": svc["id"]}})
	ws := tp.insert("workspaces", map[string]any{"name": "other"})
	ctx := db.InWorkspace(context.Background(), ws["id"].(string))
	if _, err := tp.db.Insert(ctx, tp.db.Entity("plugins"), map[string]any{"name": "request-termination",
		"config": map[string]any{"message": "exit"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tp.p.rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := tp.do("GET", "/p", nil, ""); r.status != 200 {
		t.Fatalf("another workspace's global plugin ran: %d %s", r.status, r.body)
	}
	tp.insert("plugins", map[string]any{"name": "request-termination", "config": map[string]any{"message": "exit"}})
	if r := tp.do("GET", "/p", nil, ""); r.status != 418 {
		t.Fatalf("the route's workspace's global plugin did not run: %d", r.status)
	}
}

// Dynamic ordering of the access phase, as Kong's default algorithm
// places plugins (links are given in priority order).
func TestAccessOrder(t *testing.T) {
	type rule struct{ before, after []string }
	for _, c := range []struct {
		name  string
		rules map[string]rule
		want  []string // nil: the static order stands
	}{
		{"no rules", nil, nil},
		{"a rule naming a plugin not on the chain", map[string]rule{"a": {before: []string{"zipkin"}}}, nil},
		{"before moves the rule's plugin ahead", map[string]rule{"c": {before: []string{"a"}}}, []string{"c", "a", "b", "d"}},
		{"after makes the same dependency", map[string]rule{"a": {after: []string{"c"}}}, []string{"c", "a", "b", "d"}},
		{"after moves a plugin down next to what it needs", map[string]rule{"b": {after: []string{"d"}}}, []string{"a", "d", "b", "c"}},
		{"a chain of dependencies is placed whole", map[string]rule{"a": {after: []string{"c"}}, "c": {after: []string{"d"}}},
			[]string{"d", "c", "a", "b"}},
		{"dependencies among themselves by priority", map[string]rule{"a": {after: []string{"d", "c"}}}, []string{"c", "d", "a", "b"}},
		{"a cycle ends where its walk began", map[string]rule{"a": {after: []string{"b"}}, "b": {after: []string{"a"}}},
			[]string{"b", "a", "c", "d"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var links []link
			for _, name := range []string{"a", "b", "c", "d"} {
				in := &instance{name: name, runsBefore: c.rules[name].before, runsAfter: c.rules[name].after}
				links = append(links, link{rep: in, fallback: in})
			}
			order := accessOrder(links)
			var got []string
			for _, i := range order {
				got = append(got, links[i].rep.name)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("order = %v, want %v", got, c.want)
			}
		})
	}
}

type certChooser struct {
	cert *tls.Certificate
	err  error
}

func (c certChooser) Certificate(cc *plugins.CertContext) error {
	if cc.ServerName == "chosen.test" {
		cc.Certificate = c.cert
	}
	return c.err
}

// The certificate phase: a plugin may choose the certificate; one that
// fails refuses the handshake; others leave the SNI's choice.
func TestCertificatePhase(t *testing.T) {
	chosen := &tls.Certificate{}
	p := &Proxy{}
	conn, other := net.Pipe()
	defer conn.Close()
	defer other.Close()
	for _, c := range []struct {
		name, sni string
		plugin    certChooser
		want      *tls.Certificate
		fails     bool
	}{
		{"chosen by the plugin", "chosen.test", certChooser{cert: chosen}, chosen, false},
		{"left to the SNI", "other.test", certChooser{cert: chosen}, nil, false},
		{"a failing plugin", "chosen.test", certChooser{err: errors.New("no")}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := &instance{name: "chooser", cert: c.plugin, protocols: protoHTTPS}
			got, err := p.certificatePhase([]*instance{in}, &tls.ClientHelloInfo{ServerName: c.sni, Conn: conn})
			if got != c.want || (err != nil) != c.fails {
				t.Errorf("certificate %p, err %v", got, err)
			}
		})
	}
}
