variable "name" {
  description = "Name of the management cluster, its VPC and everything tagged with it."
  type        = string
  default     = "platform-mgmt"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name: lower-case letters, digits and dashes, 3 to 40 characters, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the management cluster."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's block, split as XEnvironment splits one: private tier in the first half, public in the third quarter, database in the last, one slot of eight per zone letter."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr: an IPv4 block of /20 or larger."
  }
}

variable "zones" {
  description = "Zone letters of the region to use (a zone keeps its subnets when others are added or removed)."
  type        = list(string)
  default     = ["a", "b", "c"]
  validation {
    condition     = length(var.zones) >= 2 && alltrue([for z in var.zones : contains(["a", "b", "c", "d", "e", "f", "g", "h"], z)])
    error_message = "zones: at least two letters from a to h (EKS needs two zones)."
  }
}

variable "nat_strategy" {
  description = "NAT gateways: Single (one, in the first zone) or PerZone, as XEnvironment's natStrategy."
  type        = string
  default     = "PerZone"
  validation {
    condition     = contains(["Single", "PerZone"], var.nat_strategy)
    error_message = "nat_strategy: Single or PerZone (the cluster's nodes need a way out)."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_count" {
  description = "Managed node group size."
  type = object({
    min     = number
    desired = number
    max     = number
  })
  default = { min = 2, desired = 3, max = 6 }
}

variable "admin_principal_arns" {
  description = "IAM principals (roles or users) given cluster-admin through EKS access entries, e.g. the platform team's SSO role. The principal that runs the first apply is admin too."
  type        = list(string)
  default     = []
}

variable "crossplane_namespace" {
  description = "Namespace of Crossplane and its providers: where the Pod Identity associations point."
  type        = string
  default     = "crossplane-system"
}

variable "tags" {
  description = "Tags for every resource, beside the platform's own."
  type        = map(string)
  default     = {}
}
