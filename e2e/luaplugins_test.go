package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// luaPath is a lua_package_path with the example plugins and the test
// plugins of plugins/lua.
func luaPath(t *testing.T) string {
	t.Helper()
	examples, err := filepath.Abs("../examples/plugins")
	if err != nil {
		t.Fatal(err)
	}
	testdata, _ := filepath.Abs("../plugins/lua/testdata")
	return examples + "/?.lua;" + testdata + "/?.lua"
}

// echoRequest answers with the method, target, headers and body it
// received, as JSON.
func echoRequest(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		headers := map[string]string{}
		for k := range r.Header {
			headers[strings.ToLower(k)] = r.Header.Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"headers": headers, "body": string(body), "uri": r.RequestURI, "method": r.Method})
	}))
	t.Cleanup(s.Close)
	return s
}

// The example plugins run end to end, configured with curl.
func TestLuaPluginExamples(t *testing.T) {
	up := echoRequest(t)
	g := startGateway(t, "KONG_PLUGINS=bundled,header-gate,json-validator,misbehave", "KONG_LUA_PACKAGE_PATH="+luaPath(t), "KONG_LOG_LEVEL=info")
	g.curlCreate("/services", "name=svc", "url="+up.URL)
	g.curlCreate("/services/svc/routes", "name=gate", "paths[]=/gate")
	g.curlCreate("/services/svc/routes", "name=json", "paths[]=/json")
	g.curlCreate("/services/svc/routes", "name=bad", "paths[]=/bad")
	g.curlCreate("/routes/json/plugins", "name=json-validator", "config.required_fields[]=name", "config.echo_field=name")
	g.curlCreate("/routes/bad/plugins", "name=misbehave")
	g.curlCreate("/routes/gate/plugins", "name=header-gate", "config.header_value=hello", "config.require_header=X-Key")
	// A snapshot with the last write has the others too.
	g.waitProxy("/gate", "", 403)

	t.Run("header-gate refuses", func(t *testing.T) {
		r := g.cli("curl", "-si", g.proxyURL("/gate"))
		wantStatus(t, r, 403)
		wantFields(t, r.body, map[string]any{"message": "Forbidden"})
		if r.header.Get("X-Gate") != "hello" || r.header.Get("X-Gate-Source") != "exit" || r.header.Get("X-Kong-Request-Id") == "" {
			t.Errorf("headers %v", r.header)
		}
	})
	t.Run("header-gate lets through", func(t *testing.T) {
		r := g.cli("curl", "-si", g.proxyURL("/gate/x?q=1"), "-H", "X-Key: k")
		wantStatus(t, r, 200)
		seen := r.body["headers"].(map[string]any)
		if seen["x-gate"] != "hello" || r.header.Get("X-Gate") != "hello" || r.header.Get("X-Gate-Source") != "service" {
			t.Errorf("upstream saw %v; answer headers %v", seen, r.header)
		}
	})
	t.Run("json-validator", func(t *testing.T) {
		r := g.cli("curl", "-si", g.proxyURL("/json"), "-H", "Content-Type: application/json", "--data", "{nope")
		wantStatus(t, r, 400)
		wantFields(t, r.body, map[string]any{"message": "Invalid JSON body"})
		r = g.cli("curl", "-si", g.proxyURL("/json"), "-H", "Content-Type: application/json", "--data", `{"other":1}`)
		wantStatus(t, r, 422)
		wantFields(t, r.body, map[string]any{"message": "Missing fields", "fields": []any{"name"}})
		r = g.cli("curl", "-si", g.proxyURL("/json"), "-H", "Content-Type: application/json", "--data", `{"name":"ada"}`)
		wantStatus(t, r, 200)
		if seen := r.body["headers"].(map[string]any); seen["x-validated-name"] != "ada" || r.body["body"] != `{"name":"ada"}` {
			t.Errorf("upstream saw %v", r.body)
		}
		log, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
		if want := "[info] "; !strings.Contains(string(log), want) || !strings.Contains(string(log), "[kong] handler.lua:42 [json-validator] refused a body without name") {
			t.Errorf("error.log lacks the plugin's kong.log line:\n%s", log)
		}
		// GET is not checked.
		wantStatus(t, g.cli("curl", "-si", g.proxyURL("/json")), 200)
	})
	t.Run("a failing plugin fails its own request", func(t *testing.T) {
		for _, mode := range []string{"error", "loop", "alloc"} {
			r := g.cli("curl", "-si", g.proxyURL("/bad"), "-H", "X-Mode: "+mode)
			wantStatus(t, r, 500)
			wantFields(t, r.body, map[string]any{"message": "An unexpected error occurred"})
			wantStatus(t, g.cli("curl", "-si", g.proxyURL("/gate"), "-H", "X-Key: k"), 200)
		}
		log, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
		// Unbounded allocation stops at the memory budget or, on a slow
		// machine, at the deadline first.
		for _, want := range []string{"plugin misbehave", "handler.lua:6: boom", "timeout"} {
			if !strings.Contains(string(log), want) {
				t.Errorf("error.log lacks %q:\n%s", want, log)
			}
		}
	})
}

