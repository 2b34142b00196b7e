//! Planning: proposing a plan from the latest screening, quoting it from
//! the clinic's price list, and freezing the consent that is signed.

use crate::screening::{freshness, with_birth_date};
use crate::{Actor, Context, Error, Result};
use jiff::civil::Date;
use needlepoint_domain::Invalid;
use needlepoint_store::{Patient, StoreError};

/// The clinic's price list for quoting.
pub async fn clinic_price_list(
    cx: &Context,
    clinic_id: i64,
) -> Result<needlepoint_domain::pricing::PriceList, StoreError> {
    let pricing = cx.store.clinic_pricing(clinic_id).await?;
    let items: Vec<_> = cx
        .store
        .price_items(clinic_id)
        .await?
        .into_iter()
        .filter(|i| i.active)
        .map(|i| i.details)
        .collect();
    Ok(needlepoint_domain::clinic::price_list(&pricing, &items))
}

/// A quote for a plan, or why there is none (a missing price).
pub async fn quote_for(
    cx: &Context,
    clinic_id: i64,
    plan: &needlepoint_domain::plan::Plan,
) -> Result<Result<needlepoint_domain::pricing::Quote, Invalid>, StoreError> {
    let list = clinic_price_list(cx, clinic_id).await?;
    Ok(list.quote(&plan.priced_tracks(), &plan.addons))
}

/// Proposes and saves a plan from the patient's current history and their
/// latest screening, which must be current. Only clinicians plan.
pub async fn create(
    cx: &Context,
    actor: &Actor,
    p: &Patient,
    device: &str,
) -> Result<needlepoint_store::PlanRecord> {
    crate::access::clinic(actor, p.clinic_id)?;
    if !actor.is_clinical() {
        return Err(Error::Forbidden("Only a clinician plans a course.".into()));
    }
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let today = cx.clinic_today(p.clinic_id).await?;
    let current = cx.store.current_history(p.id).await?;
    let Some(s) = cx.store.screenings(p.id).await?.into_iter().next() else {
        return Err(Error::refused("Screen the patient before planning."));
    };
    if let Some(why) = freshness(
        &s,
        current.as_ref().map(|v| v.version),
        kb.screening.max_age_days,
        today,
    )
    .stale
    {
        return Err(Error::refused(format!(
            "The latest screening is stale: {why} Screen again before planning."
        )));
    }
    let Some(model) = kb.devices.iter().find(|d| d.code == device) else {
        return Err(Error::invalid("device", "Choose a device."));
    };
    let history = with_birth_date(p, current.as_ref());
    let proposal = needlepoint_domain::planning::propose(&kb, &history, &s.result, model, today)?;
    let plan = needlepoint_domain::plan::Plan::from_proposal(&proposal, device);
    let quote = quote_for(cx, p.clinic_id, &plan).await?.ok();
    Ok(cx
        .store
        .create_plan(
            p.id,
            p.clinic_id,
            s.id,
            &proposal,
            &plan,
            &[],
            quote.as_ref(),
            &actor.audit,
            cx.now(),
        )
        .await?)
}

/// The consent document for the plan's current version, with the
/// patient's choices appended, and its SHA-256: what is signed and kept.
pub fn frozen_consent(
    document: &str,
    photo_use: needlepoint_domain::plan::PhotoUse,
    typed_name: &str,
    guardian: Option<&str>,
    signed_on: Date,
) -> (String, String) {
    use sha2::{Digest, Sha256};
    let guardian = guardian
        .map(|g| format!("Signed also by a parent or guardian (typed name): {g}\n"))
        .unwrap_or_default();
    let text = format!(
        "{document}\nPhoto use chosen: {}\nSigned by (typed name): {typed_name}\n{guardian}Date: {signed_on}\n",
        photo_use.label()
    );
    let hash = hex(&Sha256::digest(text.as_bytes()));
    (text, hash)
}

/// A drawn signature: a PNG data URL of sensible size.
pub fn check_signature(data_url: &str) -> Result<(), String> {
    const PREFIX: &str = "data:image/png;base64,";
    const MAX_BYTES: usize = 300 * 1024;
    let Some(b64) = data_url.strip_prefix(PREFIX) else {
        return Err("Draw your signature in the box.".into());
    };
    if b64.len() > MAX_BYTES {
        return Err("The signature image is too large.".into());
    }
    // The first bytes of a PNG ("\x89PNG") are "iVBORw0KGgo" in base64.
    if !b64.starts_with("iVBORw0KGgo") || b64.len() < 200 {
        return Err("Draw your signature in the box.".into());
    }
    Ok(())
}

/// Bytes as lower-case hex, as hashes are shown and kept.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How long a link sent to a patient (intake, consent) keeps working.
pub const LINK_DAYS: i64 = 7;

