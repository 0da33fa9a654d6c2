# The VPC as XEnvironment lays one out (function/network/layout.h): each
# tier has a fixed share of the block and eight zone slots in it, a zone
# taking the slot of its letter, so adding or removing a zone never moves
# another's subnets. Names follow the composed ones: <name>-<tier>-<zone>.
locals {
  letters = ["a", "b", "c", "d", "e", "f", "g", "h"]
  slots   = { for z in var.zones : z => index(local.letters, z) }
  shares = {
    private  = cidrsubnet(var.vpc_cidr, 1, 0)
    public   = cidrsubnet(var.vpc_cidr, 2, 2)
    database = cidrsubnet(var.vpc_cidr, 2, 3)
  }
  subnets = merge([
    for tier, share in local.shares : {
      for zone, slot in local.slots : "${tier}-${zone}" => {
        tier = tier
        zone = zone
        cidr = cidrsubnet(share, 3, slot)
      }
    }
  ]...)
  nat_zones = var.nat_strategy == "PerZone" ? var.zones : [var.zones[0]]
  tags = merge(var.tags, {
    "platform.terraforming.io/environment" = var.name
    "platform.terraforming.io/managed-by"  = "bootstrap"
  })
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.name }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.name}-igw" }
}

# Nothing gets a public address by default, not even in public subnets,
# which hold the NAT gateways and internet-facing load balancers.
resource "aws_subnet" "this" {
  for_each                = local.subnets
  vpc_id                  = aws_vpc.this.id
  availability_zone       = "${var.region}${each.value.zone}"
  cidr_block              = each.value.cidr
  map_public_ip_on_launch = false
  tags = merge(
    {
      Name                            = "${var.name}-${each.value.tier}-${each.value.zone}"
      "platform.terraforming.io/tier" = each.value.tier
    },
    each.value.tier == "public" ? { "kubernetes.io/role/elb" = "1" } : {},
    each.value.tier == "private" ? { "kubernetes.io/role/internal-elb" = "1" } : {},
    each.value.tier != "database" ? { "kubernetes.io/cluster/${var.name}" = "shared" } : {},
  )
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.name}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  for_each       = local.slots
  subnet_id      = aws_subnet.this["public-${each.key}"].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  for_each = toset(local.nat_zones)
  domain   = "vpc"
  tags     = { Name = "${var.name}-nat-${each.key}" }
}

resource "aws_nat_gateway" "this" {
  for_each      = toset(local.nat_zones)
  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.this["public-${each.key}"].id
  tags          = { Name = "${var.name}-nat-${each.key}" }
  depends_on    = [aws_internet_gateway.this]
}

# Private and database subnets of a zone share its table: out through the
# zone's NAT gateway (or the only one).
resource "aws_route_table" "private" {
  for_each = local.slots
  vpc_id   = aws_vpc.this.id
  tags     = { Name = "${var.name}-private-${each.key}" }
}

resource "aws_route" "private_nat" {
  for_each               = local.slots
  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[contains(local.nat_zones, each.key) ? each.key : local.nat_zones[0]].id
}

resource "aws_route_table_association" "private" {
  for_each       = { for k, s in local.subnets : k => s if s.tier != "public" }
  subnet_id      = aws_subnet.this[each.key].id
  route_table_id = aws_route_table.private[each.value.zone].id
}
