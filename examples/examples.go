// Package examples embeds the example group files, so `lifeboat demo`
// works from the binary alone.
package examples

import "embed"

// Files holds the *.yaml examples.
//
//go:embed *.yaml
var Files embed.FS

// Demo is the demo group's file name within Files.
const Demo = "river-birders.yaml"
