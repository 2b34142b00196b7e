//! Charting a session, shared by the pages and the API: what the checklist
//! is evaluated from, and each change to a chart with the rules it must
//! pass first (the rules themselves are in `needlepoint_domain::charting`).

use crate::screening::freshness;
use crate::{Actor, Context, Error, Result};
use jiff::civil::Date;
use needlepoint_domain::charting::{
    self, AmendmentInput, Anaesthetic, Check, ChecklistFacts, ScreeningFact, Signer, ZoneInput,
};
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::plan::PhotoUse;
use needlepoint_domain::Invalid;
use needlepoint_store::{
    Appointment, Chart, ChecklistRecord, Lot, Patient, PlanRecord, StoreError,
};

/// Everything a chart is judged against.
pub struct Session {
    pub chart: Chart,
    pub appointment: Appointment,
    pub patient: Patient,
    pub plan: Option<PlanRecord>,
    pub kb: KnowledgeBase,
    pub today: Date,
    pub zone: String,
    /// The plan's areas planned for this session (the tracks it treats).
    pub planned: Vec<String>,
    /// The areas the signed consent covers (empty without one).
    pub consented: Vec<String>,
    /// The patient's choice of photo use, from the signed consent.
    pub photo_use: Option<PhotoUse>,
    pub checks: Vec<Check>,
    /// Zones the current history bars today, with why.
    pub barred: Vec<charting::Barred>,
}

impl Session {
    pub fn photos_allowed(&self) -> bool {
        self.photo_use != Some(PhotoUse::NoPhotos)
    }
    pub fn ready(&self) -> bool {
        charting::ready(&self.checks)
    }

    /// A signed chart is read-only: every change is refused up front, with
    /// the same words as the store's own check.
    pub fn editable(&self) -> Result<()> {
        if self.chart.is_signed() {
            Err(Error::Refused(vec![
                needlepoint_store::SIGNED_MESSAGE.into()
            ]))
        } else {
            Ok(())
        }
    }
}

