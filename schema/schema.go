// Package schema holds the JSON Schema of the group file, for editors
// (e.g. the YAML language server) and for tools outside Lifeboat. The Go
// checks in package groups are the authority; a test keeps the two in step.
package schema

import _ "embed"

// Group is the JSON Schema (draft 2020-12) of group.yaml, version 1.
//
//go:embed group.schema.json
var Group []byte
