# The management cluster's root module: applied once by hand from a laptop
# or a CI job (local state), then handed over to provider-workloads in the
# cluster it creates (../bootstrap.sh handover), which from then on plans and
# applies it as the Workspace `management-cluster`. It configures no backend
# of its own: the provider keeps the state (and refuses modules that bring a
# backend).
terraform {
  required_version = ">= 1.8.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}