/// The chart of an appointment (a session), opened on first use: on the
/// appointment's own day, or on another day with a clinician's reason
/// (refused on the `reason` field without one).
pub async fn open(
    cx: &Context,
    actor: &Actor,
    a: &Appointment,
    off_day_reason: Option<&str>,
) -> Result<Chart> {
    crate::access::clinic(actor, a.clinic_id)?;
    if !a.kind.is_session() {
        return Err(Error::Refused(vec![
            "Only a microneedling session is charted.".into(),
        ]));
    }
    if !a.status.holds_time() {
        return Err(Error::Refused(vec![format!(
            "This appointment is {}; it cannot be charted.",
            a.status.label().to_lowercase()
        )]));
    }
    if let Some(c) = cx.store.chart_for_appointment(a.id).await? {
        return Ok(c);
    }
    let zone = jiff::tz::TimeZone::get(&a.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let day = a.starts_at.to_zoned(zone).date();
    let reason =
        charting::may_open_chart(day, cx.clinic_today(a.clinic_id).await?, off_day_reason)?;
    Ok(cx
        .store
        .open_chart(a, reason.as_deref(), &actor.audit, cx.now())
        .await?)
}

/// The chart `id` with everything it is judged against, if the actor may
/// see it.
pub async fn load(cx: &Context, actor: &Actor, id: i64) -> Result<Session> {
    let chart = crate::access::chart(cx, actor, id).await?;
    Ok(session(cx, chart).await?)
}

/// Reads everything the chart is judged against, as of now.
pub async fn session(cx: &Context, chart: Chart) -> Result<Session, StoreError> {
    let appointment = cx.store.appointment(chart.appointment_id).await?;
    let patient = cx.store.patient(chart.patient_id).await?;
    let mut kb = cx.clinic_kb(chart.clinic_id).await?;
    let today = cx.clinic_today(chart.clinic_id).await?;
    let plan = match chart.plan_id {
        Some(id) => Some(cx.store.plan(id).await?),
        None => None,
    };
    // An area's usual range is the one for the concerns planned there:
    // acne scars on the cheeks use the cheeks' scar range.
    if let Some(p) = &plan {
        for a in &p.plan.areas {
            let Some(depth) = kb.area(&a.area).map(|x| x.depth_for(&kb, &a.indications)) else {
                continue;
            };
            if let Some(x) = kb.areas.iter_mut().find(|x| x.code == a.area) {
                x.depth = depth;
            }
        }
    }
    // The consent in force is one signed for the plan as it stands now.
    let consent = match &plan {
        Some(p) => cx
            .store
            .consents(p.id)
            .await?
            .into_iter()
            .rfind(|c| c.plan_version == p.version),
        None => None,
    };
    // The consent covers every area of the plan; this session treats the
    // areas of the tracks it was booked for.
    let plan_areas: Vec<String> = plan
        .as_ref()
        .map(|p| p.plan.areas.iter().map(|a| a.area.clone()).collect())
        .unwrap_or_default();
    let areas: Vec<String> = plan_areas
        .iter()
        .filter(|a| appointment.areas.as_ref().is_none_or(|x| x.contains(a)))
        .cloned()
        .collect();
    let areas_planned = areas.clone();
    let consented = if consent.is_some() {
        plan_areas
    } else {
        vec![]
    };
    let photo_use = consent.as_ref().and_then(|c| PhotoUse::parse(&c.photo_use));

    let screenings = cx.store.screenings(patient.id).await?;
    let history = cx.store.current_history(patient.id).await?;
    let current = history.as_ref().map(|h| h.version);
    let latest = screenings.first();
    let screening = match latest {
        None => ScreeningFact::None,
        Some(s) => {
            let f = freshness(s, current, kb.screening.max_age_days, today);
            match f.stale {
                Some(why) => ScreeningFact::Stale(why),
                // A clinician's override decides: its deferral no longer holds.
                None => ScreeningFact::Current {
                    status: s.status(),
                    deferral: if s.overrides.is_empty() {
                        s.result.deferral
                    } else {
                        None
                    },
                },
            }
        }
    };
    let antiviral_needed = latest.is_some_and(|s| {
        s.result
            .areas
            .iter()
            .filter(|a| areas.contains(&a.area))
            .flat_map(|a| &a.reasons)
            .any(|r| r.rule_id == kb.charting.antiviral_rule)
    });
    let photos: Vec<String> = cx
        .store
        .patient_photos(patient.id)
        .await?
        .into_iter()
        .filter(|p| p.chart_id == Some(chart.id))
        .map(|p| p.view)
        .collect();
    let earlier_signed = cx
        .store
        .patient_charts(patient.id)
        .await?
        .iter()
        .any(|c| c.id != chart.id && c.plan_id == chart.plan_id && c.is_signed());
    let facts = ChecklistFacts {
        screening,
        screened_areas: latest
            .map(|s| s.result.areas.iter().map(|a| a.area.clone()).collect())
            .unwrap_or_default(),
        consented_areas: consent.is_some().then(|| consented.clone()),
        areas,
        photos_allowed: photo_use != Some(PhotoUse::NoPhotos),
        photos,
        first_session: !earlier_signed,
        anaesthetic: chart.checklist.anaesthetic.clone(),
        antiviral_needed,
        antiviral_taken: chart.checklist.antiviral_taken,
    };
    let checks = charting::checklist(&kb, &facts, cx.now(), today);
    // A clinician's override of the screening decides for the areas it
    // screened; every other area is judged on the history as it stands.
    let overridden: Vec<&str> = latest
        .filter(|s| !s.overrides.is_empty())
        .map(|s| s.result.areas.iter().map(|a| a.area.as_str()).collect())
        .unwrap_or_default();
    let barred = match &history {
        Some(h) => charting::barred_zones(&kb, &h.history, today)
            .into_iter()
            .filter(|b| !overridden.contains(&b.zone.as_str()))
            .collect(),
        None => vec![],
    };
    let zone = appointment.time_zone.clone();
    Ok(Session {
        chart,
        appointment,
        patient,
        plan,
        kb,
        today,
        zone,
        planned: areas_planned,
        consented,
        photo_use,
        checks,
        barred,
    })
}

/// The checklist as typed: when the numbing cream went on (local "HH:MM"
/// today), or that none was used and why; and the antiviral.
pub struct ChecklistInput<'a> {
    pub anaesthetic_at: &'a str,
    pub no_anaesthetic_reason: &'a str,
    pub antiviral_taken: bool,
    /// "Cream on now": the cream went on at this instant (one tap on a
    /// tablet), whatever the time field says.
    pub applied_now: bool,
}

