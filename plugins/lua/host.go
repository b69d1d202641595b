package lua

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/plugins"
)

// DefaultPackagePath is Kong's lua_package_path default.
const DefaultPackagePath = "./?.lua;./?/init.lua;"

// Options configures a Host from the node's settings.
type Options struct {
	// PackagePath is lua_package_path: ';'-separated templates in which '?'
	// stands for a module name with its dots turned into '/' (default
	// DefaultPackagePath). Empty entries (Kong's ";;", the default path of
	// OpenResty) are skipped.
	PackagePath string
	// Log receives kong.log and ngx.log lines; nil discards them.
	Log *logger.Logger
	// Timeout and MaxMemory bound each phase call (luavm defaults: 1s,
	// 64 MiB).
	Timeout   time.Duration
	MaxMemory int64
	// ClientBodyBufferSize is client_body_buffer_size: larger request
	// bodies stream to the service and kong.request.get_raw_body gives
	// nil, as in Kong (default 8k).
	ClientBodyBufferSize int64
	// TrustedIPs is trusted_ips, for kong.ip.is_trusted.
	TrustedIPs []string
	// Configuration is kong.configuration (secrets masked).
	Configuration map[string]any
	// KongVersion is kong.version (default 3.9.1.0, as kong_version);
	// kong.version_num counts its first three numbers (3009001).
	KongVersion string
	// UntrustedLua, SandboxRequires and SandboxEnvironment are
	// untrusted_lua, untrusted_lua_sandbox_requires and
	// untrusted_lua_sandbox_environment, for pre-function and
	// post-function.
	UntrustedLua       string
	SandboxRequires    []string
	SandboxEnvironment []string
}

// Host loads Lua plugins and runs them. It is safe for concurrent use.
type Host struct {
	opts    Options
	paths   []string
	trusted []netip.Prefix

	vm         *luavm.VM // plugins: trusted code, as in Kong
	serverless *luavm.VM // pre-function and post-function: untrusted_lua

	mu    sync.Mutex
	files map[string]*luavm.Chunk // compiled modules by file

	// schemas is a state kept out of the pool: plugins' schemas are loaded
	// there, and their Lua validators run there, one at a time.
	schemaMu sync.Mutex
	schemas  *luavm.Thread
	loaded   map[string]*plugin

	cache  cache
	nodeID atomic.Pointer[plugins.Node]
}

// New makes a Host.
func New(opts Options) (*Host, error) {
	if opts.PackagePath == "" {
		opts.PackagePath = DefaultPackagePath
	}
	if opts.KongVersion == "" {
		opts.KongVersion = "3.9.1.0"
	}
	h := &Host{opts: opts, files: map[string]*luavm.Chunk{}, loaded: map[string]*plugin{}}
	for _, p := range strings.Split(opts.PackagePath, ";") {
		if p = strings.TrimSpace(p); p != "" {
			h.paths = append(h.paths, p)
		}
	}
	for _, s := range opts.TrustedIPs {
		if s == "unix:" {
			continue
		}
		if pfx, err := netip.ParsePrefix(s); err == nil {
			h.trusted = append(h.trusted, pfx.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			h.trusted = append(h.trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	var err error
	h.vm, err = luavm.New(luavm.Options{
		Mode:      luavm.ModeOn,
		Timeout:   opts.Timeout,
		MaxMemory: opts.MaxMemory,
		Setup:     func(L *lua.LState) (any, error) { return h.setupState(L, false) },
	})
	if err != nil {
		return nil, fmt.Errorf("preparing the Lua plugin room: %w", err)
	}
	mode := luavm.Mode(opts.UntrustedLua)
	if mode == "" {
		mode = luavm.ModeSandbox
	}
	h.serverless, err = luavm.New(luavm.Options{
		Mode:        mode,
		Timeout:     opts.Timeout,
		MaxMemory:   opts.MaxMemory,
		Requires:    opts.SandboxRequires,
		Environment: opts.SandboxEnvironment,
		Expose:      []string{"kong", "ngx"},
		Modules:     shimModules,
		Setup:       func(L *lua.LState) (any, error) { return h.setupState(L, true) },
	})
	if err != nil {
		return nil, fmt.Errorf("preparing the Lua room of pre-function and post-function: %w", err)
	}
	h.schemas, err = h.vm.Acquire()
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Close releases the Host's states.
func (h *Host) Close() {
	h.schemaMu.Lock()
	if h.schemas != nil {
		h.schemas.Release()
		h.schemas = nil
	}
	h.schemaMu.Unlock()
	h.vm.Close()
	h.serverless.Close()
}

// OpenStates is how many Lua states the Host holds (idle or running).
func (h *Host) OpenStates() int { return h.vm.OpenStates() + h.serverless.OpenStates() }

// setupState installs the PDK, the shim modules and the module searcher
// in a new state, and returns its local value.
func (h *Host) setupState(L *lua.LState, serverless bool) (any, error) {
	loc := &local{host: h, L: L, handlers: map[*plugin]*loadedHandler{}, confs: map[*lua.LTable]*lua.LTable{},
		chunks: map[*luavm.Chunk]lua.LValue{}}
	installPDK(loc)
	installModules(loc)
	if !serverless {
		h.installSearcher(L)
	}
	return loc, nil
}

// findModule is the file of a module in lua_package_path, or the list of
// files tried (Lua's "no file" lines) when there is none.
func (h *Host) findModule(name string) (path string, tried []string) {
	rel := strings.ReplaceAll(name, ".", "/")
	for _, tpl := range h.paths {
		p := strings.ReplaceAll(tpl, "?", rel)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		tried = append(tried, "no file '"+p+"'")
	}
	return "", tried
}

// chunk compiles a module's file once for every state.
func (h *Host) chunk(path string) (*luavm.Chunk, error) {
	h.mu.Lock()
	c, ok := h.files[path]
	h.mu.Unlock()
	if ok {
		return c, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err = luavm.CompileFile(path, string(src))
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.files[path] = c
	h.mu.Unlock()
	return c, nil
}

// installSearcher replaces the file loader of require by one that finds
// modules in lua_package_path and compiles each file once for every
// state. Kong modules Portico does not provide fail with a message saying
// so.
func (h *Host) installSearcher(L *lua.LState) {
	loaders, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADERS").(*lua.LTable)
	if !ok {
		return
	}
	search := L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		path, tried := h.findModule(name)
		if path == "" {
			msg := "\n\t" + strings.Join(tried, "\n\t")
			if strings.HasPrefix(name, "kong.") || strings.HasPrefix(name, "resty.") || strings.HasPrefix(name, "ngx.") {
				msg = "\n\tmodule '" + name + "' is not provided by Portico's Lua plugin host (see docs/plugins.md)" + msg
			}
			L.Push(lua.LString(msg))
			return 1
		}
		c, err := h.chunk(path)
		if err != nil {
			L.RaiseError("error loading module '%s' from file '%s':\n\t%s", name, path, err.Error())
		}
		L.Push(c.Function(L, L.G.Global))
		return 1
	})
	loaders.RawSetInt(2, search)
	for i := loaders.Len(); i > 2; i-- {
		loaders.RawSetInt(i, lua.LNil)
	}
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		pkg.RawSetString("path", lua.LString(h.opts.PackagePath))
		pkg.RawSetString("cpath", lua.LString(""))
	}
}

// errMessage is a Lua error's text, with its traceback when it has one
// worth logging.
func errMessage(err error) string {
	var le *luavm.Error
	if errors.As(err, &le) {
		return le.Message
	}
	return err.Error()
}
