package bundled

import "github.com/portico-gw/portico/plugins"

// runs gives a plugin its handler factory: the plugin executes.
func runs(f plugins.Factory, i plugins.Info) plugins.Info {
	i.New = f
	return i
}
