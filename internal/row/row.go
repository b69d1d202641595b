// Package row reads the fields of stored rows (map[string]any as the store
// and the schema engine hand them out) with the types they may hold:
// JSON-decoded numbers are float64, rows built in Go may hold ints, lists
// are []any or []string.
package row

// String is a string field, "" when absent or of another type.
func String(r map[string]any, field string) string {
	s, _ := r[field].(string)
	return s
}

// StringOr is a string field, dflt when absent or of another type.
func StringOr(r map[string]any, field, dflt string) string {
	if s, ok := r[field].(string); ok {
		return s
	}
	return dflt
}

// Bool is a boolean field, dflt when absent or null.
func Bool(r map[string]any, field string, dflt bool) bool {
	if b, ok := r[field].(bool); ok {
		return b
	}
	return dflt
}

// Number is a stored number, dflt when v is not one.
func Number(v any, dflt float64) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case float32:
		return float64(n)
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case int32:
		return float64(n)
	case uint16:
		return float64(n)
	}
	return dflt
}

// Int is a numeric field as an int, dflt when absent or null.
func Int(r map[string]any, field string, dflt int) int {
	return int(Number(r[field], float64(dflt)))
}

// Strings is a list of strings; elements of other types are skipped.
func Strings(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Map is a record field, nil when absent or of another type.
func Map(r map[string]any, field string) map[string]any {
	m, _ := r[field].(map[string]any)
	return m
}
