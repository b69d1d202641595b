package bundled

import (
	"bytes"
	"fmt"
	"regexp"
	"unsafe"

	"github.com/maypok86/otter/v2"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// botDetection is Kong's bot-detection (kong/plugins/bot-detection/schema.lua):
// User-Agent regular expressions to let through or reject on top of the
// built-in bot list.
func botDetection() plugins.Info {
	regexes := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Default: []any{}, Elements: &schema.Field{Type: schema.String, IsRegex: true}}
	}
	return runs(newBotDetection, info("bot-detection", 2500, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(regexes("allow"), regexes("deny")),
	}))
}

// msgOneUserAgent is Kong's 400 for a request with several User-Agent
// headers (kong/plugins/bot-detection/handler.lua).
const msgOneUserAgent = "Only one User-Agent header allowed"

// The verdicts on a User-Agent, in Kong's order of precedence.
const (
	verdictNone uint8 = iota
	verdictAllow
	verdictDeny
	verdictBot
)

// uaCacheSize is how many User-Agent verdicts an instance remembers (Kong's
// per-configuration LRU cache of 10^4).
const uaCacheSize = 10_000

// botDetector answers 403 to requests whose User-Agent matches a deny
// pattern or the built-in bot list, unless an allow pattern matches first.
// Patterns are compiled once per configuration; verdicts are cached per
// User-Agent in a bounded cache.
type botDetector struct {
	allow, deny []*regexp.Regexp
	verdicts    *otter.Cache[string, uint8]
}

func newBotDetection(conf map[string]any) (plugins.Handler, error) {
	d := &botDetector{}
	for _, l := range []struct {
		field string
		dst   *[]*regexp.Regexp
	}{{"allow", &d.allow}, {"deny", &d.deny}} {
		for _, src := range row.Strings(conf[l.field]) {
			re, err := regexp.Compile(src)
			if err != nil {
				return nil, fmt.Errorf("config.%s: '%s' is not a valid regex", l.field, src)
			}
			*l.dst = append(*l.dst, re)
		}
	}
	cache, err := otter.New(&otter.Options[string, uint8]{MaximumSize: uaCacheSize})
	if err != nil {
		return nil, err
	}
	d.verdicts = cache
	return d, nil
}

func (d *botDetector) Access(c *plugins.Context) error {
	h := &c.Request.Header
	ua := h.UserAgent()
	if len(ua) == 0 {
		if !hasHeader(h, "User-Agent") {
			return nil
		}
	}
	if userAgentLines(h.RawHeaders()) > 1 {
		c.Error(400, msgOneUserAgent)
		return nil
	}
	// The lookup borrows the header's bytes; only a new verdict stores a
	// copy.
	v, ok := d.verdicts.GetIfPresent(unsafe.String(unsafe.SliceData(ua), len(ua)))
	if !ok {
		v = d.examine(bytes.TrimSpace(ua))
		d.verdicts.Set(string(ua), v)
	}
	if v > verdictAllow {
		c.Error(403, "")
	}
	return nil
}

// examine is Kong's examine_agent: allow patterns, then deny patterns,
// then the built-in bots.
func (d *botDetector) examine(ua []byte) uint8 {
	for _, re := range d.allow {
		if re.Match(ua) {
			return verdictAllow
		}
	}
	for _, re := range d.deny {
		if re.Match(ua) {
			return verdictDeny
		}
	}
	for _, re := range knownBots {
		if re.Match(ua) {
			return verdictBot
		}
	}
	return verdictNone
}

// userAgentLines counts the User-Agent lines of a raw request head (the
// parsed header keeps the last one only).
func userAgentLines(raw []byte) int {
	n := 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) > len("user-agent:") && equalFoldASCII(line[:len("user-agent:")], "user-agent:") {
			n++
		}
	}
	return n
}

var _ plugins.Accessor = (*botDetector)(nil)