/// The plan `plan_id` and its patient, if the actor may see them.
pub async fn visible(
    cx: &Context,
    actor: &Actor,
    plan_id: i64,
) -> Result<(Patient, needlepoint_store::PlanRecord)> {
    let r = cx.store.plan(plan_id).await?;
    let p = crate::access::patient(cx, actor, r.patient_id).await?;
    Ok((p, r))
}

/// The plan and its patient; the view is audited.
pub async fn view(
    cx: &Context,
    actor: &Actor,
    plan_id: i64,
) -> Result<(Patient, needlepoint_store::PlanRecord)> {
    let (p, r) = visible(cx, actor, plan_id).await?;
    let ev = needlepoint_store::AuditEvent::new("view", "plan", Some(plan_id)).patient(p.id);
    cx.store.record_audit(&actor.audit, &ev, cx.now()).await?;
    Ok((p, r))
}

fn clinical_only(actor: &Actor) -> Result<()> {
    if actor.is_clinical() {
        Ok(())
    } else {
        Err(Error::Forbidden("Only a clinician changes a plan.".into()))
    }
}

/// Saves a clinician's edit of the plan, if `version` is still current:
/// every value outside the guideline needs its reason (and is flagged), the
/// device stays the proposal's, and the quote is made again.
pub async fn edit(
    cx: &Context,
    actor: &Actor,
    plan_id: i64,
    version: i64,
    plan: &needlepoint_domain::plan::Plan,
) -> Result<needlepoint_store::PlanRecord> {
    let (p, r) = visible(cx, actor, plan_id).await?;
    clinical_only(actor)?;
    if plan.device != r.plan.device {
        return Err(Error::invalid(
            "plan.device",
            "Propose a new plan to change the device.",
        ));
    }
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let flags = plan.check(&kb, &r.proposal)?;
    let quote = quote_for(cx, p.clinic_id, plan).await?.ok();
    Ok(cx
        .store
        .update_plan(
            plan_id,
            version,
            plan,
            &flags,
            quote.as_ref(),
            &actor.audit,
            cx.now(),
        )
        .await?)
}

/// Moves the plan on: accepting or starting needs a consent signed for the
/// plan as it stands, cancelling needs a reason (checked by the record).
pub async fn set_status(
    cx: &Context,
    actor: &Actor,
    plan_id: i64,
    to: needlepoint_domain::plan::PlanStatus,
    reason: Option<&str>,
) -> Result<needlepoint_store::PlanRecord> {
    visible(cx, actor, plan_id).await?;
    clinical_only(actor)?;
    let r = cx
        .store
        .set_plan_status(plan_id, to, reason, &actor.audit, cx.now())
        .await?;
    // A cancelled plan's package gives back its unused sessions by the
    // clinic's rule (a credit note; the money stays on account to refund).
    if to == needlepoint_domain::plan::PlanStatus::Cancelled {
        let open = cx
            .store
            .patient_account(r.patient_id)
            .await?
            .packages
            .into_iter()
            .filter(|k| k.plan_id == plan_id && k.closed_at.is_none());
        for k in open {
            let why: String = format!(
                "The plan was cancelled: {}",
                reason.unwrap_or("no reason given")
            )
            .chars()
            .take(300)
            .collect();
            crate::billing::cancel_package(cx, actor, k.id, &why).await?;
        }
    }
    Ok(r)
}

/// The consent document for the plan as it stands: what the patient reads
/// and signs.
pub async fn consent_document(
    cx: &Context,
    p: &Patient,
    r: &needlepoint_store::PlanRecord,
) -> Result<String> {
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let clinic = cx.store.clinic(p.clinic_id).await?.details.name;
    let history = with_birth_date(p, cx.store.current_history(p.id).await?.as_ref());
    Ok(needlepoint_domain::plan::consent_text(
        &kb,
        &r.plan,
        r.quote.as_ref(),
        &p.details.full_name(),
        &clinic,
        &history,
    ))
}

/// A consent as the patient gave it: the plan version they read, how their
/// photos may be used, their typed name and drawn signature.
#[derive(Debug, Clone, Default)]
pub struct ConsentInput {
    pub version: Option<i64>,
    pub photo_use: String,
    pub typed_name: String,
    pub signature: String,
    /// For a patient under age (see [`guardian_needed`]): the parent or
    /// guardian who signs as well, how they are related, and their signature.
    pub guardian_name: String,
    pub guardian_relationship: String,
    pub guardian_signature: String,
    pub ip: Option<String>,
}

/// Whether a parent or guardian signs this patient's consent too: under
/// the age the knowledge base's guardian rule names, on `today`.
pub fn guardian_needed(
    kb: &needlepoint_domain::knowledge::KnowledgeBase,
    p: &Patient,
    today: Date,
) -> bool {
    kb.guardian_under().is_some_and(|years| {
        needlepoint_domain::patient::age_on(p.details.date_of_birth, today) < i16::from(years)
    })
}

