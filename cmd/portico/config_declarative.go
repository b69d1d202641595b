package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/declarative"
	"github.com/portico-gw/portico/node"
)

// Kong's `kong config` (kong/cmd/config.lua): messages, default file and
// exit codes.
const (
	defaultDeclarativeFile = "kong.yml"
	msgParseSuccessful     = "parse successful"
	msgBeginningImport     = "parse successful, beginning import"
	msgImportSuccessful    = "import successful"
	msgExpectedFile        = "expected a declarative configuration file; see `portico config --help`"
)

func configSubcommand(o options, cfg *conf.Config, stdout, stderr io.Writer) int {
	sub := strings.ReplaceAll(o.args[0], "-", "_")
	args := o.args[1:]
	switch sub {
	case "db_import", "parse":
		if len(args) == 0 {
			fail(stderr, msgExpectedFile)
			return 1
		}
		file, err := filepath.Abs(args[0])
		if err != nil {
			fail(stderr, "%v", err)
			return 1
		}
		if sub == "parse" {
			if _, err := node.ParseConfigFile(cfg, file); err != nil {
				return declarativeFailure(stderr, err)
			}
			fmt.Fprintln(stdout, msgParseSuccessful)
			return 0
		}
		err = node.ImportConfigFile(context.Background(), cfg, file, func() { fmt.Fprintln(stdout, msgBeginningImport) })
		if err != nil {
			return declarativeFailure(stderr, err)
		}
		fmt.Fprintln(stdout, msgImportSuccessful)
		return 0
	case "db_export":
		name := defaultDeclarativeFile
		if len(args) > 0 {
			name = args[0]
		}
		file, err := filepath.Abs(name)
		if err != nil {
			fail(stderr, "%v", err)
			return 1
		}
		// Never overwritten, as Kong: O_EXCL also loses no race.
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			fail(stderr, "%s already exists. Will not overwrite it.", file)
			return 1
		}
		if err != nil {
			fail(stderr, "%v", err)
			return 1
		}
		err = node.ExportConfig(context.Background(), cfg, o.workspace, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(file)
			fail(stderr, "%v", err)
			return 1
		}
		return 0
	}
	fail(stderr, "unknown command '%s'", o.args[0])
	return 1
}

// declarativeFailure prints Kong's "Failed parsing:" or "Failed
// importing:" error.
func declarativeFailure(stderr io.Writer, err error) int {
	var de *declarative.Error
	var le *node.LoadError
	switch {
	case errors.As(err, &de):
		fail(stderr, "Failed parsing:\n%s", de.Error())
	case errors.As(err, &le):
		fail(stderr, "Failed importing:\n%v", le.Err)
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission):
		fail(stderr, "Failed parsing:\n%v", err)
	default:
		fail(stderr, "%v", err)
	}
	return 1
}
