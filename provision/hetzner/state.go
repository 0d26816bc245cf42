package hetzner

// HasServer reports whether the state directory's Terraform state lists
// resources: a server was made and not destroyed.
func HasServer(dir string) bool { return hasServer(dir) }
