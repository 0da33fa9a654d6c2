// Names of AWS resources derived from Kubernetes names (an XR's name, its
// namespace), made valid for the service that takes them.
//
// Every helper is a pure function: the same input gives the same name in
// every call and every build, so a derived name never changes under a
// resource that exists. A name that is already valid comes back unchanged,
// so resources named before these rules keep their names; only names AWS
// would have refused are derived differently. The input is a Kubernetes
// name (lower-case letters, digits, '-' and '.'), from which a valid name
// can always be derived: none of these refuses.
#ifndef PLATFORM_FUNCTION_COMPOSE_AWS_NAMES_H_
#define PLATFORM_FUNCTION_COMPOSE_AWS_NAMES_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace platform::fn::compose {

// `name` when it has at most `max` characters; else as much of its start as
// fits before "-" and ShortHash(name) (8 hex digits), `max` in all, with no
// '-' left at the end of the part kept. `max` must be at least 10.
std::string Shorten(std::string_view name, std::size_t max);

// An EC2 security group name (GroupName): at most 255 characters, and never
// starting with "sg-", which EC2 reserves for group ids. Such a name gets
// the prefix "platform_": '_' never occurs in Kubernetes names, so the
// result cannot collide with a name derived from another XR.
std::string SecurityGroupName(std::string_view name);

// An RDS DB instance or cluster identifier: 1 to 60 characters (room for the
// "-1" of an Aurora instance and "-final" of a snapshot within RDS's 63), a
// letter first, then lower-case letters, digits and single hyphens, no
// hyphen last. Other characters become '-'; a name not starting with a
// letter gets "db-" in front; a longer one is shortened with a hash.
std::string RdsIdentifier(std::string_view name);

// The identifier of an RDS database's final snapshot: `identifier` (an
// RdsIdentifier), "-final" and, when given, "-" and `incarnation` (the XR's
// metadata.uid). RDS keeps a final snapshot after the database is gone, so
// a name of its own alone would collide once a database of the same name is
// created and deleted again; the uid differs per incarnation and stays the
// same for one. Snapshot identifier rules: at most 255 characters, a letter
// first, lower-case letters, digits and single hyphens, no hyphen last.
// Other characters of `incarnation` become '-'; a longer result is
// shortened with a hash.
std::string FinalSnapshotIdentifier(std::string_view identifier, std::string_view incarnation);

// An EKS cluster name: at most 100 characters of letters, digits, '-' and
// '_', a letter or digit first. Other characters become '-'; a longer name
// is shortened with a hash.
std::string EksClusterName(std::string_view name);

}  // namespace platform::fn::compose

#endif  // PLATFORM_FUNCTION_COMPOSE_AWS_NAMES_H_
