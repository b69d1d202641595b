package plugins

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portico-gw/portico/schema"
)

func testInfo(name string, priority int) Info {
	return Info{
		Name:     name,
		Version:  "1.0.0",
		Priority: priority,
		Schema: &schema.Subschema{Name: name, Fields: []*schema.Field{
			{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
				{Name: "x", Type: schema.String},
			}},
		}},
	}
}

// testRegistry holds four plugins that run and oauth2, which does not.
func testRegistry() *Registry {
	r := NewRegistry()
	for _, name := range []string{"key-auth", "acl", "cors", "rate-limiting"} {
		info := testInfo(name, len(name))
		info.New = func(map[string]any) (Handler, error) { return struct{}{}, nil }
		r.Register(info)
	}
	r.Register(testInfo("oauth2", 1))
	return r
}

func names(infos []Info) []string {
	out := []string{}
	for _, info := range infos {
		out = append(out, info.Name)
	}
	return out
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name  string
		info  Info
		panic string
	}{
		{"duplicate", testInfo("acl", 1), "BUG: duplicate plugin acl"},
		{"no name", Info{Schema: &schema.Subschema{}}, "BUG: plugin without a name"},
		{"no schema", Info{Name: "x"}, "BUG: plugin x has no schema"},
		{"schema named differently", Info{Name: "x", Schema: &schema.Subschema{Name: "y"}}, `BUG: plugin x has a schema named "y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRegistry()
			defer func() {
				got, _ := recover().(string)
				if got != tt.panic {
					t.Errorf("panic = %q; want %q", got, tt.panic)
				}
			}()
			r.Register(tt.info)
		})
	}
}

func TestZeroRegistry(t *testing.T) {
	var r Registry
	if got := r.All(); len(got) != 0 {
		t.Errorf("All() = %v; want none", got)
	}
	if _, ok := r.Lookup("acl"); ok {
		t.Error("Lookup on an empty registry found acl")
	}
	r.Register(testInfo("acl", 950))
	if info, ok := r.Lookup("acl"); !ok || info.Priority != 950 {
		t.Errorf("Lookup(acl) = %+v, %v", info, ok)
	}
}

func TestLookupAndAll(t *testing.T) {
	r := testRegistry()
	if got, want := names(r.All()), []string{"acl", "cors", "key-auth", "oauth2", "rate-limiting"}; !reflect.DeepEqual(got, want) {
		t.Errorf("All() = %v; want %v", got, want)
	}
	info, ok := r.Lookup("cors")
	if !ok || info.Name != "cors" || info.Schema.Name != "cors" {
		t.Errorf("Lookup(cors) = %+v, %v", info, ok)
	}
	if _, ok := r.Lookup("nope"); ok {
		t.Error("Lookup(nope) found a plugin")
	}
}

func TestEnabled(t *testing.T) {
	all := []string{"acl", "cors", "key-auth", "rate-limiting"}
	tests := []struct {
		name string
		list []string
		want []string
		err  string
	}{
		{"bundled", []string{"bundled"}, all, ""},
		{"names", []string{"key-auth", " acl "}, []string{"acl", "key-auth"}, ""},
		{"bundled and names", []string{"bundled", "cors"}, all, ""},
		{"off", []string{"off"}, []string{}, ""},
		{"off first wins", []string{"off", "key-auth"}, []string{}, ""},
		{"later off ignored", []string{"key-auth", "off"}, []string{"key-auth"}, ""},
		{"empty list", nil, []string{}, ""},
		{"empty values skipped", []string{"", "acl", " "}, []string{"acl"}, ""},
		{"unknown name", []string{"bundled", "my-plugin"}, nil, "my-plugin plugin is enabled but not installed"},
		{"a plugin that cannot run", []string{"bundled", "oauth2"}, nil, "oauth2 plugin is enabled but cannot run on this node yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testRegistry().Enabled(tt.list)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Enabled(%q): %v", tt.list, err)
			}
			if gotNames := names(got.All()); !reflect.DeepEqual(gotNames, tt.want) {
				t.Errorf("enabled = %v; want %v", gotNames, tt.want)
			}
		})
	}
}

func TestNotRunning(t *testing.T) {
	r := testRegistry()
	for name, want := range map[string]string{
		"oauth2":   "plugin 'oauth2' cannot run on this node yet",
		"key-auth": "",
		"nope":     "",
	} {
		if got := r.NotRunning(name); got != want {
			t.Errorf("NotRunning(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestEnabledIsACopy(t *testing.T) {
	r := testRegistry()
	enabled, err := r.Enabled([]string{"acl"})
	if err != nil {
		t.Fatal(err)
	}
	enabled.Register(testInfo("extra", 1))
	if _, ok := r.Lookup("extra"); ok {
		t.Error("registering into the enabled registry changed the original")
	}
}

func TestInstall(t *testing.T) {
	r := testRegistry()
	e := &schema.Entity{Name: "plugins", SubschemaKey: "name", Fields: []*schema.Field{
		{Name: "name", Type: schema.String, Required: true},
		{Name: "config", Type: schema.Record},
	}}
	r.Install(e)
	if got, want := e.SubschemaNames(), names(r.All()); !reflect.DeepEqual(got, want) {
		t.Errorf("subschemas = %v; want %v", got, want)
	}
	if s := e.Subschema("acl"); s == nil || s.Name != "acl" {
		t.Errorf("Subschema(acl) = %+v", s)
	}

	defer func() {
		got, _ := recover().(string)
		if !strings.HasPrefix(got, "BUG: duplicate subschema") {
			t.Errorf("installing twice: panic = %q", got)
		}
	}()
	r.Install(e)
}
