//! Signing in and out, and knowing who holds a session or an API token:
//! password hashes, login throttling, session lifetimes and first-run
//! setup. Secrets never reach the record: only their hashes do.

use crate::two_factor;
use crate::{Actor, Context, Error, Result};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use jiff::SignedDuration;
use needlepoint_domain::{ClinicDetails, Invalid, Role, SignInPolicy};
use needlepoint_store::{
    Channel, Enrolment, NewStaff, SecondFactor, SignInChallenge, Staff, StaffCredentials,
    StoreError, WebSession,
};
use sha2::{Digest, Sha256};

/// A clinic day and then some; staff sign in again each morning.
pub const SESSION_HOURS: i64 = 12;
/// After this many wrong passwords for one account within the window, sign-in
/// is refused until the window has passed (OWASP's account-lockout advice).
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOGIN_WINDOW_MINUTES: i64 = 15;
/// Time to open an authenticator app (or set one up) after the password.
pub const CHALLENGE_MINUTES: i64 = 10;
/// Wrong codes before a sign-in halfway ends and the password is asked
/// again; each also counts towards [`MAX_FAILED_LOGINS`].
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// A session's last use is written at most this often, so a read does
/// not wait on a write; the idle timeout is exact to within it.
pub const SEEN_EVERY_SECONDS: i64 = 60;
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
    /// Too many wrong passwords or codes for this account lately: wait.
    Throttled,
    /// The e-mail and password match no active account.
    NoMatch,
    /// The authenticator or recovery code is wrong or was used before.
    WrongCode,
    /// The sign-in halfway has expired or had too many wrong codes.
    ChallengeEnded,
}

impl Refusal {
    pub fn message(self) -> String {
        match self {
            Refusal::Throttled => format!(
                "Too many wrong passwords or codes for this account. Wait {LOGIN_WINDOW_MINUTES} minutes and try again, or ask the clinic's owner."
            ),
            Refusal::NoMatch => "That e-mail and password do not match an active account.".into(),
            Refusal::WrongCode => "That code is not right, or was already used. Enter the code your authenticator app shows now, or a recovery code.".into(),
            Refusal::ChallengeEnded => "This sign-in has ended. Sign in again with your e-mail and password.".into(),
        }
    }
}

/// How far a right password gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    /// Signed in: the session's token, for the cookie.
    Session(String),
    /// A second factor comes next (or setting one up, for someone who
    /// must have one): the challenge's token, for a cookie.
    SecondFactor(String),
}

/// Where a sign-in comes from, for the session and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Signs a staff member in by e-mail and password: refused while the
/// account has too many recent wrong passwords or codes; every wrong
/// attempt is recorded. A right password signs in, or leads to the second
/// factor for those who have one or must set one up.
pub async fn sign_in(
    cx: &Context,
    email: &str,
    password: &str,
    from: &Origin,
) -> Result<Result<SignedIn, Refusal>, StoreError> {
    let now = cx.now();
    let email = email.trim().to_lowercase();
    if throttled(cx, &email).await? {
        return Ok(Err(Refusal::Throttled));
    }
    let creds = cx.store.staff_credentials(&email).await?;
    let stored = creds
        .as_ref()
        .filter(|c| c.staff.active)
        .map(|c| c.password_hash.clone());
    let ok = verify_password(password.to_string(), stored).await;
    let Some(c) = creds.filter(|_| ok) else {
        cx.store
            .record_login_attempt(&email, from.ip.as_deref(), false, now)
            .await?;
        return Ok(Err(Refusal::NoMatch));
    };
    if c.authenticator.is_none() && !must_use_two_factor(&c) {
        cx.store
            .record_login_attempt(&email, from.ip.as_deref(), true, now)
            .await?;
        return Ok(Ok(SignedIn::Session(
            start_session(cx, &c.staff, from).await?,
        )));
    }
    // The success is recorded only once the second factor is right: a
    // right password alone must not clear the count of wrong codes.
    Ok(Ok(SignedIn::SecondFactor(
        challenge(cx, c.staff.id, from).await?,
    )))
}

async fn throttled(cx: &Context, email: &str) -> Result<bool, StoreError> {
    let window_start = cx.now() - SignedDuration::from_mins(LOGIN_WINDOW_MINUTES);
    Ok(cx.store.failed_logins_since(email, window_start).await? >= MAX_FAILED_LOGINS)
}

/// Owners always; others when a clinic of theirs asks for it.
pub fn must_use_two_factor(c: &StaffCredentials) -> bool {
    SignInPolicy::two_factor_required(c.staff.role, c.policy.require_two_factor)
}

/// Starts a sign-in halfway for `staff_id`; its token, for a cookie.
async fn challenge(cx: &Context, staff_id: i64, from: &Origin) -> Result<String, StoreError> {
    let now = cx.now();
    let token = random_token();
    cx.store
        .create_sign_in_challenge(&SignInChallenge {
            token_hash: token_hash(&token),
            staff_id,
            created_at: now,
            expires_at: now + SignedDuration::from_mins(CHALLENGE_MINUTES),
            attempts: 0,
            ip: from.ip.clone(),
            user_agent: user_agent(from),
        })
        .await?;
    Ok(token)
}

