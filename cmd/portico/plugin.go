package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/portico-gw/portico/catalog"
	luaplugins "github.com/portico-gw/portico/plugins/lua"
	"github.com/portico-gw/portico/schema"
)

const usagePlugin = "Error: usage: portico plugin check DIR [--schema]\n" +
	"  DIR is a plugin's directory (.../kong/plugins/NAME, holding handler.lua\n" +
	"  and schema.lua) or a lua_package_path root holding kong/plugins/*.\n"

// cmdPlugin is `portico plugin check DIR`: it loads Lua plugins as a node
// would (handler checks, schema conversion, an instance built from the
// schema's defaults) without starting one, and prints each plugin's
// summary, or its schema as GET /schemas/plugins/{name} serves it.
func cmdPlugin(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "check" {
		writeString(stderr, usagePlugin)
		return 2
	}
	dir, printSchema := args[1], len(args) > 2 && args[2] == "--schema"
	root, names, err := pluginDirs(dir)
	if err != nil {
		fail(stderr, "%v", err)
		return 1
	}
	host, err := luaplugins.New(luaplugins.Options{
		PackagePath: filepath.Join(root, "?.lua") + ";" + filepath.Join(root, "?", "init.lua"),
		Timeout:     5 * time.Second,
	})
	if err != nil {
		fail(stderr, "%v", err)
		return 1
	}
	defer host.Close()
	code := 0
	for _, name := range names {
		if err := checkPlugin(host, name, printSchema, stdout); err != nil {
			fail(stderr, "%s: %v", name, err)
			code = 1
		}
	}
	return code
}

// pluginDirs finds the lua_package_path root and the plugin names of dir.
func pluginDirs(dir string) (root string, names []string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, "handler.lua")); err == nil {
		plugins := filepath.Dir(abs)
		if filepath.Base(plugins) != "plugins" || filepath.Base(filepath.Dir(plugins)) != "kong" {
			return "", nil, fmt.Errorf("%s: a plugin's directory must be .../kong/plugins/NAME, as Kong requires it", dir)
		}
		return filepath.Dir(filepath.Dir(plugins)), []string{filepath.Base(abs)}, nil
	}
	entries, err := os.ReadDir(filepath.Join(abs, "kong", "plugins"))
	if err != nil {
		return "", nil, fmt.Errorf("%s holds neither handler.lua nor kong/plugins/", dir)
	}
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "", nil, fmt.Errorf("%s/kong/plugins holds no plugin", dir)
	}
	return abs, names, nil
}

func checkPlugin(host *luaplugins.Host, name string, printSchema bool, stdout io.Writer) error {
	info, err := host.Load(name)
	if err != nil {
		return err
	}
	reg, _, err := catalog.Build([]string{"off"})
	if err != nil {
		return err
	}
	e := reg.Entity("plugins")
	e.AddSubschema(info.Schema)
	if printSchema {
		out, _ := e.SubschemaJSONable(name)
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	// An instance from the defaults, as a row without config would get.
	row, errs := e.PrepareInsert(map[string]any{"name": name}, schema.Auto{Now: time.Now, NewID: func() string { return "00000000-0000-4000-8000-000000000000" }})
	if errs == nil {
		errs = e.Validate(row)
	}
	defaults := "an instance with the defaults built"
	if errs != nil {
		b, _ := json.Marshal(errs)
		defaults = "a configuration is required (defaults alone: " + string(b) + ")"
	} else if _, err := info.New(row["config"].(map[string]any)); err != nil {
		return fmt.Errorf("building an instance: %w", err)
	}
	var fields []string
	if cfg := info.Schema.Fields; cfg != nil {
		for _, f := range cfg {
			if f.Name == "config" {
				for _, sub := range f.Fields {
					fields = append(fields, sub.Name)
				}
			}
		}
	}
	fmt.Fprintf(stdout, "plugin %s %s (priority %d) is valid: config fields %v; %s\n", name, info.Version, info.Priority, fields, defaults)
	return nil
}
