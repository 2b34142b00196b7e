//! A staff member's own access: API tokens (never above the role they act
//! with) and the private calendar feed. Secrets are made by the caller;
//! only their hashes reach the record.

use crate::{Actor, Context, Result};
use needlepoint_domain::{Invalid, Role};
use needlepoint_store::ApiToken;

/// Makes an API token named `name` with `role` (as typed), which may not
/// exceed the role the actor acts with.
pub async fn create_token(
    cx: &Context,
    actor: &Actor,
    name: &str,
    role: &str,
    token_hash: &str,
) -> Result<ApiToken> {
    let mut inv = Invalid::default();
    let name = inv.check(needlepoint_domain::validation::required_line(
        "name", name, 80,
    ));
    let role = inv.check(Role::parse(role));
    if role.is_some_and(|r| !actor.role.may_grant(r)) {
        inv.push(
            "role",
            "A token cannot have more rights than the role you act with.",
        );
    }
    inv.into_result()?;
    let (Some(name), Some(role)) = (name, role) else {
        unreachable!("checked above");
    };
    Ok(cx
        .store
        .create_api_token(
            actor.staff.id,
            &name,
            token_hash,
            role,
            &actor.audit,
            cx.now(),
        )
        .await?)
}

/// Revokes one of the actor's own tokens.
pub async fn revoke_token(cx: &Context, actor: &Actor, id: i64) -> Result<()> {
    Ok(cx
        .store
        .revoke_api_token(id, actor.staff.id, &actor.audit, cx.now())
        .await?)
}

/// A new private calendar feed for the actor; the old one stops working.
pub async fn replace_calendar_feed(cx: &Context, actor: &Actor, token_hash: &str) -> Result<()> {
    Ok(cx
        .store
        .replace_calendar_feed(actor.staff.id, token_hash, &actor.audit, cx.now())
        .await?)
}

pub async fn revoke_calendar_feeds(cx: &Context, actor: &Actor) -> Result<()> {
    Ok(cx
        .store
        .revoke_calendar_feeds(actor.staff.id, &actor.audit, cx.now())
        .await?)
}

/// The actor's own live sessions, newest first.
pub async fn sessions(cx: &Context, actor: &Actor) -> Result<Vec<needlepoint_store::WebSession>> {
    Ok(cx.store.staff_sessions(actor.staff.id, cx.now()).await?)
}

/// Ends every session of the actor's, this one included: for a lost phone
/// or a shared computer left signed in.
pub async fn sign_out_everywhere(cx: &Context, actor: &Actor) -> Result<u64> {
    Ok(cx
        .store
        .end_staff_sessions(actor.staff.id, &actor.audit, cx.now())
        .await?)
}
