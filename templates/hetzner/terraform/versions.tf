terraform {
  required_version = ">= 1.5.0"

  # Lifeboat passes the state path (in the group's state directory) at
  # init: -backend-config=path=...
  backend "local" {}

  required_providers {
    # From 1.58.0 on, primary IPs take a location and the provider copes
    # with an API that no longer returns datacenters (its changelog).
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = ">= 1.58.0, < 2.0.0"
    }
  }
}

# The token and the API endpoint come from the environment (HCLOUD_TOKEN,
# HCLOUD_ENDPOINT), never from a variable, so they stay out of argv and
# out of the variables file.
provider "hcloud" {
  poll_interval = var.poll_interval
}
