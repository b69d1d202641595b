package admin

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/rbac"
)

// SessionOptions configure Kong Manager's login (admin_gui_auth =
// basic-auth): GET /auth with an admin's Basic credentials and
// Kong-Admin-User starts a session whose cookie then stands for the
// admin's RBAC token; DELETE /auth ends it.
type SessionOptions struct {
	Sessions *rbac.Sessions
	// UserHeader names the admin (admin_gui_auth_header, Kong-Admin-User).
	// A request authenticated by its cookie must carry it: a cross-site
	// page cannot add a header without a CORS preflight, which only the
	// UI's origins pass, so the header is the CSRF guard beside SameSite.
	UserHeader string
	// The cookie's shape (admin_gui_session_conf).
	CookieName, CookiePath, CookieDomain string
	SameSite                             string // Strict, Lax, None or Default
	Secure                               bool
	MaxAge                               time.Duration // 0: a browser-session cookie
	// Origin reports whether a page's origin is Portico Manager's: such
	// origins get credentialed CORS answers, and a cookie-authenticated
	// request from any other origin is refused.
	Origin func(origin []byte) bool
}

// Kong's answers of /auth (the basic-auth plugin's).
const (
	msgUnauthorized = "Unauthorized"
	authPath        = "/auth"
	authMethods     = "GET, HEAD, DELETE, OPTIONS"
)

// cors sets the Admin API's CORS headers: "*" for anyone, as Kong does, but
// the page's own origin with credentials for Portico Manager.
func (a *API) cors(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin)
	if len(origin) > 0 && a.session != nil && a.session.Origin != nil && a.session.Origin(origin) {
		h.SetBytesV("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add(fasthttp.HeaderVary, "Origin")
		return
	}
	h.Set("Access-Control-Allow-Origin", "*")
}

// preflight reports a CORS preflight: it never carries credentials, so it
// is answered without authentication (only the allowed methods and headers
// are told).
func preflight(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0
}

// sessionCookie returns the request's session cookie, or nil.
func (a *API) sessionCookie(ctx *fasthttp.RequestCtx) []byte {
	if a.session == nil {
		return nil
	}
	return ctx.Request.Header.Cookie(a.session.CookieName)
}

// session returns the live session of a request authenticated by its
// cookie: signed, not expired, named by the user header, from an allowed
// origin (or none, as from curl).
func (a *API) liveSession(ctx *fasthttp.RequestCtx, cookie []byte) (*rbac.Session, error) {
	if origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin); len(origin) > 0 && !a.session.Origin(origin) {
		return nil, nil
	}
	s, err := a.session.Sessions.Get(ctx, string(cookie))
	if err != nil {
		return nil, err
	}
	if s == nil || string(ctx.Request.Header.Peek(a.session.UserHeader)) != s.Username {
		return nil, nil
	}
	return s, nil
}

// sessionAuthenticated authenticates a request by its session cookie,
// answering 401 itself. The admin's RBAC user is read again (cached until
// RBAC data changes), so a deleted or disabled admin's sessions end.
func (a *API) sessionAuthenticated(ctx *fasthttp.RequestCtx, cookie []byte) bool {
	s, err := a.liveSession(ctx, cookie)
	if err != nil {
		a.internalError(ctx, err)
		return false
	}
	if s == nil {
		writeMessage(ctx, fasthttp.StatusUnauthorized, msgInvalidRBAC)
		return false
	}
	user, err := a.rbac.UserByID(ctx, s.UserID)
	if errors.Is(err, rbac.ErrInvalid) {
		if derr := a.session.Sessions.Delete(ctx, string(cookie)); derr != nil {
			a.internalError(ctx, derr)
			return false
		}
	}
	return a.admit(ctx, user, err)
}

// isAuth reports a request for /auth, which is served before any token or
// workspace is looked at: it is how a token-less browser gets credentials.
func (a *API) isAuth(ctx *fasthttp.RequestCtx) bool {
	return a.session != nil && a.rbac != nil && bytes.Equal(ctx.Request.URI().PathOriginal(), []byte(authPath))
}

