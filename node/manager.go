package node

import (
	"context"
	"fmt"
	"net"

	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/manager"
	"github.com/portico-gw/portico/rbac"
)

// managerSession reads the admin_gui_* settings that shape the Admin API's
// side of Portico Manager: /auth and its session cookie (only with
// enforce_rbac and admin_gui_auth), and the UI's origins for CORS. Each
// setting that has no effect is said so in the log, by name.
func (n *Node) managerSession(ctx context.Context, cfg *conf.Config, log *logger.Logger, guard *rbac.Authenticator) (*admin.SessionOptions, error) {
	sc, notes, err := conf.ParseSessionConf(cfg.AdminGUISessionConf)
	if err != nil {
		return nil, fmt.Errorf("admin_gui_session_conf: %w", err)
	}
	for _, note := range notes {
		log.Noticef("admin_gui_session_conf: %s", note)
	}
	origin := manager.OriginChecker(cfg.AdminGUIURL, func() []int { return n.ports("admin_gui", nil) })
	switch {
	case guard == nil && cfg.AdminGUIAuth != "":
		log.Noticef("admin_gui_auth is ignored: enforce_rbac is off, so Portico Manager opens without a login")
	case guard != nil && cfg.AdminGUIAuth == "" && len(cfg.AdminGUIListen) > 0:
		log.Noticef("admin_gui_auth is not set while enforce_rbac is on: Portico Manager cannot log in " +
			"(set admin_gui_auth = basic-auth)")
	}
	if guard == nil || cfg.AdminGUIAuth == "" {
		if cfg.AdminGUISessionConf != "" {
			log.Noticef("admin_gui_session_conf is ignored: there is no login without enforce_rbac and admin_gui_auth")
		}
		// Credentialed CORS is still granted to the UI's origins: harmless
		// without a cookie, and the same code path either way.
		return &admin.SessionOptions{Origin: origin}, nil
	}
	if sc.CookieSecure && !anySSL(cfg.AdminListen) && cfg.AdminGUIAPIURL == "" {
		log.Noticef("admin_gui_session_conf: cookie_secure is on but admin_listen has no ssl listener: " +
			"browsers keep the session cookie over https only (set cookie_secure to false for plain http)")
	}
	idle := sc.IdlingTimeout
	if sc.RollingTimeout > 0 && (idle == 0 || sc.RollingTimeout < idle) {
		idle = sc.RollingTimeout
	}
	// Sessions are kept in the store, so they survive a restart and are
	// shared by the nodes of one database. (DB-less mode has no login:
	// Kong disables RBAC there; were it on, its store is replaced by every
	// POST /config, so sessions would be kept in memory only.)
	var sessions *rbac.Sessions
	if cfg.Database == "off" {
		sessions = rbac.NewSessions(sc.Secret, idle, sc.AbsoluteTimeout)
	} else if sessions, err = rbac.NewStoredSessions(ctx, n.store, sc.Secret, idle, sc.AbsoluteTimeout); err != nil {
		return nil, fmt.Errorf("admin_gui sessions: %w", err)
	}
	n.sessions = sessions
	return &admin.SessionOptions{
		Sessions:     sessions,
		UserHeader:   cfg.AdminGUIAuthHeader,
		CookieName:   sc.CookieName,
		CookiePath:   sc.CookiePath,
		CookieDomain: sc.CookieDomain,
		SameSite:     sc.CookieSameSite,
		Secure:       sc.CookieSecure,
		MaxAge:       sc.AbsoluteTimeout,
		Origin:       origin,
	}, nil
}

// newManager builds the UI server of admin_gui_listen.
func (n *Node) newManager(cfg *conf.Config, login bool) *manager.Server {
	return manager.New(manager.Options{
		Path:   cfg.AdminGUIPath,
		APIURL: cfg.AdminGUIAPIURL,
		AdminPorts: func() (int, int) {
			var plain, tls int
			n.ports("admin", func(ssl bool, port int) {
				if ssl && tls == 0 {
					tls = port
				} else if !ssl && plain == 0 {
					plain = port
				}
			})
			return plain, tls
		},
		Auth:       cfg.AdminGUIAuth,
		Login:      login,
		RBAC:       cfg.EnforceRBAC != "off",
		UserHeader: cfg.AdminGUIAuthHeader,
		Version:    cfg.KongVersion,
	})
}

// ports lists the bound ports of a kind of listener, calling each (when
// set) with every one and whether it is ssl.
func (n *Node) ports(kind string, each func(ssl bool, port int)) []int {
	var out []int
	for _, s := range n.servers {
		if s.kind != kind || s.hl == nil {
			continue
		}
		if a, ok := s.hl.Addr().(*net.TCPAddr); ok {
			out = append(out, a.Port)
			if each != nil {
				each(s.spec.SSL, a.Port)
			}
		}
	}
	return out
}
