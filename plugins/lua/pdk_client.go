package lua

import (
	"net"
	"net/netip"

	lua "github.com/yuin/gopher-lua"

	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/schema"
)

// kong.client (kong/pdk/client.lua) and kong.router (kong/pdk/router.lua).

func clientPDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.client", []pdkFunc{
		{"get_ip", requestPhase, clientIP},
		{"get_forwarded_ip", requestPhase, clientForwardedIP},
		{"get_port", requestPhase, clientPort},
		{"get_forwarded_port", requestPhase, clientPort},
		{"get_consumer", requestPhase, clientConsumer},
		{"get_credential", requestPhase, clientCredential},
		{"authenticate", rewriteAcc, clientAuthenticate},
		{"load_consumer", phaseSet(phaseRewrite, phaseAccess, phaseHeaderFilter, phaseResponse, phaseBodyFilter), clientLoadConsumer},
		{"get_protocol", requestPhase, clientProtocol},
	}, nil)
}

// peer is the connection's address (before real_ip processing).
func peer(c *call) (netip.Addr, int) {
	if c.pc != nil && c.pc.Ctx != nil {
		if a, ok := c.pc.Ctx.RemoteAddr().(*net.TCPAddr); ok {
			ip, _ := netip.AddrFromSlice(a.IP)
			return ip.Unmap(), a.Port
		}
	}
	return netip.Addr{}, 0
}

func clientIP(L *lua.LState, c *call) int {
	if c.pc == nil {
		L.Push(lua.LString(c.entry.ClientIP))
		return 1
	}
	ip, _ := peer(c)
	if !ip.IsValid() {
		ip = c.pc.ClientIP
	}
	L.Push(lua.LString(ip.String()))
	return 1
}

func clientForwardedIP(L *lua.LState, c *call) int {
	if c.pc == nil {
		L.Push(lua.LString(c.entry.ClientIP))
		return 1
	}
	L.Push(lua.LString(c.pc.ClientIP.String()))
	return 1
}

func clientPort(L *lua.LState, c *call) int {
	_, port := peer(c)
	L.Push(lua.LNumber(port))
	return 1
}

func pushRow(L *lua.LState, row map[string]any) int {
	if row == nil {
		L.Push(lua.LNil)
		return 1
	}
	out := make(map[string]any, len(row))
	for k, v := range row {
		if k != schema.FieldWorkspace && v != nil {
			out[k] = v
		}
	}
	v, err := luavm.ToLua(L, out)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(v)
	return 1
}

func clientConsumer(L *lua.LState, c *call) int {
	if c.pc == nil {
		return pushRow(L, c.entry.Consumer)
	}
	return pushRow(L, c.pc.Consumer)
}

func clientCredential(L *lua.LState, c *call) int {
	if c.pc == nil {
		L.Push(lua.LNil)
		return 1
	}
	return pushRow(L, c.pc.Credential)
}

// goRow converts a Lua row (a consumer or credential table) to Go.
func goRow(L *lua.LState, n int) map[string]any {
	v := L.Get(n)
	if v == lua.LNil {
		return nil
	}
	if _, ok := v.(*lua.LTable); !ok {
		L.ArgError(n, "must be a table or nil")
	}
	g, err := luavm.FromLua(v)
	if err != nil {
		L.ArgError(n, err.Error())
	}
	m, _ := g.(map[string]any)
	return m
}

func clientAuthenticate(L *lua.LState, c *call) int {
	consumer, credential := goRow(L, 1), goRow(L, 2)
	if consumer == nil && credential == nil {
		L.RaiseError("either credential or consumer must be provided")
	}
	c.pc.Authenticate(consumer, credential)
	return 0
}

// clientLoadConsumer is load_consumer(id, by_username): a consumer by id,
// or by username when asked and the id finds none.
func clientLoadConsumer(L *lua.LState, c *call) int {
	id := L.CheckString(1)
	byUsername := L.OptBool(2, false)
	if c.pc.Data == nil {
		L.Push(lua.LNil)
		L.Push(lua.LString("no database"))
		return 2
	}
	ws := c.pc.Workspace()
	var row map[string]any
	var err error
	if isUUID(id) {
		row, err = c.pc.Data.Lookup("consumers", "id", id, ws)
	}
	if err == nil && row == nil && byUsername {
		row, err = c.pc.Data.Lookup("consumers", "username", id, ws)
	}
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	return pushRow(L, row)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func clientProtocol(L *lua.LState, c *call) int {
	return reqScheme(L, c)
}

func routerPDK(L *lua.LState) *lua.LTable {
	return namespace(L, "kong.router", []pdkFunc{
		{"get_route", requestPhase, func(L *lua.LState, c *call) int {
			if c.pc == nil {
				return pushRef(L, c.entry.Route.ID, c.entry.Route.Name, c.entry.Route.Row)
			}
			return pushRef(L, c.pc.Route.ID, c.pc.Route.Name, c.pc.Route.Row)
		}},
		{"get_service", requestPhase, func(L *lua.LState, c *call) int {
			if c.pc == nil {
				return pushRef(L, c.entry.Service.ID, c.entry.Service.Name, c.entry.Service.Row)
			}
			return pushRef(L, c.pc.Service.ID, c.pc.Service.Name, c.pc.Service.Row)
		}},
	}, nil)
}

func pushRef(L *lua.LState, id, name string, row map[string]any) int {
	if row != nil {
		return pushRow(L, row)
	}
	if id == "" {
		L.Push(lua.LNil)
		return 1
	}
	m := map[string]any{"id": id}
	if name != "" {
		m["name"] = name
	}
	return pushRow(L, m)
}
