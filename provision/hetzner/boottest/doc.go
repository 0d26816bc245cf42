// Package boottest boots the cloud-init Lifeboat renders for a new
// GoToSocial server, for real: in a Debian root filesystem built from
// Debian's packages (lifeboat tools install debian-root), under
// systemd-nspawn with its own network namespace, and then runs up's
// after-boot steps, a member's arrival and the mesh against it over SSH
// and HTTPS. It holds only that test (TestCloudInitBoot…); it needs root.
package boottest
