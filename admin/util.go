package admin

import (
	"fmt"

	"github.com/portico-gw/portico/db"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func dbPage(size int, offset string) db.PageOptions {
	return db.PageOptions{Size: size, Offset: offset}
}
