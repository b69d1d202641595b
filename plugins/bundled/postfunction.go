package bundled

import "github.com/portico-gw/portico/plugins"

// postFunction is Kong's post-function: runs last in every phase.
func postFunction() plugins.Info { return serverless("post-function", -1000) }
