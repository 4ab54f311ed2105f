//! The built-in roles: `role:readonly` reads everything, `role:admin` may do anything, and the
//! local `admin` account is an admin.

/// The built-in policy lines.
pub(crate) const POLICY: &str = "\
# Read-only access to every resource.
p, role:readonly, applications, get, */*, allow
p, role:readonly, applicationsets, get, */*, allow
p, role:readonly, logs, get, */*, allow
p, role:readonly, projects, get, *, allow
p, role:readonly, clusters, get, *, allow
p, role:readonly, repositories, get, *, allow
p, role:readonly, write-repositories, get, *, allow
p, role:readonly, certificates, get, *, allow
p, role:readonly, gpgkeys, get, *, allow
p, role:readonly, accounts, get, *, allow
# Everything, on every resource.
g, role:admin, role:readonly
p, role:admin, applications, *, */*, allow
p, role:admin, applicationsets, *, */*, allow
p, role:admin, logs, *, */*, allow
p, role:admin, exec, *, */*, allow
p, role:admin, projects, *, *, allow
p, role:admin, clusters, *, *, allow
p, role:admin, repositories, *, *, allow
p, role:admin, write-repositories, *, *, allow
p, role:admin, certificates, *, *, allow
p, role:admin, gpgkeys, *, *, allow
p, role:admin, accounts, *, *, allow
g, admin, role:admin
";