/// A sign-in halfway, as its page shows it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub staff: Staff,
    /// The authenticator is set up already (else it is set up now).
    pub has_authenticator: bool,
}

/// The sign-in halfway this token belongs to, if it is still open.
pub async fn pending(cx: &Context, challenge_token: &str) -> Result<Option<Pending>, StoreError> {
    Ok(cx
        .store
        .sign_in_challenge(&token_hash(challenge_token), cx.now())
        .await?
        .map(|(_, c)| Pending {
            has_authenticator: c.authenticator.is_some(),
            staff: c.staff,
        }))
}

/// A finished sign-in: the session's token, and the recovery codes to
/// show once when an authenticator was just set up.
#[derive(Debug, Clone)]
pub struct Finished {
    pub session: String,
    pub recovery_codes: Vec<String>,
}

/// The second step of a sign-in: a code from the authenticator (or a
/// recovery code) for someone who has one; for someone setting one up, the
/// new secret and a code that proves the app has it.
pub async fn second_factor(
    cx: &Context,
    challenge_token: &str,
    typed: &str,
    new_secret: Option<&str>,
    from: &Origin,
) -> Result<Result<Finished, Refusal>, StoreError> {
    let now = cx.now();
    let hash = token_hash(challenge_token);
    let Some((_, creds)) = cx.store.sign_in_challenge(&hash, now).await? else {
        return Ok(Err(Refusal::ChallengeEnded));
    };
    let email = creds.staff.email.clone();
    if throttled(cx, &email).await? {
        return Ok(Err(Refusal::Throttled));
    }
    let mut recovery_codes = vec![];
    let factor = match (&creds.authenticator, new_secret) {
        (Some(a), _) if two_factor::looks_like_code(typed) => {
            two_factor::matching_step(&a.secret, typed, now, a.last_step)
                .map(|step| SecondFactor::Code { step })
        }
        (Some(_), _) => Some(SecondFactor::RecoveryCode {
            code_hash: two_factor::recovery_code_hash(typed),
        }),
        (None, Some(secret)) => two_factor::matching_step(secret, typed, now, None).map(|step| {
            recovery_codes = two_factor::new_recovery_codes();
            SecondFactor::Enrol(enrolment(secret, step, &recovery_codes))
        }),
        (None, None) => None,
    };
    let token = random_token();
    let result = match factor {
        Some(f) => {
            let session = new_session(&token, &creds.staff, from, now);
            let actor = web_actor(&creds.staff, from);
            match cx.store.complete_sign_in(&hash, &f, &session, &actor).await {
                Ok(()) => Ok(()),
                Err(StoreError::Conflict(_)) => Err(()),
                Err(e) => return Err(e),
            }
        }
        None => Err(()),
    };
    if result.is_err() {
        cx.store
            .record_login_attempt(&email, from.ip.as_deref(), false, now)
            .await?;
        let attempts = cx
            .store
            .fail_sign_in_challenge(&hash, MAX_CODE_ATTEMPTS)
            .await?;
        return Ok(Err(if attempts >= MAX_CODE_ATTEMPTS {
            Refusal::ChallengeEnded
        } else {
            Refusal::WrongCode
        }));
    }
    cx.store
        .record_login_attempt(&email, from.ip.as_deref(), true, now)
        .await?;
    Ok(Ok(Finished {
        session: token,
        recovery_codes,
    }))
}

fn enrolment(secret: &str, step: i64, recovery_codes: &[String]) -> Enrolment {
    Enrolment {
        secret: secret.to_string(),
        step,
        recovery_code_hashes: hashes(recovery_codes),
    }
}

/// What is kept of recovery codes: their hashes.
fn hashes(recovery_codes: &[String]) -> Vec<String> {
    recovery_codes
        .iter()
        .map(|c| two_factor::recovery_code_hash(c))
        .collect()
}

/// Sets up (or replaces) the signed-in actor's authenticator from the new
/// secret and a code it shows; the new recovery codes, to show once.
pub async fn enable_two_factor(
    cx: &Context,
    actor: &Actor,
    secret: &str,
    typed: &str,
) -> Result<Vec<String>> {
    let Some(step) = two_factor::matching_step(secret, typed, cx.now(), None) else {
        return Err(Invalid::one(
            "code",
            "That code does not match. Enter the six digits your authenticator app shows now.",
        )
        .into());
    };
    let codes = two_factor::new_recovery_codes();
    cx.store
        .enable_two_factor(
            actor.staff.id,
            &enrolment(secret, step, &codes),
            &actor.audit,
            cx.now(),
        )
        .await?;
    Ok(codes)
}

/// How the actor signs in: a second factor required of them or not, how
/// many recovery codes are left, and their idle timeout.
#[derive(Debug, Clone)]
pub struct SignInState {
    pub two_factor_required: bool,
    pub recovery_codes_left: i64,
    pub idle_minutes: u32,
}

