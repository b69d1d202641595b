package lua

import (
	"sort"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/schema"
)

// typedefKey marks a typedef's table (kong.db.schema.typedefs): the schema
// converter starts from the project's typedef of that name, whose
// validators are Go code, then applies the table's other attributes.
const typedefKey = "__typedef"

// typedefFields are the typedefs plugins use, by Kong's names, with the
// type each declares in Lua.
var typedefFields = map[string]func(name string) *schema.Field{
	"no_consumer":              func(string) *schema.Field { return schema.NoConsumer() },
	"no_route":                 func(string) *schema.Field { return schema.NoRoute() },
	"no_service":               func(string) *schema.Field { return schema.NoService() },
	"protocols":                schema.Protocols,
	"protocols_http":           schema.ProtocolsHTTP,
	"header_name":              schema.HeaderName,
	"host":                     schema.Host,
	"host_with_optional_port":  schema.HostWithOptionalPort,
	"sni":                      schema.SNI,
	"port":                     schema.Port,
	"path":                     schema.Path,
	"url":                      schema.URL,
	"timeout":                  schema.Timeout,
	"uuid":                     schema.UUID,
	"ip":                       schema.IP,
	"ip_or_cidr":               schema.IPOrCIDR,
	"cidr_v4":                  schema.CIDRv4,
	"http_method":              schema.HTTPMethod,
	"name":                     schema.Name,
	"utf8_name":                schema.UTF8Name,
	"semantic_version":         schema.SemanticVersion,
	"certificate":              schema.CertificatePEM,
	"key":                      schema.KeyPEM,
	"cookie_name":              schema.CookieName,
	"headers":                  schema.Headers,
	"tags":                     func(string) *schema.Field { return schema.Tags() },
	"consumer":                 foreign("consumers"),
	"route":                    foreign("routes"),
	"service":                  foreign("services"),
	"lua_code":                 luaCodeField,
	"methods":                  schema.Methods,
	"hosts":                    schema.Hosts,
	"auto_timestamp_s":         schema.AutoTimestampS,
	"auto_timestamp_ms":        schema.AutoTimestampMS,
	"nonzero_timeout":          schema.NonzeroTimeout,
	"wildcard_host":            schema.WildcardHost,
	"ip_or_cidr_v4":            schema.CIDRv4,
	"protocols_http_and_https": schema.ProtocolsHTTP,
}

func foreign(entity string) func(string) *schema.Field {
	return func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Foreign, Reference: entity}
	}
}

// luaCodeField is typedefs.lua_code: names to Lua snippets.
func luaCodeField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Map, Keys: &schema.Field{Type: schema.String, LenMin: 1},
		Values: &schema.Field{Type: schema.String, LenMin: 1}}
}

// typedefsModule pushes kong.db.schema.typedefs: for each typedef a table
// { type = ..., __typedef = name } (Kong's fields read as data), callable
// with overrides as in Kong (typedefs.host { required = true }).
func typedefsModule(L *lua.LState) int {
	mod := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__call", L.NewFunction(func(L *lua.LState) int {
		base := L.CheckTable(1)
		out := L.NewTable()
		base.ForEach(func(k, v lua.LValue) { out.RawSet(k, v) })
		if over, ok := L.Get(2).(*lua.LTable); ok {
			over.ForEach(func(k, v lua.LValue) { out.RawSet(k, v) })
		}
		out.Metatable = base.Metatable
		L.Push(out)
		return 1
	}))
	names := make([]string, 0, len(typedefFields))
	for n := range typedefFields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := typedefFields[n]("")
		t := L.NewTable()
		t.RawSetString("type", lua.LString(f.Type))
		t.RawSetString(typedefKey, lua.LString(n))
		if f.Reference != "" {
			t.RawSetString("reference", lua.LString(f.Reference))
		}
		if f.Eq == schema.Null {
			t.RawSetString("eq", null)
		}
		t.Metatable = mt
		mod.RawSetString(n, t)
	}
	L.Push(mod)
	return 1
}