// A Lua plugin's response and body_filter methods run in the proxy's
// response and body_filter phases.
func TestLuaPluginBodyPhases(t *testing.T) {
	up := echoRequest(t)
	g := startGateway(t, "KONG_PLUGINS=bundled,reshape,shout", "KONG_LUA_PACKAGE_PATH="+luaPath(t))
	g.curlCreate("/services", "name=svc", "url="+up.URL)
	g.curlCreate("/services/svc/routes", "name=body", "paths[]=/body")
	g.curlCreate("/services/svc/routes", "name=resp", "paths[]=/resp")
	g.curlCreate("/routes/body/plugins", "name=shout")
	g.curlCreate("/routes/resp/plugins", "name=reshape")
	g.waitProxy("/resp", "", 299)

	r := g.cli("curl", "-si", g.proxyURL("/resp"))
	wantStatus(t, r, 299)
	if r.header.Get("X-Reshaped") != "response" || !strings.HasPrefix(string(r.raw), `[{"body"`) {
		t.Errorf("response phase answer: %v\n%s", r.header, r.raw)
	}
	r = g.cli("curl", "-si", g.proxyURL("/body/Lower"))
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.raw), `"/BODY/LOWER"`) {
		t.Errorf("body_filter answer: %s", r.raw)
	}
}

// kong.service.request.set_scheme sends the request over TLS to a service
// declared as http.
func TestLuaPluginSetScheme(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls=%v", r.TLS != nil)
	}))
	defer up.Close()
	g := startGateway(t, "KONG_PLUGINS=bundled,to-https", "KONG_LUA_PACKAGE_PATH="+luaPath(t))
	g.curlCreate("/services", "name=svc", "url=http://"+up.Listener.Addr().String())
	g.curlCreate("/services/svc/routes", "name=plain", "paths[]=/plain")
	g.curlCreate("/services/svc/routes", "name=tls", "paths[]=/tls")
	g.curlCreate("/routes/tls/plugins", "name=to-https")
	g.waitProxy("/tls", "", 200)
	if r := g.cli("curl", "-si", g.proxyURL("/tls")); string(r.raw) != "tls=true" {
		t.Errorf("with set_scheme: %d %s", r.status, r.raw)
	}
	// Without the plugin the service's plain http reaches the TLS server,
	// which refuses it.
	out, _ := toolCommand(t, "curl", "-s", g.proxyURL("/plain")).Output()
	if !strings.Contains(string(out), "HTTP request to an HTTPS server") {
		t.Errorf("without set_scheme: %s", out)
	}
}

