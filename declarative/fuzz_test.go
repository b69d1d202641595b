package declarative_test

import (
	"errors"
	"testing"

	"github.com/portico-gw/portico/declarative"
)

// FuzzParse: no input makes the parser panic, and what it refuses it
// refuses with a declarative error whose renderings work.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://x\n  routes:\n  - paths: [/]\n",
		`{"_format_version":"3.0","consumers":[{"username":"a","acls":[{"group":"g"}]}]}`,
		"_format_version: \"3.0\"\nupstreams:\n- name: u\n  targets:\n  - target: 1.2.3.4:80\n",
		"a: &a [*a]", "a: &x {b: 1}\nc: {<<: *x}", "- 1\n- 2", "null", "{", "_format_version: 3.0",
		"_format_version: \"3.0\"\nroutes:\n- service: x\n  paths: [/]\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), "k.yml")
		f.Add([]byte(s), "")
	}
	p := declarative.New(registry(f))
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		_, err := p.Parse(data, name)
		if err == nil {
			return
		}
		var de *declarative.Error
		if !errors.As(err, &de) {
			t.Fatalf("err %T %v, want a declarative error", err, err)
		}
		_ = de.Error()
		_ = de.Message()
		_ = de.Body(true)
	})
}
