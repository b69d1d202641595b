package plugins

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// LogEntry is what Kong's log serializer reports about a request
// (kong/pdk/log.lua serialize, the http subsystem), handed to log plugins
// after the answer was sent. The host builds it off the request's path and
// reuses it: it, its slices and maps are valid only until Log returns, and
// are read only (a plugin that keeps something copies it).
type LogEntry struct {
	Request   LogRequest
	Response  LogResponse
	Latencies LogLatencies
	// Tries are the balancer's attempts, the last one answered or failed.
	Tries []LogTry
	// ClientIP is the client's address after real_ip processing
	// (nginx's $remote_addr).
	ClientIP string
	// StartedAt is when the request was read, in milliseconds since the
	// epoch.
	StartedAt int64
	// UpstreamURI is the request target sent upstream ("" when the request
	// did not go upstream); UpstreamStatus is nginx's $upstream_status: the
	// status of each try, comma-separated ("" when none was made).
	UpstreamURI    string
	UpstreamStatus string
	// Route and Service are what the request matched; their Row is
	// written in full. RouteJSON and ServiceJSON, when set, are those rows
	// already encoded (the host encodes each row once per configuration).
	Route, Service           Ref
	RouteJSON, ServiceJSON   []byte
	Consumer                 map[string]any
	Credential               map[string]any
	Workspace, WorkspaceName string
	// Source is who answered: "upstream", or "kong" for answers Kong made
	// itself (a plugin's exit, an error).
	Source string
	// Lua is the Lua plugin host's state of the request (kong.ctx in the
	// log phase); nil when no Lua plugin ran.
	Lua any
}

// Field returns the value of the first field of this name (header names
// are lower case), and whether there is one.
func Field(fs []LogField, name string) (string, bool) {
	for i := range fs {
		if fs[i].Name == name {
			return fs[i].Value, true
		}
	}
	return "", false
}

// LogRequest is the request part of a LogEntry.
type LogRequest struct {
	// ID is the request's X-Kong-Request-Id.
	ID string
	// Method, URI (the target as the client sent it) and URL
	// (scheme://host:port plus URI).
	Method, URI, URL string
	// Size is the request's length on the wire: line, headers and body
	// (nginx's $request_length).
	Size int64
	// Headers are the request's headers as the upstream got them, names
	// lower-case, in the client's order; Authorization and
	// Proxy-Authorization read "REDACTED", as in Kong.
	Headers []LogField
	// Querystring are the query arguments in order; an argument without
	// "=" has Flag set (Kong reports it as true).
	Querystring []LogField
	// TLS is set for requests over TLS.
	TLS *LogTLS
}

// LogResponse is the response part of a LogEntry.
type LogResponse struct {
	Status int
	// Size is the answer's length on the wire: status line, headers and
	// body (nginx's $bytes_sent).
	Size int64
	// Headers are the answer's headers, names lower-case.
	Headers []LogField
}

// LogLatencies are Kong's latencies, in milliseconds: Kong is the time
// spent in Kong before the request went upstream (or until Kong answered
// itself); Proxy the upstream's time to answer (-1 when the request did
// not go upstream); Request the whole request; Receive the time reading
// the upstream's body.
type LogLatencies struct {
	Kong, Proxy, Request, Receive int64
}

// LogTry is one balancer attempt (ctx.balancer_data.tries): the peer, when
// it started (milliseconds and nanoseconds since the epoch) and how long
// the balancer took; a failed attempt has State "failed" (the connection
// failed or timed out) and Code the status it stands for (502, 504).
type LogTry struct {
	IP                                 string
	Port                               int
	BalancerStart, BalancerStartNS     int64
	BalancerLatency, BalancerLatencyNS int64
	State                              string
	Code                               int
}

// LogTLS is request.tls: the protocol version ("TLSv1.3"), the cipher and
// the client certificate's verification ("NONE" without one).
type LogTLS struct {
	Version, Cipher, ClientVerify string
}

// LogField is a header or query argument. Flag marks a query argument
// given without a value.
type LogField struct {
	Name, Value string
	Flag        bool
}

