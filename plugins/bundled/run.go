package bundled

import "github.com/portico-gw/portico/plugins"

// runs gives a plugin its handler factory: the plugin executes.
func runs(f plugins.Factory, i plugins.Info) plugins.Info {
	i.New = f
	return i
}

// str reads a string config value ("" when absent or null).
func str(v any) string {
	s, _ := v.(string)
	return s
}

// num reads a number config value (JSON numbers are float64).
func num(v any, dflt float64) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return dflt
}