pub async fn sign_in_state(cx: &Context, actor: &Actor) -> Result<SignInState> {
    let creds = own_credentials(cx, actor).await?;
    Ok(SignInState {
        two_factor_required: must_use_two_factor(&creds),
        recovery_codes_left: cx.store.recovery_codes_left(actor.staff.id).await?,
        idle_minutes: creds.policy.idle_minutes,
    })
}

/// Confirms the actor's password before a change to how they sign in.
async fn confirm_password(creds: &StaffCredentials, password: &str) -> Result<()> {
    if verify_password(password.to_string(), Some(creds.password_hash.clone())).await {
        Ok(())
    } else {
        Err(Invalid::one("password", "That is not your password.").into())
    }
}

/// The actor's own credentials, with their clinics' sign-in rules.
async fn own_credentials(cx: &Context, actor: &Actor) -> Result<StaffCredentials> {
    Ok(cx
        .store
        .staff_credentials(&actor.staff.email)
        .await?
        .ok_or(StoreError::NotFound)?)
}

/// Turns the actor's own second factor off (their password confirms it);
/// refused to those who must use one. Ends their sessions.
pub async fn disable_two_factor(cx: &Context, actor: &Actor, password: &str) -> Result<()> {
    let creds = own_credentials(cx, actor).await?;
    if must_use_two_factor(&creds) {
        return Err(Error::refused(
            "Your role or clinic requires two-factor sign-in: set up a new authenticator instead of turning it off.",
        ));
    }
    confirm_password(&creds, password).await?;
    Ok(cx
        .store
        .disable_two_factor(actor.staff.id, &actor.audit, cx.now())
        .await?)
}

/// New recovery codes for the actor (their password confirms it); the
/// old ones stop working.
pub async fn new_recovery_codes(
    cx: &Context,
    actor: &Actor,
    password: &str,
) -> Result<Vec<String>> {
    confirm_password(&own_credentials(cx, actor).await?, password).await?;
    if actor.staff.two_factor_since.is_none() {
        return Err(Error::refused("Set up an authenticator first."));
    }
    let codes = two_factor::new_recovery_codes();
    cx.store
        .replace_recovery_codes(actor.staff.id, &hashes(&codes), &actor.audit, cx.now())
        .await?;
    Ok(codes)
}

/// An owner removes a colleague's authenticator (a lost phone and lost
/// recovery codes); they set a new one up at their next sign-in.
pub async fn reset_two_factor(cx: &Context, actor: &Actor, staff_id: i64) -> Result<()> {
    let staff = cx.store.staff(staff_id).await?;
    if actor.role != Role::Owner || staff.organisation_id != actor.staff.organisation_id {
        return Err(Error::Forbidden(
            "Only an owner of the same organisation may reset someone's two-factor sign-in.".into(),
        ));
    }
    Ok(cx
        .store
        .disable_two_factor(staff_id, &actor.audit, cx.now())
        .await?)
}

/// Records a new session for `staff` (audited as a sign-in) and returns its
/// token; only the hash is stored.
async fn start_session(cx: &Context, staff: &Staff, from: &Origin) -> Result<String, StoreError> {
    let token = random_token();
    let session = new_session(&token, staff, from, cx.now());
    cx.store
        .create_session(&session, &web_actor(staff, from))
        .await?;
    Ok(token)
}

fn new_session(token: &str, staff: &Staff, from: &Origin, now: jiff::Timestamp) -> WebSession {
    WebSession {
        token_hash: token_hash(token),
        staff_id: staff.id,
        created_at: now,
        expires_at: now + SignedDuration::from_hours(SESSION_HOURS),
        last_seen_at: now,
        ip: from.ip.clone(),
        user_agent: user_agent(from),
    }
}

fn user_agent(from: &Origin) -> Option<String> {
    from.user_agent
        .as_ref()
        .map(|s| s.chars().take(200).collect())
}

/// How the audit trail names someone signing in on the web.
fn web_actor(staff: &Staff, from: &Origin) -> needlepoint_store::Actor {
    needlepoint_store::Actor {
        staff_id: Some(staff.id),
        label: staff.email.clone(),
        channel: Channel::Web,
        ip: from.ip.clone(),
    }
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
            let hash = token_hash(sid);
            let Some(used) = cx.store.session(&hash, now).await? else {
                return Ok(None);
            };
            // Idle too long at the strictest of the staff member's clinics:
            // the session has ended, as if it had expired.
            let idle = now.duration_since(used.session.last_seen_at);
            if idle > SignedDuration::from_mins(i64::from(used.policy.idle_minutes)) {
                return Ok(None);
            }
            if idle >= SignedDuration::from_secs(SEEN_EVERY_SECONDS) {
                cx.store.touch_session(&hash, now).await?;
            }
            Some(Holder {
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

/// Creates the organisation, its first clinic and its owner, and starts
/// the owner's sign-in at setting up an authenticator (owners always sign
/// in with one): the challenge's token. `None` when someone finished setup
/// a moment earlier.
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
    Ok(Some(challenge(cx, staff.id, from).await?))
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