/// Checks a consent and freezes the document with the patient's choices.
async fn consent(
    cx: &Context,
    p: &Patient,
    r: &needlepoint_store::PlanRecord,
    c: &ConsentInput,
) -> Result<needlepoint_store::NewConsent> {
    use needlepoint_domain::plan::PhotoUse;
    let mut inv = Invalid::default();
    if c.version != Some(r.version) {
        inv.push(
            "version",
            "The plan changed while you were reading; read the new version and sign again.",
        );
    }
    let photo_use = PhotoUse::parse(&c.photo_use);
    if photo_use.is_none() {
        inv.push("photo_use", "Choose how your photos may be used.");
    }
    let typed = needlepoint_domain::validation::required_line("typed_name", &c.typed_name, 120);
    let typed = inv.check(typed.map_err(|e| {
        needlepoint_domain::FieldError::new(
            "typed_name",
            format!("Type your full name. {}", e.message),
        )
    }));
    if let Err(m) = check_signature(&c.signature) {
        inv.push("signature", m);
    }
    let today = cx.clinic_today(p.clinic_id).await?;
    let kb = cx.clinic_kb(p.clinic_id).await?;
    let guardian = if guardian_needed(&kb, p, today) {
        let name = inv.check(
            needlepoint_domain::validation::required_line("guardian_name", &c.guardian_name, 120)
                .map_err(|e| {
                    needlepoint_domain::FieldError::new(
                        "guardian_name",
                        format!(
                            "You are under 18: a parent or guardian types their full name too. {}",
                            e.message
                        ),
                    )
                }),
        );
        let relationship = inv.check(
            needlepoint_domain::validation::required_line(
                "guardian_relationship",
                &c.guardian_relationship,
                60,
            )
            .map_err(|e| {
                needlepoint_domain::FieldError::new(
                    "guardian_relationship",
                    format!(
                        "Say how the parent or guardian is related to you, like mother. {}",
                        e.message
                    ),
                )
            }),
        );
        if let Err(m) = check_signature(&c.guardian_signature) {
            inv.push(
                "guardian_signature",
                m.replace("your signature", "the parent's or guardian's signature"),
            );
        }
        name.zip(relationship)
            .map(|(n, rel)| (format!("{n} ({rel})"), c.guardian_signature.clone()))
    } else {
        None
    };
    inv.into_result()?;
    let (Some(photo_use), Some(typed)) = (photo_use, typed) else {
        unreachable!("checked above");
    };
    let document = consent_document(cx, p, r).await?;
    let (text, sha256) = frozen_consent(
        &document,
        photo_use,
        &typed,
        guardian.as_ref().map(|g| g.0.as_str()),
        today,
    );
    Ok(needlepoint_store::NewConsent {
        plan_id: r.id,
        plan_version: r.version,
        text,
        sha256,
        photo_use: photo_use.as_str().into(),
        typed_name: typed,
        signature: c.signature.clone(),
        guardian,
        ip: c.ip.clone(),
    })
}

/// The patient signs in the clinic, with a member of staff present.
pub async fn sign_consent(
    cx: &Context,
    actor: &Actor,
    plan_id: i64,
    c: &ConsentInput,
) -> Result<needlepoint_store::ConsentRecord> {
    let (p, r) = visible(cx, actor, plan_id).await?;
    let new = consent(cx, &p, &r, c).await?;
    Ok(cx.store.sign_consent(&new, &actor.audit, cx.now()).await?)
}

/// Makes a single-use consent link for the plan, valid for [`LINK_DAYS`];
/// only the token's hash is kept. Returns when it expires.
pub async fn create_consent_link(
    cx: &Context,
    actor: &Actor,
    plan_id: i64,
    token_hash: &str,
) -> Result<jiff::Timestamp> {
    visible(cx, actor, plan_id).await?;
    let now = cx.now();
    let expires = now + jiff::SignedDuration::from_hours(24 * LINK_DAYS);
    cx.store
        .create_consent_link(plan_id, token_hash, expires, &actor.audit, now)
        .await?;
    Ok(expires)
}

/// The patient and plan a consent link is for, or why it cannot be used.
pub async fn by_consent_link(
    cx: &Context,
    token_hash: &str,
) -> Result<
    std::result::Result<(Patient, needlepoint_store::PlanRecord), needlepoint_store::LinkRefusal>,
> {
    let plan_id = match cx.store.consent_link(token_hash, cx.now()).await? {
        Ok(id) => id,
        Err(r) => return Ok(Err(r)),
    };
    let r = cx.store.plan(plan_id).await?;
    Ok(Ok((cx.store.patient(r.patient_id).await?, r)))
}

/// The patient signs through a link: the link is used up with the signing.
pub async fn sign_consent_by_link(
    cx: &Context,
    token_hash: &str,
    p: &Patient,
    r: &needlepoint_store::PlanRecord,
    c: &ConsentInput,
) -> Result<std::result::Result<needlepoint_store::ConsentRecord, needlepoint_store::LinkRefusal>> {
    let new = consent(cx, p, r, c).await?;
    Ok(cx
        .store
        .sign_consent_by_link(token_hash, &new, cx.now())
        .await?)
}
