//! Who may use a route.

use needlepoint_domain::Role;

/// The roles a route admits, declared beside the route itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: sign-in, first-run setup, health, assets.
    Public,
    /// Signed-in staff holding one of these roles.
    Staff(&'static [Role]),
}

/// Every staff role.
pub const ANY_STAFF: Access = Access::Staff(&[Role::Owner, Role::Clinician, Role::FrontDesk]);
/// The clinical record: clinicians, and owners (who are often clinicians).
pub const CLINICAL: Access = Access::Staff(&[Role::Owner, Role::Clinician]);
/// Organisation settings, staff and the audit trail.
pub const OWNER: Access = Access::Staff(&[Role::Owner]);

impl Access {
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Public => true,
            Access::Staff(roles) => roles.contains(&role),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Access::Public => "anyone".into(),
            Access::Staff(roles) => roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}