// A global plugin's certificate method runs in the proxy's TLS handshakes;
// one that fails refuses the handshake.
func TestLuaPluginCertificatePhase(t *testing.T) {
	up := echoRequest(t)
	tlsPort := freePort(t)
	g := newGateway(t, "KONG_PLUGINS=bundled,handshake", "KONG_LUA_PACKAGE_PATH="+luaPath(t))
	g.env = append(g.env, fmt.Sprintf("KONG_PROXY_LISTEN=127.0.0.1:%d, 127.0.0.1:%d ssl", g.proxyPort, tlsPort))
	g.start()
	g.curlCreate("/services", "name=svc", "url="+up.URL)
	g.curlCreate("/services/svc/routes", "name=r", "paths[]=/")
	plugin := g.postJSON("/plugins", map[string]any{"name": "handshake", "instance_name": "hs"})
	wantStatus(t, plugin, 201)
	g.waitProxy("/", "", 200)
	url := fmt.Sprintf("https://127.0.0.1:%d/", tlsPort)
	waitFor(t, "a handshake logged by the plugin", func() bool {
		out, _ := toolCommand(t, "curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", url).Output()
		return string(out) == "200" && strings.Contains(logs(g), "TLS handshake seen by node")
	})
	wantStatus(t, g.sendJSON("PATCH", "/plugins/hs", map[string]any{"config": map[string]any{"fail": true}}), 200)
	waitFor(t, "the handshake refused", func() bool {
		return toolCommand(t, "curl", "-sk", url).Run() != nil // the handshake fails
	})
	if !strings.Contains(logs(g), "handshake refused") {
		t.Errorf("the error log lacks the plugin's failure:\n%s", logs(g))
	}
}

