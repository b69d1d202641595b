package node

import (
	"fmt"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/plugins"
	luaplugins "github.com/portico-gw/portico/plugins/lua"
	"github.com/portico-gw/portico/schema"
)

// buildCatalog builds what the node serves with its Lua plugin host: the
// plugins `plugins` names beyond the bundled ones are loaded from
// lua_package_path, and pre-function and post-function run under
// untrusted_lua. The host is closed with the node.
func buildCatalog(cfg *conf.Config, log *logger.Logger) (*schema.Registry, *plugins.Registry, *luaplugins.Host, error) {
	host, err := luaplugins.New(luaplugins.Options{
		PackagePath:          cfg.LuaPackagePath,
		Log:                  log,
		TrustedIPs:           cfg.TrustedIPs,
		ClientBodyBufferSize: cfg.ClientBodyBufferSize,
		Configuration:        cfg.KongConfiguration(),
		KongVersion:          cfg.KongVersion,
		UntrustedLua:         cfg.UntrustedLua,
		SandboxRequires:      cfg.UntrustedLuaSandboxRequires,
		SandboxEnvironment:   cfg.UntrustedLuaSandboxEnvironment,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("preparing Lua plugins: %w", err)
	}
	reg, enabled, err := catalog.BuildWith(catalog.Options{Plugins: cfg.Plugins, Lua: host})
	if err != nil {
		host.Close()
		return nil, nil, nil, err
	}
	return reg, enabled, host, nil
}
