package conf

import (
	"strings"
)

// EnvFile is the name, under the prefix, of the running node's effective
// configuration (Kong's .kong_env): written at start and by `portico
// reload -c`, read back when the node reloads.
const EnvFile = ".kong_env"

// envHeader opens an EnvFile, as Kong's does.
const envHeader = `# This file is written by Portico at start and by 'portico reload -c FILE':
# it is the configuration the node runs with (or reloads). Edit the original
# configuration file instead: changes made here are lost.
`

// Render writes every key with its value in kong.conf syntax, secrets
// included (the file it goes to is readable by its owner only), so that
// Load reads back the same configuration with no environment.
func (c *Config) Render() []byte {
	var b strings.Builder
	b.WriteString(envHeader)
	for i := range keys {
		k := &keys[i]
		b.WriteString(k.name)
		b.WriteString(" = ")
		b.WriteString(strings.ReplaceAll(k.format(c), "#", `\#`))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Changed lists, in the keys table's order, the keys whose values differ
// between c and next (secrets compared unmasked).
func (c *Config) Changed(next *Config) []string {
	var out []string
	for i := range keys {
		if keys[i].format(c) != keys[i].format(next) {
			out = append(out, keys[i].name)
		}
	}
	return out
}
