package conf

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// applyingDirs hold the code that applies the configuration: a key is
// applied when its Config field is read there (as cfg.Field or n.cfg.Field).
var applyingDirs = []string{"../node", "../cmd/portico"}

// pending are keys whose feature is being built elsewhere: read, printed,
// and not applied yet. A key here that becomes applied fails the test, so
// that the entry is removed.
var pending = map[string]string{}

// refusedValues are values Validate refuses at start, with a message naming
// the key.
var refusedValues = []struct{ key, value string }{
	{"database", "postgres"},
	{"ssl_cipher_suite", "fips"},
	{"ssl_cipher_suite", "custom"},
	{"enforce_rbac", "both"},
	{"enforce_rbac", "entity"},
}

// TestEveryKeyIsDecided walks every key of defaults.conf: each is applied
// (its field is read by the code that applies the configuration), refused at
// start, or ignored with a start-up notice and listed as such in the README.
// A key added without one of these decisions fails here.
func TestEveryKeyIsDecided(t *testing.T) {
	defs, errs := parseFile("", defaultsConf)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	used := configFieldsRead(t)
	ignoredInREADME := readmeIgnoredKeys(t)
	refused := map[string]bool{}
	for _, r := range refusedValues {
		refused[r.key] = true
	}
	for _, s := range defs {
		t.Run(s.key, func(t *testing.T) {
			k := keyIndex[s.key]
			if k == nil {
				t.Fatalf("defaults.conf sets %q, which the keys table does not declare", s.key)
			}
			field := fieldName(t, k)
			applied := used[field]
			switch {
			case pending[s.key] != "":
				if applied {
					t.Errorf("%s is applied now (Config.%s is read): remove it from pending", s.key, field)
				}
			case k.ignored != "":
				if applied {
					t.Errorf("%s is marked ignored, but Config.%s is read by %v: drop its ignored text", s.key, field, applyingDirs)
				}
				if !ignoredInREADME[s.key] {
					t.Errorf("%s is ignored, but the README's accepted-and-ignored row does not list it", s.key)
				}
				_, notices, err := Load("", []string{"KONG_" + strings.ToUpper(s.key) + "=" + s.value})
				if err != nil {
					t.Fatal(err)
				}
				if !noticeNames(notices, s.key) {
					t.Errorf("setting %s gives no start-up notice naming it: %v", s.key, notices)
				}
			case applied, refused[s.key]:
			default:
				t.Errorf("%s (Config.%s) is neither applied (read in %v), refused by Validate, nor ignored with a notice", s.key, field, applyingDirs)
			}
		})
	}
}

// TestRefusedValuesNameTheirKey checks the refusals TestEveryKeyIsDecided
// counts on.
func TestRefusedValuesNameTheirKey(t *testing.T) {
	for _, r := range refusedValues {
		t.Run(r.key+"="+r.value, func(t *testing.T) {
			c, _, err := Load("", []string{"KONG_" + strings.ToUpper(r.key) + "=" + r.value})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), r.key+":") {
				t.Errorf("Validate() = %v, want a refusal naming %s", err, r.key)
			}
		})
	}
}

func noticeNames(notices []Notice, key string) bool {
	for _, n := range notices {
		if strings.HasPrefix(n.Message, key+" ") {
			return true
		}
	}
	return false
}

// fieldName finds the Config field a key fills.
func fieldName(t *testing.T, k *key) string {
	t.Helper()
	var c Config
	want := reflect.ValueOf(k.field(&c)).Pointer()
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).Addr().Pointer() == want {
			return v.Type().Field(i).Name
		}
	}
	t.Fatalf("key %s fills no field of Config", k.name)
	return ""
}

// configFieldsRead lists the fields read as cfg.Field (or x.cfg.Field) in
// the non-test Go files of applyingDirs.
func configFieldsRead(t *testing.T) map[string]bool {
	t.Helper()
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range applyingDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch x := sel.X.(type) {
				case *ast.Ident:
					if x.Name == "cfg" {
						used[sel.Sel.Name] = true
					}
				case *ast.SelectorExpr:
					if x.Sel.Name == "cfg" {
						used[sel.Sel.Name] = true
					}
				}
				return true
			})
		}
	}
	return used
}

// readmeIgnoredKeys lists the keys named in the README's configuration
// rows that say "accepted and ignored".
func readmeIgnoredKeys(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile("`([a-z0-9_]+)`")
	out := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "|") && strings.Contains(line, "accepted and ignored") {
			cells := strings.Split(line, "|")
			for _, m := range names.FindAllStringSubmatch(cells[1], -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}
