# IAM roles of the controllers that run in the management cluster, given to
# their service accounts with EKS Pod Identity (no keys anywhere):
#   crossplane-system/provider-aws        Upbound's AWS provider families
#                                          (the default DeploymentRuntimeConfig
#                                          names their service account so)
#   crossplane-system/provider-workloads  OpenTofu runs, this module included
#   capa-system/capa-controller-manager   Cluster API Provider AWS
# Their permissions are variables: the defaults are broad because these
# controllers create VPCs, clusters and IAM roles; narrow them per account.
variable "controller_policy_arns" {
  description = "Managed policies attached to each controller's role, by controller (crossplane, workloads, capa)."
  type        = map(list(string))
  default = {
    crossplane = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    workloads  = ["arn:aws:iam::aws:policy/AdministratorAccess"]
    capa       = ["arn:aws:iam::aws:policy/AdministratorAccess"]
  }
  validation {
    condition     = alltrue([for k in ["crossplane", "workloads", "capa"] : contains(keys(var.controller_policy_arns), k)])
    error_message = "controller_policy_arns: needs the keys crossplane, workloads and capa."
  }
}

locals {
  controllers = {
    crossplane = { namespace = var.crossplane_namespace, service_account = "provider-aws" }
    workloads  = { namespace = var.crossplane_namespace, service_account = "provider-workloads" }
    capa       = { namespace = "capa-system", service_account = "capa-controller-manager" }
  }
  controller_policies = merge([
    for controller, arns in var.controller_policy_arns : {
      for arn in arns : "${controller} ${arn}" => { controller = controller, arn = arn }
    }
  ]...)
}

data "aws_iam_policy_document" "pod_identity_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "controller" {
  for_each           = local.controllers
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume.json
}

resource "aws_iam_role_policy_attachment" "controller" {
  for_each   = local.controller_policies
  role       = aws_iam_role.controller[each.value.controller].name
  policy_arn = each.value.arn
}

resource "aws_eks_pod_identity_association" "controller" {
  for_each        = local.controllers
  cluster_name    = aws_eks_cluster.this.name
  namespace       = each.value.namespace
  service_account = each.value.service_account
  role_arn        = aws_iam_role.controller[each.key].arn
  depends_on      = [aws_eks_addon.this]
}
