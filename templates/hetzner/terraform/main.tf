locals {
  labels = merge(var.labels, {
    "lifeboat-group" = var.name
    "managed-by"     = "lifeboat"
  })
  everywhere = ["0.0.0.0/0", "::/0"]
}

resource "hcloud_ssh_key" "admin" {
  name       = "lifeboat-${var.name}"
  public_key = var.ssh_public_key
  labels     = local.labels
}

resource "hcloud_firewall" "server" {
  name   = "lifeboat-${var.name}"
  labels = local.labels

  rule {
    description = "SSH from the lead only"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = var.admin_cidrs
  }

  rule {
    description = "HTTP (ACME challenges, redirects)"
    direction   = "in"
    protocol    = "tcp"
    port        = "80"
    source_ips  = local.everywhere
  }

  rule {
    description = "HTTPS"
    direction   = "in"
    protocol    = "tcp"
    port        = "443"
    source_ips  = local.everywhere
  }

  rule {
    description = "ICMP (path MTU discovery, ping)"
    direction   = "in"
    protocol    = "icmp"
    source_ips  = local.everywhere
  }
}

# Primary IPs outlive the server, so the DNS records stay right if the
# server is ever replaced. Both are placed by location, like the server:
# Hetzner removed datacenters from servers and primary IPs in July 2026.
resource "hcloud_primary_ip" "ipv4" {
  name          = "lifeboat-${var.name}-ipv4"
  type          = "ipv4"
  location      = var.location
  assignee_type = "server"
  auto_delete   = false
  labels        = local.labels
}

resource "hcloud_primary_ip" "ipv6" {
  name          = "lifeboat-${var.name}-ipv6"
  type          = "ipv6"
  location      = var.location
  assignee_type = "server"
  auto_delete   = false
  labels        = local.labels
}

resource "hcloud_server" "main" {
  name         = "lifeboat-${var.name}"
  image        = var.image
  server_type  = var.server_type
  location     = var.location
  ssh_keys     = [hcloud_ssh_key.admin.id]
  firewall_ids = [hcloud_firewall.server.id]
  user_data    = var.user_data
  backups      = var.backups
  labels       = local.labels

  public_net {
    ipv4_enabled = true
    ipv4         = hcloud_primary_ip.ipv4.id
    ipv6_enabled = true
    ipv6         = hcloud_primary_ip.ipv6.id
  }

  # Cloud-init runs on first boot only, and both attributes force a new
  # server: a newer Lifeboat (other cloud-init) or a newer image must
  # never replace a running server and its data.
  lifecycle {
    ignore_changes = [user_data, image]
  }
}

resource "hcloud_volume" "media" {
  count     = var.volume_size > 0 ? 1 : 0
  name      = "lifeboat-${var.name}-media"
  size      = var.volume_size
  server_id = hcloud_server.main.id
  automount = true
  format    = "ext4"
  labels    = local.labels
}
