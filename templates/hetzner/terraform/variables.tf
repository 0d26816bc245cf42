variable "name" {
  description = "The group's slug; every resource is named after it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,45}$", var.name))
    error_message = "The name must be 3 to 45 characters of a-z, 0-9 and - (a group slug, or a slug and -home)."
  }
}

variable "domain" {
  description = "The instance's domain name (the A and AAAA records point here)."
  type        = string
}

variable "location" {
  description = "Hetzner location of the server and its primary IPs, e.g. fsn1 (pre-flight checks that the server type can be ordered there)."
  type        = string
}

variable "server_type" {
  description = "Hetzner server type, e.g. cx23."
  type        = string
}

variable "image" {
  description = "Operating system image."
  type        = string
  default     = "debian-12"
}

variable "ssh_public_key" {
  description = "The group's generated SSH public key (its private key stays in the state directory)."
  type        = string
}

variable "admin_cidrs" {
  description = "Networks allowed to reach SSH: the lead's address only."
  type        = list(string)

  validation {
    condition     = length(var.admin_cidrs) > 0 && alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0))])
    error_message = "The admin_cidrs must be a non-empty list of CIDR networks."
  }
}

variable "user_data" {
  description = "Rendered cloud-init for the chosen software."
  type        = string
  sensitive   = true
}

variable "volume_size" {
  description = "Size in GB of a volume for media; 0 for none."
  type        = number
  default     = 0

  validation {
    condition     = var.volume_size == 0 || (var.volume_size >= 10 && var.volume_size <= 10240)
    error_message = "The volume_size must be 0 or between 10 and 10240."
  }
}

variable "backups" {
  description = "Whether Hetzner's daily server backups are on (20% of the server price)."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Extra labels for every resource."
  type        = map(string)
  default     = {}
}

variable "poll_interval" {
  description = "How often the provider polls the API for running actions."
  type        = string
  default     = "500ms"
}
