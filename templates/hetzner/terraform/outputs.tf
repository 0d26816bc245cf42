output "server_id" {
  description = "The server's ID."
  value       = hcloud_server.main.id
}

output "server_name" {
  description = "The server's name."
  value       = hcloud_server.main.name
}

output "ipv4" {
  description = "Public IPv4 address (the A record)."
  value       = hcloud_primary_ip.ipv4.ip_address
}

output "ipv6" {
  description = "Public IPv6 address (the AAAA record)."
  value       = hcloud_server.main.ipv6_address
}

output "ipv6_network" {
  description = "The server's IPv6 /64."
  value       = hcloud_primary_ip.ipv6.ip_network
}

output "volume_id" {
  description = "The media volume's ID, or null without one."
  value       = one(hcloud_volume.media[*].id)
}