pub async fn save_checklist(
    cx: &Context,
    actor: &Actor,
    sx: &Session,
    input: &ChecklistInput<'_>,
) -> Result<Chart> {
    sx.editable()?;
    let reason = input.no_anaesthetic_reason.trim();
    let at = input.anaesthetic_at.trim();
    let anaesthetic = if input.applied_now {
        Anaesthetic::AppliedAt { at: cx.now() }
    } else if !reason.is_empty() {
        if !at.is_empty() {
            return Err(Invalid::one(
                "anaesthetic_at",
                "Give either the time the cream went on or why none was used, not both.",
            )
            .into());
        }
        if reason.chars().count() > 300 {
            return Err(
                Invalid::one("no_anaesthetic", "Keep the reason under 300 characters.").into(),
            );
        }
        Anaesthetic::NotUsed {
            reason: reason.to_string(),
        }
    } else if at.is_empty() {
        Anaesthetic::NotRecorded
    } else {
        let t = jiff::civil::Time::strptime("%H:%M", at)
            .map_err(|_| Invalid::one("anaesthetic_at", "Write the time as HH:MM, like 09:15."))?;
        let tz = jiff::tz::TimeZone::get(&sx.zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let instant = tz
            .to_ambiguous_timestamp(sx.today.to_datetime(t))
            .compatible()
            .map_err(|_| Invalid::one("anaesthetic_at", "That time does not exist today."))?;
        if instant > cx.now() {
            return Err(Invalid::one(
                "anaesthetic_at",
                "That time is still to come: record when the cream went on.",
            )
            .into());
        }
        Anaesthetic::AppliedAt { at: instant }
    };
    let record = ChecklistRecord {
        anaesthetic,
        antiviral_taken: input.antiviral_taken,
    };
    Ok(cx
        .store
        .save_checklist(sx.chart.id, &record, &actor.audit, cx.now())
        .await?)
}

/// Starts needling when every checklist item passes.
pub async fn start(cx: &Context, actor: &Actor, sx: &Session) -> Result<Chart> {
    sx.editable()?;
    let missing: Vec<String> = sx
        .checks
        .iter()
        .filter(|c| !c.state.passes())
        .map(|c| format!("{}: {}", c.name, c.state.detail()))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Refused(missing));
    }
    Ok(cx
        .store
        .start_chart(sx.chart.id, &sx.checks, &actor.audit, cx.now())
        .await?)
}

pub async fn save_zone(
    cx: &Context,
    actor: &Actor,
    sx: &Session,
    input: &ZoneInput,
) -> Result<Chart> {
    sx.editable()?;
    charting::check_not_barred(&sx.kb, &input.zone, &sx.barred)?;
    let zone = charting::parse_zone(&sx.kb, input, &sx.consented, &sx.planned)?;
    Ok(cx
        .store
        .save_zone(sx.chart.id, &zone, &actor.audit, cx.now())
        .await?)
}

/// Takes a zone off a chart still being written.
pub async fn remove_zone(cx: &Context, actor: &Actor, sx: &Session, zone: &str) -> Result<Chart> {
    sx.editable()?;
    Ok(cx
        .store
        .remove_zone(sx.chart.id, zone, &actor.audit, cx.now())
        .await?)
}

/// Takes a lot off a chart still being written (its stock comes back).
pub async fn remove_lot(cx: &Context, actor: &Actor, sx: &Session, lot_id: i64) -> Result<Chart> {
    sx.editable()?;
    Ok(cx
        .store
        .remove_chart_lot(sx.chart.id, lot_id, &actor.audit, cx.now())
        .await?)
}

