// Package templates holds what Lifeboat ships and renders: Terraform
// modules, cloud-init, compose files, web pages and emails. Each
// destination or feature embeds its own folder.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed all:hetzner
var hetznerFiles embed.FS

// Hetzner is the Hetzner Cloud destination: terraform/ is the Terraform
// module (server, SSH key, firewall, primary IPs, optional volume) and
// cloud-init/ has one template per server software.
var Hetzner fs.FS = func() fs.FS {
	sub, err := fs.Sub(hetznerFiles, "hetzner")
	if err != nil {
		panic(err)
	}
	return sub
}()
