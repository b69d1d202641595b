package declarative

import _ "embed"

// Example is the commented configuration `portico config init` writes
// (Kong's `kong config init`): a service with a route and key-auth, a
// consumer with a key, an upstream with a target and a global plugin.
//
//go:embed example.yml
var Example []byte