// AppendJSON appends the entry as Kong's log serializer's JSON object, the
// body log plugins send: every field of kong.log.serialize() with Kong's
// names. Repeated headers and query arguments become arrays, as in Kong.
func (e *LogEntry) AppendJSON(b []byte) []byte {
	b = append(b, `{"request":{"id":`...)
	b = AppendJSONString(b, e.Request.ID)
	b = append(b, `,"method":`...)
	b = AppendJSONString(b, e.Request.Method)
	b = append(b, `,"uri":`...)
	b = AppendJSONString(b, e.Request.URI)
	b = append(b, `,"url":`...)
	b = AppendJSONString(b, e.Request.URL)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, e.Request.Size, 10)
	b = append(b, `,"querystring":`...)
	b = appendFields(b, e.Request.Querystring)
	b = append(b, `,"headers":`...)
	b = appendFields(b, e.Request.Headers)
	if t := e.Request.TLS; t != nil {
		b = append(b, `,"tls":{"version":`...)
		b = AppendJSONString(b, t.Version)
		b = append(b, `,"cipher":`...)
		b = AppendJSONString(b, t.Cipher)
		b = append(b, `,"client_verify":`...)
		b = AppendJSONString(b, t.ClientVerify)
		b = append(b, '}')
	}
	b = append(b, `},"response":{"status":`...)
	b = strconv.AppendInt(b, int64(e.Response.Status), 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, e.Response.Size, 10)
	b = append(b, `,"headers":`...)
	b = appendFields(b, e.Response.Headers)
	b = append(b, `},"latencies":{"kong":`...)
	b = strconv.AppendInt(b, e.Latencies.Kong, 10)
	b = append(b, `,"proxy":`...)
	b = strconv.AppendInt(b, e.Latencies.Proxy, 10)
	b = append(b, `,"request":`...)
	b = strconv.AppendInt(b, e.Latencies.Request, 10)
	b = append(b, `,"receive":`...)
	b = strconv.AppendInt(b, e.Latencies.Receive, 10)
	b = append(b, '}')
	if len(e.Tries) > 0 {
		b = append(b, `,"tries":[`...)
		for i := range e.Tries {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.Tries[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"upstream_uri":`...)
	b = AppendJSONString(b, e.UpstreamURI)
	b = append(b, `,"upstream_status":`...)
	b = AppendJSONString(b, e.UpstreamStatus)
	b = appendRow(b, `,"route":`, e.RouteJSON, e.Route.Row)
	b = appendRow(b, `,"service":`, e.ServiceJSON, e.Service.Row)
	if e.Consumer != nil {
		b = appendRow(b, `,"consumer":`, nil, e.Consumer)
	}
	if e.Credential != nil {
		b = append(b, `,"authenticated_entity":{"id":`...)
		id, _ := e.Credential["id"].(string)
		b = AppendJSONString(b, id)
		if c := credentialConsumer(e.Credential, e.Consumer); c != "" {
			b = append(b, `,"consumer_id":`...)
			b = AppendJSONString(b, c)
		}
		b = append(b, '}')
	}
	b = append(b, `,"client_ip":`...)
	b = AppendJSONString(b, e.ClientIP)
	b = append(b, `,"started_at":`...)
	b = strconv.AppendInt(b, e.StartedAt, 10)
	b = append(b, `,"source":`...)
	b = AppendJSONString(b, e.Source)
	if e.Workspace != "" {
		b = append(b, `,"workspace":`...)
		b = AppendJSONString(b, e.Workspace)
	}
	if e.WorkspaceName != "" {
		b = append(b, `,"workspace_name":`...)
		b = AppendJSONString(b, e.WorkspaceName)
	}
	return append(b, '}')
}

// credentialConsumer is authenticated_entity.consumer_id: the credential's
// consumer reference, else the authenticated consumer's id.
func credentialConsumer(cred, consumer map[string]any) string {
	switch c := cred["consumer"].(type) {
	case map[string]any:
		if id, ok := c["id"].(string); ok {
			return id
		}
	case string:
		return c
	}
	if id, ok := cred["consumer_id"].(string); ok {
		return id
	}
	id, _ := consumer["id"].(string)
	return id
}

func (t *LogTry) appendJSON(b []byte) []byte {
	b = append(b, `{"ip":`...)
	b = AppendJSONString(b, t.IP)
	b = append(b, `,"port":`...)
	b = strconv.AppendInt(b, int64(t.Port), 10)
	b = append(b, `,"balancer_start":`...)
	b = strconv.AppendInt(b, t.BalancerStart, 10)
	b = append(b, `,"balancer_start_ns":`...)
	b = strconv.AppendInt(b, t.BalancerStartNS, 10)
	b = append(b, `,"balancer_latency":`...)
	b = strconv.AppendInt(b, t.BalancerLatency, 10)
	b = append(b, `,"balancer_latency_ns":`...)
	b = strconv.AppendInt(b, t.BalancerLatencyNS, 10)
	if t.State != "" {
		b = append(b, `,"state":`...)
		b = AppendJSONString(b, t.State)
	}
	if t.Code != 0 {
		b = append(b, `,"code":`...)
		b = strconv.AppendInt(b, int64(t.Code), 10)
	}
	return append(b, '}')
}

// appendRow writes a stored row: its encoding when there is one, else the
// row encoded now; nothing when there is neither.
func appendRow(b []byte, key string, encoded []byte, row map[string]any) []byte {
	if len(encoded) == 0 {
		if row == nil {
			return b
		}
		var err error
		if encoded, err = json.Marshal(row); err != nil {
			return b
		}
	}
	b = append(b, key...)
	return append(b, encoded...)
}

// appendFields writes headers or query arguments as Kong's tables: an
// object whose repeated names hold arrays (first occurrence's order), an
// argument without a value as true.
func appendFields(b []byte, fs []LogField) []byte {
	b = append(b, '{')
	first := true
	for i := range fs {
		if seenBefore(fs, i) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendJSONString(b, fs[i].Name)
		b = append(b, ':')
		n := 1
		for j := i + 1; j < len(fs); j++ {
			if fs[j].Name == fs[i].Name {
				n++
			}
		}
		if n == 1 {
			b = fs[i].appendValue(b)
			continue
		}
		b = append(b, '[')
		for j := i; j < len(fs); j++ {
			if fs[j].Name == fs[i].Name {
				if j > i {
					b = append(b, ',')
				}
				b = fs[j].appendValue(b)
			}
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func seenBefore(fs []LogField, i int) bool {
	for j := 0; j < i; j++ {
		if fs[j].Name == fs[i].Name {
			return true
		}
	}
	return false
}

func (f *LogField) appendValue(b []byte) []byte {
	if f.Flag {
		return append(b, "true"...)
	}
	return AppendJSONString(b, f.Value)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString writes s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, as
// encoding/json does (without its HTML escaping; "/" is not escaped).
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript readers of JSON.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
