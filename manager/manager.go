// Package manager serves Portico Manager, the web UI in Kong Manager's place,
// on admin_gui_listen: static pages (plain HTML, CSS and ES modules embedded
// in the binary, no build step) that talk to the Admin API from the browser,
// as Kong Manager does. It holds no credentials: the page logs in through
// the Admin API's /auth, whose session cookie the page cannot read.
package manager

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

//go:embed assets
var assets embed.FS

// Options configure the UI server.
type Options struct {
	// Path is admin_gui_path: "/" or a prefix such as /manager.
	Path string
	// APIURL is admin_gui_api_url; empty: the page's host on an Admin API
	// port of the page's scheme.
	APIURL string
	// AdminPorts returns the bound Admin API ports, plain and TLS (0 when
	// there is none); asked per request, as ports may be chosen at bind.
	AdminPorts func() (http, https int)
	// Auth is admin_gui_auth ("basic-auth" or ""); Login is whether the UI
	// must log in (enforce_rbac with an admin_gui_auth).
	Auth  string
	Login bool
	// RBAC is whether enforce_rbac is on.
	RBAC bool
	// UserHeader is admin_gui_auth_header.
	UserHeader string
	// Version is the Kong version the node reports.
	Version string
}

// Server serves the UI. It is safe for concurrent use.
type Server struct {
	opts   Options
	prefix string // Path without its trailing "/": "" for "/"
	files  fs.FS
	etags  sync.Map // asset name → its ETag (the assets never change while running)
}

// New returns the UI server.
func New(opts Options) *Server {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("manager: embedded assets: " + err.Error())
	}
	return &Server{opts: opts, prefix: strings.TrimSuffix(opts.Path, "/"), files: sub}
}

// Handler serves the UI under its path.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if !ctx.IsGet() && !ctx.IsHead() {
		h.Set("Allow", "GET, HEAD")
		ctx.Error("Method Not Allowed", fasthttp.StatusMethodNotAllowed)
		return
	}
	p := string(ctx.Path())
	if p == s.prefix {
		ctx.Redirect(s.prefix+"/", fasthttp.StatusMovedPermanently)
		return
	}
	rest, ok := strings.CutPrefix(p, s.prefix+"/")
	if !ok {
		ctx.Error("Not Found", fasthttp.StatusNotFound)
		return
	}
	api, err := s.apiURL(ctx)
	if err != nil {
		ctx.Error(err.Error(), fasthttp.StatusBadRequest)
		return
	}
	origin := api
	if u, err := url.Parse(api); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	// Scripts, styles and connections only from here and the Admin API:
	// no inline script can run, whatever an entity's text holds.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self' "+origin+"; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'")
	switch {
	case rest == "" || rest == "index.html":
		s.file(ctx, "index.html", "no-cache")
	case rest == "kconfig.js":
		s.config(ctx, api)
	default:
		if strings.Contains(rest, "..") || !strings.HasPrefix(rest, "assets/") {
			ctx.Error("Not Found", fasthttp.StatusNotFound)
			return
		}
		s.file(ctx, strings.TrimPrefix(rest, "assets/"), "no-cache")
	}
}

func (s *Server) file(ctx *fasthttp.RequestCtx, name, cache string) {
	body, err := fs.ReadFile(s.files, name)
	if err != nil {
		ctx.Error("Not Found", fasthttp.StatusNotFound)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if strings.HasSuffix(name, ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	tag, ok := s.etags.Load(name)
	if !ok {
		sum := sha256.Sum256(body)
		tag = `"` + hex.EncodeToString(sum[:12]) + `"`
		s.etags.Store(name, tag)
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cache)
	ctx.Response.Header.Set(fasthttp.HeaderETag, tag.(string))
	// "no-cache" asks the browser to revalidate: an unchanged asset is a
	// 304 without a body.
	if string(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch)) == tag.(string) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(ct)
	ctx.SetBody(body)
}

// config serves window.K_CONFIG, Kong Manager's name for what the page
// needs to know: where the Admin API is and how to log in. No secret.
func (s *Server) config(ctx *fasthttp.RequestCtx, api string) {
	cfg := map[string]any{
		"ADMIN_API_URL":         api,
		"ADMIN_GUI_PATH":        s.opts.Path,
		"ADMIN_GUI_AUTH":        s.opts.Auth,
		"ADMIN_GUI_AUTH_HEADER": s.opts.UserHeader,
		"RBAC":                  s.opts.RBAC,
		"LOGIN":                 s.opts.Login,
		"KONG_VERSION":          s.opts.Version,
	}
	b, _ := json.Marshal(cfg)
	ctx.SetContentType("text/javascript; charset=utf-8")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetBodyString("window.K_CONFIG = " + string(b) + ";\n")
}

// apiURL is where this page's browser finds the Admin API: admin_gui_api_url
// (with the page's scheme when it has none), else the page's host on the
// Admin API port of the page's scheme (the other scheme's when there is
// none), as Kong Manager resolves it.
func (s *Server) apiURL(ctx *fasthttp.RequestCtx) (string, error) {
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	if s.opts.APIURL != "" {
		if strings.Contains(s.opts.APIURL, "://") {
			return s.opts.APIURL, nil
		}
		return scheme + "://" + strings.TrimPrefix(s.opts.APIURL, "//"), nil
	}
	host := string(ctx.Host())
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !validHost(host) {
		return "", fmt.Errorf("invalid Host header")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	plain, tls := 0, 0
	if s.opts.AdminPorts != nil {
		plain, tls = s.opts.AdminPorts()
	}
	var port int
	switch {
	case scheme == "https" && tls != 0:
		port = tls
	case scheme == "http" && plain != 0:
		port = plain
	case tls != 0:
		scheme, port = "https", tls
	case plain != 0:
		scheme, port = "http", plain
	default:
		return "", fmt.Errorf("the Admin API has no listener (admin_listen is off): set admin_gui_api_url")
	}
	return scheme + "://" + host + ":" + strconv.Itoa(port), nil
}

// validHost accepts a DNS name or an IP address: it is written into a
// header and a script, so nothing else may pass.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// OriginChecker returns what the Admin API asks of a page's origin: is it
// Portico Manager? With admin_gui_url, its URLs' origins; else any host on a
// bound admin_gui_listen port (ports() is asked per call).
func OriginChecker(guiURLs []string, ports func() []int) func([]byte) bool {
	allowed := map[string]bool{}
	for _, raw := range guiURLs {
		if u, err := url.Parse(raw); err == nil {
			allowed[strings.ToLower(u.Scheme+"://"+u.Host)] = true
		}
	}
	return func(origin []byte) bool {
		o := strings.ToLower(string(origin))
		if len(allowed) > 0 {
			return allowed[o]
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return false
		}
		p := u.Port()
		if p == "" {
			p = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		for _, port := range ports() {
			if strconv.Itoa(port) == p {
				return true
			}
		}
		return false
	}
}
