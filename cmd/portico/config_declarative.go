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
	case "init":
		file, ok := createNew(stderr, args, "%s already exists.\nWill not overwrite it.")
		if !ok {
			return 1
		}
		_, err := file.Write(declarative.Example)
		return finishFile(stderr, file, err)
	case "db_export":
		file, ok := createNew(stderr, args, "%s already exists. Will not overwrite it.")
		if !ok {
			return 1
		}
		return finishFile(stderr, file, node.ExportConfig(context.Background(), cfg, o.workspace, file))
	}
	fail(stderr, "unknown command '%s'", o.args[0])
	return 1
}

// createNew creates the command's file (args[0], else ./kong.yml), never
// overwriting one, as Kong's commands refuse to: O_EXCL also loses no
// race. exists is Kong's message for a file that is there.
func createNew(stderr io.Writer, args []string, exists string) (*os.File, bool) {
	name := defaultDeclarativeFile
	if len(args) > 0 {
		name = args[0]
	}
	path, err := filepath.Abs(name)
	if err != nil {
		fail(stderr, "%v", err)
		return nil, false
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		fail(stderr, exists, path)
		return nil, false
	}
	if err != nil {
		fail(stderr, "%v", err)
		return nil, false
	}
	return f, true
}

// finishFile closes a file createNew made, and removes it when writing it
// failed (err), so that a failure leaves nothing half written.
func finishFile(stderr io.Writer, f *os.File, err error) int {
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		fail(stderr, "%v", err)
		return 1
	}
	return 0
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
