package declarative

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the values a YAML document may expand to through
// aliases (a "billion laughs" file is refused, not expanded).
const maxNodes = 10_000_000

// unserialize decodes a file's contents as Kong's declarative
// unserialize does: JSON when the name ends in "json" (or there is no
// name), else YAML when it ends in "yml"/"yaml" (or there is no name).
// Values follow the schema package's JSON model.
func unserialize(data []byte, filename string) (map[string]any, error) {
	triedOne := false
	var doc any
	var err error
	if filename == "" || strings.HasSuffix(filename, "json") {
		triedOne = true
		doc, err = decodeJSON(data)
	}
	if _, ok := doc.(map[string]any); !ok && (filename == "" || strings.HasSuffix(filename, "yml") || strings.HasSuffix(filename, "yaml")) {
		triedOne = true
		doc, err = decodeYAML(data)
		if err == nil {
			if _, ok := doc.(map[string]any); !ok {
				err = fmt.Errorf("expected an object")
			}
		}
	}
	m, ok := doc.(map[string]any)
	if ok {
		return m, nil
	}
	if !triedOne {
		return nil, fmt.Errorf("unknown file type: %s. (Accepted types: json, yaml)", filename)
	}
	if err == nil {
		err = fmt.Errorf("expected an object")
	}
	return nil, fmt.Errorf("failed parsing declarative configuration: %w", err)
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON document")
	}
	return v, nil
}

func decodeYAML(data []byte) (v any, err error) {
	// The YAML library has panicked on hostile input before: a file is a
	// client's input, so a panic is its mistake, not the process's.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 {
		return nil, nil // an empty document
	}
	budget := maxNodes
	return fromNode(&root, &budget, 0)
}

// fromNode converts a YAML node to the JSON model: mappings with string
// keys, sequences, strings, float64 numbers, booleans and nil.
func fromNode(n *yaml.Node, budget *int, depth int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("document too large (aliases expand to more than %d values)", maxNodes)
	}
	if depth > 1000 {
		return nil, fmt.Errorf("document nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromNode(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return fromNode(n.Alias, budget, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromNode(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				// "<<: *base" merges the aliased mapping's keys, keeping
				// those given here.
				merged, err := fromNode(v, budget, depth+1)
				if err != nil {
					return nil, err
				}
				if m, ok := merged.(map[string]any); ok {
					for mk, mv := range m {
						if _, set := out[mk]; !set {
							out[mk] = mv
						}
					}
				}
				continue
			}
			key, err := fromNode(k, budget, depth+1)
			if err != nil {
				return nil, err
			}
			val, err := fromNode(v, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out[keyString(key)] = val
		}
		return out, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(k, 'f', -1, 64)
	}
	return fmt.Sprint(k)
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, err
		}
		return b, nil
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, err
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return n.Value, nil
		}
		return f, nil
	}
	// Strings, timestamps and binary stay as written (Kong's YAML loader
	// keeps timestamps as strings).
	return n.Value, nil
}
