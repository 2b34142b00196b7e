//! Signing in and out, and knowing who holds a session or an API token:
//! password hashes, login throttling, session lifetimes and first-run
//! setup. Secrets never reach the record: only their hashes do.

use crate::{Actor, Context, Error, Result};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use jiff::SignedDuration;
use needlepoint_domain::{ClinicDetails, Role};
use needlepoint_store::{Channel, NewStaff, Staff, StoreError, WebSession};
use sha2::{Digest, Sha256};

/// A clinic day and then some; staff sign in again each morning.
pub const SESSION_HOURS: i64 = 12;
/// After this many wrong passwords for one account within the window, sign-in
/// is refused until the window has passed (OWASP's account-lockout advice).
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOGIN_WINDOW_MINUTES: i64 = 15;
/// API tokens start with this, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "np_";

/// 32 random bytes as hex: session ids, CSRF tokens, API tokens, links.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Only hashes of session ids, tokens and links are stored: a copy of the
/// database does not let anyone sign in or open a link.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes), off the async threads.
pub async fn hash_password(password: String) -> Result<String> {
    let failed = |e: String| Error::Internal(format!("hashing a password failed: {e}"));
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| failed(e.to_string()))
    })
    .await
    .map_err(|e| failed(e.to_string()))?
}

/// A hash made once with the same parameters as every new password hash:
/// a sign-in for an unknown e-mail is checked against it, so it does the
/// same work as a wrong password for a real account (one Argon2 check),
/// and the answer's timing does not tell which addresses have accounts.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"timing-equaliser", &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks a password against the stored hash, or without one against the
/// dummy hash (see [`dummy_hash`]): the same work either way.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        // Made on the first call of either kind, so neither pays alone.
        let dummy = dummy_hash();
        let hash = stored.as_deref().unwrap_or(dummy);
        let ok = PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many wrong passwords for this account lately: wait.
    Throttled,
    /// The e-mail and password match no active account.
    NoMatch,
}

impl Refusal {
    pub fn message(self) -> String {
        match self {
            Refusal::Throttled => format!(
                "Too many wrong passwords for this account. Wait {LOGIN_WINDOW_MINUTES} minutes and try again, or ask the clinic's owner."
            ),
            Refusal::NoMatch => "That e-mail and password do not match an active account.".into(),
        }
    }
}

/// Where a sign-in comes from, for the session and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Signs a staff member in by e-mail and password: refused while the
/// account has too many recent wrong passwords; every attempt is recorded.
/// On success, the new session's token (for the cookie).
pub async fn sign_in(
    cx: &Context,
    email: &str,
    password: &str,
    from: &Origin,
) -> Result<Result<String, Refusal>, StoreError> {
    let now = cx.now();
    let email = email.trim().to_lowercase();
    let window_start = now - SignedDuration::from_mins(LOGIN_WINDOW_MINUTES);
    if cx.store.failed_logins_since(&email, window_start).await? >= MAX_FAILED_LOGINS {
        return Ok(Err(Refusal::Throttled));
    }
    let creds = cx.store.staff_credentials(&email).await?;
    let stored = creds
        .as_ref()
        .filter(|c| c.staff.active)
        .map(|c| c.password_hash.clone());
    let ok = verify_password(password.to_string(), stored).await;
    cx.store
        .record_login_attempt(&email, from.ip.as_deref(), ok, now)
        .await?;
    match creds.filter(|_| ok) {
        Some(c) => Ok(Ok(start_session(cx, &c.staff, from).await?)),
        None => Ok(Err(Refusal::NoMatch)),
    }
}

/// Records a new session for `staff` (audited as a sign-in) and returns its
/// token; only the hash is stored.
async fn start_session(cx: &Context, staff: &Staff, from: &Origin) -> Result<String, StoreError> {
    let now = cx.now();
    let token = random_token();
    let session = WebSession {
        token_hash: token_hash(&token),
        staff_id: staff.id,
        created_at: now,
        expires_at: now + SignedDuration::from_hours(SESSION_HOURS),
        ip: from.ip.clone(),
        user_agent: from
            .user_agent
            .as_ref()
            .map(|s| s.chars().take(200).collect()),
    };
    let actor = needlepoint_store::Actor {
        staff_id: Some(staff.id),
        label: staff.email.clone(),
        channel: Channel::Web,
        ip: from.ip.clone(),
    };
    cx.store.create_session(&session, &actor).await?;
    Ok(token)
}

