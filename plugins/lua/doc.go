// Package lua hosts plugins written in Lua the way Kong lays them out:
// the modules kong.plugins.<name>.handler (PRIORITY, VERSION and phase
// methods) and kong.plugins.<name>.schema (Kong's schema DSL), found
// through lua_package_path, run on gopher-lua with a Go implementation of
// the part of Kong's PDK (kong.*, ngx.*, cjson, resty.*) plugins use most.
//
// The model:
//
//   - A Host is made once at start-up from the node's settings. Load turns
//     a plugin directory into a plugins.Info, its schema converted into the
//     project's schema.Subschema (so the Admin API validates, fills
//     defaults and serves /schemas/plugins/{name} as for a Go plugin) and
//     its Factory building instances. The rest of the node cannot tell a
//     Lua plugin from a Go one.
//   - Lua runs in the shared Lua room (package luavm): states are pooled,
//     each call has a deadline and a memory budget, and a call that fails,
//     loops or allocates without bound fails its own request (500 and an
//     error log line) and nothing else. Each pooled state loads a plugin's
//     modules the first time it runs it (like a worker in Kong), and keeps
//     them.
//   - A plugin row's configuration is converted to a Lua table once, when
//     the proxy builds its snapshot (the Factory); each state runs the
//     plugin on a copy of its own, made on first use, so a plugin may write
//     to its conf as in Kong without two states sharing a table.
//   - The PDK reads and writes the request through plugins.Context: a
//     call's Context travels with the Lua call (luavm.Value), never in a
//     global.
//
// pre-function and post-function run their chunks through the same PDK in
// a second room that honours untrusted_lua (serverless.go).
package lua