// A Lua plugin's schema drives the Admin API: defaults, Kong's error
// bodies, /schemas/plugins/{name}.
func TestLuaPluginSchemaThroughAdminAPI(t *testing.T) {
	g := startGateway(t, "KONG_PLUGINS=bundled,header-gate,json-validator", "KONG_LUA_PACKAGE_PATH="+luaPath(t))
	r := g.cli("curl", "-si", "-X", "POST", g.adminURL("/plugins"), "--data", "name=header-gate", "--data", "config.header_value=v")
	wantStatus(t, r, 201)
	cfg := r.body["config"].(map[string]any)
	wantFields(t, cfg, map[string]any{"header_name": "X-Gate", "deny_status": 403.0, "deny_message": "Forbidden", "require_header": nil})
	wantFields(t, r.body, map[string]any{"protocols": []any{"grpc", "grpcs", "http", "https"}})

	cases := []struct {
		name   string
		fields []string
		want   string
	}{
		{"required", []string{"name=header-gate"}, `{"code":2,"fields":{"config":{"header_value":"required field missing"}},"message":"schema violation (config.header_value: required field missing)","name":"schema violation"}`},
		{"between", []string{"name=header-gate", "config.header_value=v", "config.deny_status=200"}, `{"code":2,"fields":{"config":{"deny_status":"value should be between 400 and 499"}},"message":"schema violation (config.deny_status: value should be between 400 and 499)","name":"schema violation"}`},
		{"typedef", []string{"name=header-gate", "config.header_value=v", "config.header_name=bad name"}, `{"code":2,"fields":{"config":{"header_name":"bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"}},"message":"schema violation (config.header_name: bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-')","name":"schema violation"}`},
		{"entity check", []string{"name=json-validator"}, `{"code":2,"fields":{"@entity":["at least one of these fields must be non-empty: 'config.required_fields', 'config.echo_field'"]},"message":"schema violation (at least one of these fields must be non-empty: 'config.required_fields', 'config.echo_field')","name":"schema violation"}`},
		{"conditional", []string{"name=json-validator", "config.required_fields[]=a", "config.strict=true"}, `{"code":2,"fields":{"@entity":["failed conditional validation given value of field 'config.strict'"],"config":{"echo_field":"required field missing"}},"message":"2 schema violations (failed conditional validation given value of field 'config.strict'; config.echo_field: required field missing)","name":"schema violation"}`},
		{"lua pattern", []string{"name=json-validator", "config.required_fields[]=a-b"}, `{"code":2,"fields":{"config":{"required_fields":["invalid value: a-b"]}},"message":"schema violation (config.required_fields.1: invalid value: a-b)","name":"schema violation"}`},
		{"no consumer", []string{"name=header-gate", "config.header_value=v", "consumer.id=00000000-0000-4000-8000-000000000001"}, `{"code":2,"fields":{"consumer":"value must be null"},"message":"schema violation (consumer: value must be null)","name":"schema violation"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-si", "-X", "POST", g.adminURL("/plugins")}
			for _, f := range tc.fields {
				args = append(args, "--data", f)
			}
			r := g.cli("curl", args...)
			wantStatus(t, r, 400)
			got, _ := json.Marshal(r.body)
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	r = g.cli("curl", "-si", g.adminURL("/schemas/plugins/header-gate"))
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.raw), `"header_value"`) || !strings.Contains(string(r.raw), `"between":[400,499]`) {
		t.Errorf("schema: %s", r.raw)
	}
	r = g.cli("curl", "-si", g.adminURL("/plugins/enabled"))
	if !strings.Contains(string(r.raw), `"header-gate"`) {
		t.Errorf("enabled: %s", r.raw)
	}
}

// A plugin whose files fail to load refuses start-up, naming the file and
// line; a plugin that is not installed names lua_package_path.
func TestLuaPluginRefusesStart(t *testing.T) {
	for plugin, want := range map[string]string{
		"bad-syntax": "bad-syntax/handler.lua line:3",
		"nowhere":    "nowhere plugin is enabled but not installed",
	} {
		g := newGateway(t, "KONG_PLUGINS=bundled,"+plugin, "KONG_LUA_PACKAGE_PATH="+luaPath(t))
		cmd := exec.Command(binary, "start")
		cmd.Env = g.env
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("%s: %v\n%s", plugin, err, out)
		}
	}
}

// pre-function with untrusted_lua = sandbox: what the sandbox forbids is
// refused when written, and fails the request when it gets past the check.
func TestLuaPluginPreFunctionSandbox(t *testing.T) {
	up := echoRequest(t)
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+up.URL)
	g.curlCreate("/services/svc/routes", "name=pre", "paths[]=/pre")
	g.curlCreate("/services/svc/routes", "name=evade", "paths[]=/evade")

	r := g.cli("curl", "-si", "-X", "POST", g.adminURL("/routes/pre/plugins"), "--data", "name=pre-function",
		"--data", "config.access[]=os.execute('touch /tmp/pwned')")
	wantStatus(t, r, 400)
	want := `error parsing pre-function: [string "os.execute('touch /tmp/pwned')"]:1: 'os.execute' is not available in the sandbox (untrusted_lua = sandbox)`
	if got := r.body["fields"].(map[string]any)["config"].(map[string]any)["access"].([]any)[0]; got != want {
		t.Fatalf("got %v", r.body)
	}
	r = g.cli("curl", "-si", "-X", "POST", g.adminURL("/routes/pre/plugins"), "--data", "name=pre-function",
		"--data", "config.access[]=local x = ")
	wantStatus(t, r, 400)
	if !strings.Contains(string(r.raw), `error parsing pre-function: [string \"local x = \"]`) {
		t.Fatalf("syntax: %s", r.raw)
	}

	g.curlCreate("/routes/pre/plugins", "name=pre-function",
		"config.access[]=kong.service.request.set_header('X-Pre', kong.request.get_method()) kong.response.set_header('X-Pre-Answer', 'yes')")
	g.curlCreate("/routes/evade/plugins", "name=pre-function",
		"config.access[]=local o = os local name = 'exe' .. 'cute' o[name]('touch /tmp/pwned')")
	// A snapshot with the later write has the plugins too.
	g.curlCreate("/services/svc/routes", "name=ready", "paths[]=/ready")
	g.waitProxy("/ready", "", 200)
	r = g.cli("curl", "-si", g.proxyURL("/pre"))
	wantStatus(t, r, 200)
	if r.body["headers"].(map[string]any)["x-pre"] != "GET" || r.header.Get("X-Pre-Answer") != "yes" {
		t.Fatalf("pre-function: %v %v", r.body, r.header)
	}
	r = g.cli("curl", "-si", g.proxyURL("/evade"))
	wantStatus(t, r, 500)
	log, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
	if !strings.Contains(string(log), "plugin pre-function") || !strings.Contains(string(log), "attempt to call a non-function object") {
		t.Errorf("error.log:\n%s", log)
	}
}