// serveAuth is Kong Manager's /auth: GET logs in with Basic credentials
// (or, without them, reports the session's admin), DELETE logs out.
func (a *API) serveAuth(ctx *fasthttp.RequestCtx) {
	switch {
	case preflight(ctx):
		ctx.Response.Header.Set("Allow", authMethods)
		a.router.GlobalOPTIONS(ctx)
	case ctx.IsGet() || ctx.IsHead():
		a.login(ctx)
	case ctx.IsDelete():
		a.logout(ctx)
	default:
		ctx.Response.Header.Set("Allow", authMethods)
		methodNotAllowed(ctx)
	}
}

func (a *API) login(ctx *fasthttp.RequestCtx) {
	admins := a.db.Entity(rbac.AdminsEntity)
	named := string(ctx.Request.Header.Peek(a.session.UserHeader))
	username, password, basic := basicAuth(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
	if !basic {
		// No credentials: the current session's admin, if any (how the
		// UI learns, on load, whether it is logged in).
		if c := a.sessionCookie(ctx); len(c) > 0 {
			s, err := a.liveSession(ctx, c)
			if err != nil {
				a.internalError(ctx, err)
				return
			}
			if s != nil {
				if row, err := a.db.Select(ctx, admins, s.Username, nil); err == nil && row != nil {
					if _, err := a.rbac.UserByID(ctx, s.UserID); err == nil {
						writeJSON(ctx, fasthttp.StatusOK, admins.Output(row))
						return
					}
				}
			}
		}
		writeMessage(ctx, fasthttp.StatusUnauthorized, msgUnauthorized)
		return
	}
	if named == "" || named != username {
		writeMessage(ctx, fasthttp.StatusUnauthorized, msgUnauthorized)
		return
	}
	admin, user, err := a.rbac.Login(ctx, username, password)
	switch {
	case errors.Is(err, rbac.ErrInvalid):
		writeMessage(ctx, fasthttp.StatusUnauthorized, msgUnauthorized)
		return
	case err != nil:
		a.internalError(ctx, err)
		return
	}
	// A login replaces the session the browser had.
	if old := a.sessionCookie(ctx); len(old) > 0 {
		if err := a.session.Sessions.Delete(ctx, string(old)); err != nil {
			a.internalError(ctx, err)
			return
		}
	}
	cookie, err := a.session.Sessions.Create(ctx, user.ID, username)
	if err != nil {
		a.internalError(ctx, err)
		return
	}
	a.setSessionCookie(ctx, cookie, a.session.MaxAge)
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	writeJSON(ctx, fasthttp.StatusOK, admins.Output(admin))
}

func (a *API) logout(ctx *fasthttp.RequestCtx) {
	if c := a.sessionCookie(ctx); len(c) > 0 {
		if err := a.session.Sessions.Delete(ctx, string(c)); err != nil {
			a.internalError(ctx, err)
			return
		}
	}
	a.setSessionCookie(ctx, "", -1)
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// setSessionCookie writes the session cookie; a negative maxAge deletes it.
func (a *API) setSessionCookie(ctx *fasthttp.RequestCtx, value string, maxAge time.Duration) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(a.session.CookieName)
	c.SetValue(value)
	c.SetPath(a.session.CookiePath)
	if a.session.CookieDomain != "" {
		c.SetDomain(a.session.CookieDomain)
	}
	c.SetHTTPOnly(true)
	c.SetSecure(a.session.Secure)
	switch a.session.SameSite {
	case "Lax":
		c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	case "None":
		c.SetSameSite(fasthttp.CookieSameSiteNoneMode)
	case "Strict":
		c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	}
	switch {
	case maxAge < 0:
		c.SetExpire(fasthttp.CookieExpireDelete)
	case maxAge > 0:
		c.SetMaxAge(int(maxAge / time.Second))
	}
	ctx.Response.Header.SetCookie(c)
}

// basicAuth decodes "Basic base64(user:password)".
func basicAuth(h []byte) (user, password string, ok bool) {
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(h[len(prefix):])))
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(raw), ":")
	return user, password, ok
}
