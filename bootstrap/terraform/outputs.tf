# What ../bootstrap.sh reads (tofu output -json), and what the platform's
# EnvironmentConfig and ProviderConfigs are filled from.
output "cluster_name" {
  description = "The EKS cluster's name."
  value       = aws_eks_cluster.this.name
}

output "region" {
  description = "The cluster's region."
  value       = var.region
}

output "cluster_endpoint" {
  description = "The Kubernetes API endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority" {
  description = "The API server's CA bundle, base64 PEM."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "vpc_id" {
  description = "The management VPC."
  value       = aws_vpc.this.id
}

output "subnet_ids" {
  description = "Subnet IDs by tier (public, private, database), in zone order."
  value = {
    for tier in ["public", "private", "database"] :
    tier => [for z in var.zones : aws_subnet.this["${tier}-${z}"].id]
  }
}

output "controller_role_arns" {
  description = "IAM role ARNs of the controllers (crossplane, workloads, capa)."
  value       = { for k, r in aws_iam_role.controller : k => r.arn }
}

output "pod_identity_service_accounts" {
  description = "The service accounts (namespace/name) the controllers' roles are bound to, by controller."
  value       = { for k, c in local.controllers : k => "${c.namespace}/${c.service_account}" }
}
