package rbac

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema/entities"
)

// Login checks an admin's username and password, as Kong Manager's
// basic-auth login does: the password is the admin's RBAC token (for the
// super admin, KONG_PASSWORD), so no second credential is kept. It returns
// the admin's row and RBAC user, or ErrInvalid: which of the name or the
// password was wrong is never told.
func (a *Authenticator) Login(ctx context.Context, username, password string) (map[string]any, *User, error) {
	admins := a.db.Entity(AdminsEntity)
	if username == "" || password == "" || len(password) > maxTokenBytes || admins == nil {
		return nil, nil, ErrInvalid
	}
	admin, err := a.db.Select(ctx, admins, username, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("looking up admin %s: %w", username, err)
	}
	if admin == nil {
		return nil, nil, refuseAfterHashing(password)
	}
	userID := db.RefID(admin["rbac_user"])
	row, err := a.db.Select(db.AcrossWorkspaces(ctx), a.db.Entity(UsersEntity), userID, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the RBAC user of admin %s: %w", username, err)
	}
	if row == nil {
		return nil, nil, refuseAfterHashing(password)
	}
	if len(entities.TokenUsers([]map[string]any{row}, password)) == 0 {
		return nil, nil, ErrInvalid
	}
	u, err := a.UserByID(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	return admin, u, nil
}

// dummyHash is a token hash no password matches, at the stored tokens'
// cost.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no admin has this password"), entities.TokenCost)
	return h
})

// refuseAfterHashing spends the time a password check takes before
// refusing a login for an unknown name, so that the answer's timing does not
// tell which admin names exist.
func refuseAfterHashing(password string) error {
	_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
	return ErrInvalid
}

// UserByID returns an enabled RBAC user with its permissions, or
// ErrInvalid when it is gone, disabled or holds no role: a session's user
// is checked again on every request, so that deleting or disabling an
// admin ends their sessions at once. Results are cached until RBAC data
// changes.
func (a *Authenticator) UserByID(ctx context.Context, id string) (*User, error) {
	a.mu.Lock()
	u, ok := a.byID[id]
	gen := a.gen
	a.mu.Unlock()
	if ok {
		return u, nil
	}
	row, err := a.db.Select(db.AcrossWorkspaces(ctx), a.db.Entity(UsersEntity), id, nil)
	if err != nil {
		return nil, fmt.Errorf("reading RBAC user %s: %w", id, err)
	}
	if row == nil {
		return nil, ErrInvalid
	}
	if enabled, _ := row["enabled"].(bool); !enabled {
		return nil, ErrInvalid
	}
	perms, err := a.permissions(ctx, id)
	if err != nil {
		return nil, err
	}
	if perms.Empty() {
		return nil, ErrInvalid
	}
	name, _ := row["name"].(string)
	u = &User{ID: id, Name: name, Permissions: perms}
	a.mu.Lock()
	if a.gen == gen { // else RBAC data changed while reading: do not keep it
		a.byID[id] = u
	}
	a.mu.Unlock()
	return u, nil
}