/// A lot this clinic holds, checked for use today; with the product
/// warning, if any.
pub async fn usable_lot(cx: &Context, sx: &Session, lot_id: i64) -> Result<(Lot, Option<String>)> {
    let lot = match cx.store.lot(lot_id).await {
        Ok(l) if l.clinic_id == sx.chart.clinic_id => l,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(Invalid::one("lot_id", "Choose a lot from this clinic's stock.").into())
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(why) = charting::lot_refusal(&lot.facts(), sx.today) {
        return Err(Invalid::one("lot_id", why).into());
    }
    let warning = charting::product_warning(&sx.kb, lot.kind, lot.intradermal);
    Ok((lot, warning))
}

pub async fn add_lot(
    cx: &Context,
    actor: &Actor,
    sx: &Session,
    lot_id: &str,
    quantity: &str,
) -> Result<Chart> {
    sx.editable()?;
    let lot_id: i64 = lot_id
        .trim()
        .parse()
        .map_err(|_| Invalid::one("lot_id", "Choose the lot used."))?;
    let quantity: i64 = match quantity.trim() {
        "" => 1,
        q => q
            .parse()
            .ok()
            .filter(|q| (1..=20).contains(q))
            .ok_or_else(|| Invalid::one("quantity", "Quantity is a whole number from 1 to 20."))?,
    };
    let (lot, warning) = usable_lot(cx, sx, lot_id).await?;
    if quantity > lot.quantity {
        return Err(Invalid::one(
            "quantity",
            format!("Only {} of lot {} in stock.", lot.quantity, lot.lot_number),
        )
        .into());
    }
    Ok(cx
        .store
        .add_chart_lot(
            sx.chart.id,
            lot.id,
            quantity,
            warning.as_deref(),
            &actor.audit,
            cx.now(),
        )
        .await?)
}

fn signer(actor: &Actor) -> Signer {
    Signer {
        id: actor.staff.id,
        role: actor.role,
        practitioner: actor.staff.practitioner.is_some(),
        medical_director: actor.staff.medical_director,
    }
}

/// Signs the version the clinician saw; the store completes the
/// appointment, queues the aftercare and schedules the check-ins (their
/// links under `site`, e.g. `https://clinic.example`) in the same
/// transaction.
pub async fn sign(
    cx: &Context,
    actor: &Actor,
    sx: &Session,
    expected_version: i64,
    site: &str,
) -> Result<Chart> {
    let c = &sx.chart;
    let refusals = charting::sign_refusals(&sx.kb, signer(actor), &c.zones, c.needle_lots());
    if !refusals.is_empty() {
        return Err(Error::Refused(refusals));
    }
    // The patient's aftercare goes with the signature, in its transaction.
    let sheet = aftercare_sheet(cx, sx).await?;
    let letters = crate::messages::letters(cx, &sx.patient).await?;
    let planned = crate::checkins::plan(sx, cx.now());
    let mut messages: Vec<_> = letters
        .aftercare(&sx.appointment, &sheet.text())
        .into_iter()
        .collect();
    // A patient with no address gets no link: no check-in is scheduled
    // that she could not answer (the clinic calls her instead).
    let links = crate::checkins::link_messages(&letters, sx, &planned, site);
    let checkins: Vec<_> = if links.is_empty() {
        vec![]
    } else {
        planned.into_iter().map(|p| p.checkin).collect()
    };
    messages.extend(links);
    Ok(cx
        .store
        .sign_chart(
            c.id,
            expected_version,
            charting::needs_second_signoff(&c.zones),
            &messages,
            &checkins,
            &actor.audit,
            cx.now(),
        )
        .await?)
}

/// The session's aftercare sheet: the knowledge base's steps for this
/// patient's history on the session's day, with the products put on her
/// skin.
pub async fn aftercare_sheet(
    cx: &Context,
    sx: &Session,
) -> Result<needlepoint_domain::aftercare::Sheet> {
    let history = cx.store.current_history(sx.patient.id).await?;
    // Each product once, in the order recorded (two lots of one serum
    // are one thing on her skin).
    let mut products: Vec<String> = vec![];
    for l in &sx.chart.lots {
        if l.kind == needlepoint_domain::charting::SupplyKind::Product
            && !products.contains(&l.item_name)
        {
            products.push(l.item_name.clone());
        }
    }
    Ok(needlepoint_domain::aftercare::sheet(
        &sx.kb,
        history.as_ref().map(|h| &h.history),
        sx.today,
        &products,
    ))
}

pub async fn cosign(cx: &Context, actor: &Actor, sx: &Session) -> Result<Chart> {
    let Some(signed_by) = sx.chart.signed_by else {
        return Err(Error::Refused(vec!["Sign the session first.".into()]));
    };
    if let Some(why) = charting::second_signoff_refusal(signer(actor), signed_by) {
        return Err(Error::Refused(vec![why]));
    }
    Ok(cx
        .store
        .cosign_chart(sx.chart.id, &actor.audit, cx.now())
        .await?)
}

pub async fn amend(cx: &Context, actor: &Actor, sx: &Session, a: &AmendmentInput) -> Result<Chart> {
    if !actor.is_clinical() {
        return Err(Error::Refused(vec![
            "Only a clinician amends a session.".into()
        ]));
    }
    a.check(&sx.kb, &sx.chart.zones)?;
    Ok(cx
        .store
        .amend_chart(sx.chart.id, a, &actor.audit, cx.now())
        .await?)
}

/// Whether a photo may be kept for this chart under `view`: the chart is
/// open, the signed consent says how photos may be used and allows them.
/// Checked before the upload is decoded.
pub fn may_keep_photo(sx: &Session, view: &str) -> Result<()> {
    sx.editable()?;
    if sx.photo_use.is_none() {
        return Err(Error::refused(
            "Photos are taken once the patient has signed the consent, which records how their photos may be used.",
        ));
    }
    if !sx.photos_allowed() {
        return Err(Error::refused(
            "The patient's consent allows no photos: none can be kept.",
        ));
    }
    if charting::view_label(&sx.kb, view).is_none() {
        return Err(Error::invalid("view", "Choose which view this photo is."));
    }
    Ok(())
}

/// Records a photo already cleaned and kept on disk, after checking again
/// that it may be kept.
pub async fn add_photo(
    cx: &Context,
    actor: &Actor,
    sx: &Session,
    photo: &needlepoint_store::NewPhoto,
) -> Result<needlepoint_store::Photo> {
    crate::access::clinic(actor, sx.chart.clinic_id)?;
    may_keep_photo(sx, &photo.view)?;
    Ok(cx.store.add_photo(photo, &actor.audit, cx.now()).await?)
}
