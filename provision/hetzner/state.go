package hetzner

// HasServer reports whether the state directory's Terraform state lists
// resources (a server was made and not destroyed), or the destination
// lives on the campaign home.
func HasServer(dir string) bool { return hasServer(dir) || onHomeRecorded(dir) }