/// Ends the session whose token the actor holds.
pub async fn sign_out(cx: &Context, actor: &Actor, session_token: &str) -> Result<(), StoreError> {
    cx.store
        .delete_session(&token_hash(session_token), &actor.audit, cx.now())
        .await
}

/// What a request presents to say who it is.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// An API token (`Authorization: Bearer`).
    Token(&'a str),
    /// A session cookie's token.
    Session(&'a str),
}

/// Who holds a credential, if it is valid now: the staff member, the role
/// in force (a token never acts above its owner's current role), their
/// clinics, and the token's name for the audit trail.
#[derive(Debug, Clone)]
pub struct Holder {
    pub staff: Staff,
    pub role: Role,
    pub clinic_ids: Vec<i64>,
    pub token_name: Option<String>,
}

pub async fn identify(cx: &Context, c: Credential<'_>) -> Result<Option<Holder>, StoreError> {
    let now = cx.now();
    Ok(match c {
        Credential::Token(t) => cx
            .store
            .use_api_token(&token_hash(t.trim()), now)
            .await?
            .map(|used| Holder {
                role: if used.staff.role.may_grant(used.token.role) {
                    used.token.role
                } else {
                    used.staff.role
                },
                token_name: Some(used.token.name),
                staff: used.staff,
                clinic_ids: used.clinic_ids,
            }),
        Credential::Session(sid) => {
            cx.store
                .session(&token_hash(sid), now)
                .await?
                .map(|used| Holder {
                    role: used.staff.role,
                    token_name: None,
                    staff: used.staff,
                    clinic_ids: used.clinic_ids,
                })
        }
    })
}

/// The first run: what setup asks for, already checked.
#[derive(Debug, Clone)]
pub struct FirstRun {
    pub organisation: String,
    pub clinic: ClinicDetails,
    pub owner_name: String,
    pub owner_email: String,
    pub password: String,
}

/// Creates the organisation, its first clinic and its owner, and signs the
/// owner in. `None` when someone finished setup a moment earlier.
pub async fn set_up(cx: &Context, first: &FirstRun, from: &Origin) -> Result<Option<String>> {
    let owner = NewStaff {
        organisation_id: 0,
        email: first.owner_email.clone(),
        name: first.owner_name.clone(),
        role: Role::Owner,
        password_hash: hash_password(first.password.clone()).await?,
        practitioner: None,
        clinic_ids: vec![],
    };
    let actor = needlepoint_store::Actor {
        staff_id: None,
        label: format!("first-run setup ({})", first.owner_email),
        channel: Channel::Web,
        ip: from.ip.clone(),
    };
    let staff = match cx
        .store
        .setup(&first.organisation, &first.clinic, &owner, &actor, cx.now())
        .await
    {
        Ok((_, _, staff)) => staff,
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(start_session(cx, &staff, from).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrong password for a real account and any password for an unknown
    /// e-mail do the same work: one Argon2 check with the same parameters.
    /// Measured interleaved (so a busy machine slows both alike), their
    /// times overlap; before, the unknown address hashed and then checked,
    /// twice the work, and the two never overlapped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_and_known_addresses_take_as_long() {
        let real = hash_password("the real password".into()).await.unwrap();
        let params = |h: &str| {
            let h = PasswordHash::new(h).unwrap();
            (h.algorithm.to_string(), h.version, h.params.to_string())
        };
        assert_eq!(params(&real), params(dummy_hash()), "the same parameters");
        let time = |stored: Option<String>| async move {
            let t = std::time::Instant::now();
            assert!(!verify_password("a wrong guess".into(), stored).await);
            t.elapsed()
        };
        time(None).await; // both paths warm
        let (mut known, mut unknown) = (vec![], vec![]);
        for _ in 0..12 {
            known.push(time(Some(real.clone())).await);
            unknown.push(time(None).await);
        }
        let range =
            |v: &[std::time::Duration]| (*v.iter().min().unwrap(), *v.iter().max().unwrap());
        let ((k_min, k_max), (u_min, u_max)) = (range(&known), range(&unknown));
        assert!(
            u_min <= k_max && k_min <= u_max,
            "known {k_min:?}..{k_max:?}, unknown {u_min:?}..{u_max:?}: they must overlap"
        );
    }

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn token_hashes_are_stable_hex() {
        assert_eq!(token_hash("abc").len(), 64);
        assert_eq!(token_hash("abc"), token_hash("abc"));
        assert_ne!(random_token(), random_token());
    }
}
