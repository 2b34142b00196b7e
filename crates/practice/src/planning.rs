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
    let areas: Vec<String> = plan.areas.iter().map(|a| a.area.clone()).collect();
    Ok(list.quote(&areas, plan.sessions, &plan.addons))
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
    signed_on: Date,
) -> (String, String) {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{document}\nPhoto use chosen: {}\nSigned by (typed name): {typed_name}\nDate: {signed_on}\n",
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
