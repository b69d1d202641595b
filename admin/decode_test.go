package admin

import (
	"bytes"
	"errors"
	"mime/multipart"
	"reflect"
	"testing"
)

func TestDecodeForm(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]any
	}{
		{"plain", "username=Ada+Lovelace&custom_id=1", map[string]any{"username": "Ada Lovelace", "custom_id": "1"}},
		{"dotted", "config.url=http://x&config.headers.content-type=application/json",
			map[string]any{"config": map[string]any{"url": "http://x", "headers": map[string]any{"content-type": "application/json"}}}},
		{"append", "hosts[]=a&hosts[]=b", map[string]any{"hosts": []any{"a", "b"}}},
		{"indexed", "hosts[2]=b&hosts[1]=a", map[string]any{"hosts": []any{"a", "b"}}},
		{"repeated", "hosts=a&hosts=b", map[string]any{"hosts": []any{"a", "b"}}},
		{"indexed records", "x[1].y=z&x[1].w=v&x[2].y=q",
			map[string]any{"x": []any{map[string]any{"y": "z", "w": "v"}, map[string]any{"y": "q"}}}},
		{"bracket name", "config[minute]=5", map[string]any{"config": map[string]any{"minute": "5"}}},
		{"nested array", "config.functions[]=return 1", map[string]any{"config": map[string]any{"functions": []any{"return 1"}}}},
		{"empty value", "name=", map[string]any{"name": ""}},
		{"percent encoded", "name=a%2Fb%26c", map[string]any{"name": "a/b&c"}},
		{"empty body", "", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBody("application/x-www-form-urlencoded", []byte(tt.body))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !got.form {
				t.Fatalf("form flag not set")
			}
			if !reflect.DeepEqual(got.args, tt.want) {
				t.Fatalf("got %#v, want %#v", got.args, tt.want)
			}
		})
	}
}

func TestDecodeFormErrors(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"scalar then record", "a=1&a.b=2", "a.b"},
		{"record then scalar", "a.b=2&a=1", "a"},
		{"array then record", "a[]=1&a.b=2", "a.b"},
		{"index zero", "a[0]=1", "a[0]"},
		{"index too large", "a[100000]=1", "a[100000]"},
		{"unclosed bracket", "a[1=1", "a[1"},
		{"bad escape", "a=%zz", "@body"},
		{"leading index", "[1]=x", "[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBody("application/x-www-form-urlencoded", []byte(tt.body))
			var de *decodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want a decode error", err)
			}
			if de.field != tt.field {
				t.Fatalf("field %q, want %q", de.field, tt.field)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name    string
		ctype   string
		body    string
		want    map[string]any
		wantErr error
	}{
		{"object", "application/json", `{"name":"a","port":80,"tags":["x"]}`, map[string]any{"name": "a", "port": 80.0, "tags": []any{"x"}}, nil},
		{"charset", "application/json; charset=utf-8", `{"a":true}`, map[string]any{"a": true}, nil},
		{"empty", "application/json", ``, nil, errBadJSON},
		{"array", "application/json", `[1]`, nil, errBadJSON},
		{"scalar", "application/json", `"x"`, nil, errBadJSON},
		{"broken", "application/json", `{"a":`, nil, errBadJSON},
		{"trailing", "application/json", `{"a":1} {"b":2}`, nil, errBadJSON},
		{"invalid utf-8", "application/json", "{\"a\":\"\xff\"}", nil, errBadJSON},
		{"unsupported type", "text/plain", `a`, nil, errUnsupportedMedia},
		{"no type with body", "", `{"a":1}`, nil, errUnsupportedMedia},
		{"no type no body", "", ``, map[string]any{}, nil},
		{"malformed type", "application/", `x`, nil, errUnsupportedMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBody(tt.ctype, []byte(tt.body))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got.args, tt.want) {
				t.Fatalf("got %#v, want %#v", got.args, tt.want)
			}
		})
	}
}

func TestDecodeMultipart(t *testing.T) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("source", "crud")
	w.WriteField("config.url", "http://x")
	fw, _ := w.CreateFormFile("config.functions", "lambda.lua")
	fw.Write([]byte("return function() end"))
	w.Close()
	got, err := decodeBody(w.FormDataContentType(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"source": "crud", "config": map[string]any{"url": "http://x", "functions": "return function() end"}}
	if !reflect.DeepEqual(got.args, want) {
		t.Fatalf("got %#v, want %#v", got.args, want)
	}
	if _, err := decodeBody("multipart/form-data", buf.Bytes()); err == nil {
		t.Fatal("a multipart body without boundary must fail")
	}
}

// FuzzDecodeBody checks that no body, in any of the accepted encodings,
// panics the decoder.
func FuzzDecodeBody(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "a.b[1].c=d&e[]=f")
	f.Add("application/json", `{"a":{"b":[1,2]}}`)
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--X--\r\n")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		b, err := decodeBody(ctype, []byte(body))
		if err == nil && b.args == nil {
			t.Fatal("nil args without error")
		}
	})
}
