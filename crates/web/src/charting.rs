//! Charting a session, shared by the pages and the API: what the checklist
//! is evaluated from, and each change to a chart with the rules it must
//! pass first (the rules themselves are in `needlepoint_domain::charting`).

use crate::auth::Caller;
use crate::clinical::{clinic_kb, clinic_today, freshness};
use crate::AppState;
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

/// Why a change to a chart was not made.
#[derive(Debug)]
pub enum ChartError {
    /// Bad input, by field.
    Invalid(Invalid),
    /// A rule refuses it; every reason.
    Refused(Vec<String>),
    Store(StoreError),
}

impl From<StoreError> for ChartError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ChartError::Refused(vec![m]),
            StoreError::Invalid(i) => ChartError::Invalid(i),
            e => ChartError::Store(e),
        }
    }
}

impl From<Invalid> for ChartError {
    fn from(e: Invalid) -> Self {
        ChartError::Invalid(e)
    }
}

impl ChartError {
    pub fn lines(&self) -> Vec<String> {
        match self {
            ChartError::Invalid(i) => i.errors.iter().map(|e| e.message.clone()).collect(),
            ChartError::Refused(r) => r.clone(),
            ChartError::Store(e) => vec![e.to_string()],
        }
    }
}

/// Everything a chart is judged against.
pub struct Context {
    pub chart: Chart,
    pub appointment: Appointment,
    pub patient: Patient,
    pub plan: Option<PlanRecord>,
    pub kb: KnowledgeBase,
    pub today: Date,
    pub zone: String,
    /// The areas the signed consent covers (empty without one).
    pub consented: Vec<String>,
    /// The patient's choice of photo use, from the signed consent.
    pub photo_use: Option<PhotoUse>,
    pub checks: Vec<Check>,
}

impl Context {
    pub fn photos_allowed(&self) -> bool {
        self.photo_use != Some(PhotoUse::NoPhotos)
    }
    pub fn ready(&self) -> bool {
        charting::ready(&self.checks)
    }

    /// A signed chart is read-only: every change is refused up front, with
    /// the same words as the store's own check.
    pub fn editable(&self) -> Result<(), ChartError> {
        if self.chart.is_signed() {
            Err(ChartError::Refused(vec![
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
    st: &AppState,
    caller: &Caller,
    a: &Appointment,
    off_day_reason: Option<&str>,
) -> Result<Chart, ChartError> {
    if a.kind != "session" {
        return Err(ChartError::Refused(vec![
            "Only a microneedling session is charted.".into(),
        ]));
    }
    if !a.status.holds_time() {
        return Err(ChartError::Refused(vec![format!(
            "This appointment is {}; it cannot be charted.",
            a.status.label().to_lowercase()
        )]));
    }
    if let Some(c) = st.store.chart_for_appointment(a.id).await? {
        return Ok(c);
    }
    let zone = jiff::tz::TimeZone::get(&a.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let day = a.starts_at.to_zoned(zone).date();
    let reason =
        charting::may_open_chart(day, clinic_today(st, a.clinic_id).await?, off_day_reason)?;
    Ok(st
        .store
        .open_chart(
            a,
            reason.as_deref(),
            &caller.actor(),
            needlepoint_store::now(),
        )
        .await?)
}

pub async fn context(st: &AppState, chart: Chart) -> Result<Context, StoreError> {
    let appointment = st.store.appointment(chart.appointment_id).await?;
    let patient = st.store.patient(chart.patient_id).await?;
    let kb = clinic_kb(st, chart.clinic_id).await?;
    let today = clinic_today(st, chart.clinic_id).await?;
    let plan = match chart.plan_id {
        Some(id) => Some(st.store.plan(id).await?),
        None => None,
    };
    // The consent in force is one signed for the plan as it stands now.
    let consent = match &plan {
        Some(p) => st
            .store
            .consents(p.id)
            .await?
            .into_iter()
            .rfind(|c| c.plan_version == p.version),
        None => None,
    };
    let areas: Vec<String> = plan
        .as_ref()
        .map(|p| p.plan.areas.iter().map(|a| a.area.clone()).collect())
        .unwrap_or_default();
    let consented = if consent.is_some() {
        areas.clone()
    } else {
        vec![]
    };
    let photo_use = consent.as_ref().and_then(|c| PhotoUse::parse(&c.photo_use));

    let screenings = st.store.screenings(patient.id).await?;
    let current = st
        .store
        .current_history(patient.id)
        .await?
        .map(|h| h.version);
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
    let photos: Vec<String> = st
        .store
        .patient_photos(patient.id)
        .await?
        .into_iter()
        .filter(|p| p.chart_id == Some(chart.id))
        .map(|p| p.view)
        .collect();
    let earlier_signed = st
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
        consented_areas: consent.is_some().then(|| areas.clone()),
        areas,
        photos_allowed: photo_use != Some(PhotoUse::NoPhotos),
        photos,
        first_session: !earlier_signed,
        anaesthetic: chart.checklist.anaesthetic.clone(),
        antiviral_needed,
        antiviral_taken: chart.checklist.antiviral_taken,
    };
    let checks = charting::checklist(&kb, &facts, needlepoint_store::now(), today);
    let zone = appointment.time_zone.clone();
    Ok(Context {
        chart,
        appointment,
        patient,
        plan,
        kb,
        today,
        zone,
        consented,
        photo_use,
        checks,
    })
}

/// The checklist as typed: when the numbing cream went on (local "HH:MM"
/// today), or that none was used and why; and the antiviral.
pub struct ChecklistInput<'a> {
    pub anaesthetic_at: &'a str,
    pub no_anaesthetic_reason: &'a str,
    pub antiviral_taken: bool,
}

pub async fn save_checklist(
    st: &AppState,
    caller: &Caller,
    cx: &Context,
    input: &ChecklistInput<'_>,
) -> Result<Chart, ChartError> {
    cx.editable()?;
    let reason = input.no_anaesthetic_reason.trim();
    let at = input.anaesthetic_at.trim();
    let anaesthetic = if !reason.is_empty() {
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
        let tz = jiff::tz::TimeZone::get(&cx.zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let instant = tz
            .to_ambiguous_timestamp(cx.today.to_datetime(t))
            .compatible()
            .map_err(|_| Invalid::one("anaesthetic_at", "That time does not exist today."))?;
        if instant > needlepoint_store::now() {
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
    Ok(st
        .store
        .save_checklist(
            cx.chart.id,
            &record,
            &caller.actor(),
            needlepoint_store::now(),
        )
        .await?)
}

/// Starts needling when every checklist item passes.
pub async fn start(st: &AppState, caller: &Caller, cx: &Context) -> Result<Chart, ChartError> {
    cx.editable()?;
    let missing: Vec<String> = cx
        .checks
        .iter()
        .filter(|c| !c.state.passes())
        .map(|c| format!("{}: {}", c.name, c.state.detail()))
        .collect();
    if !missing.is_empty() {
        return Err(ChartError::Refused(missing));
    }
    Ok(st
        .store
        .start_chart(
            cx.chart.id,
            &cx.checks,
            &caller.actor(),
            needlepoint_store::now(),
        )
        .await?)
}

pub async fn save_zone(
    st: &AppState,
    caller: &Caller,
    cx: &Context,
    input: &ZoneInput,
) -> Result<Chart, ChartError> {
    cx.editable()?;
    let zone = charting::parse_zone(&cx.kb, input, &cx.consented)?;
    Ok(st
        .store
        .save_zone(
            cx.chart.id,
            &zone,
            &caller.actor(),
            needlepoint_store::now(),
        )
        .await?)
}

/// A lot this clinic holds, checked for use today; with the product
/// warning, if any.
pub async fn usable_lot(
    st: &AppState,
    cx: &Context,
    lot_id: i64,
) -> Result<(Lot, Option<String>), ChartError> {
    let lot = match st.store.lot(lot_id).await {
        Ok(l) if l.clinic_id == cx.chart.clinic_id => l,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(Invalid::one("lot_id", "Choose a lot from this clinic's stock.").into())
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(why) = charting::lot_refusal(&lot.facts(), cx.today) {
        return Err(Invalid::one("lot_id", why).into());
    }
    let warning = charting::product_warning(&cx.kb, lot.kind, lot.intradermal);
    Ok((lot, warning))
}

pub async fn add_lot(
    st: &AppState,
    caller: &Caller,
    cx: &Context,
    lot_id: &str,
    quantity: &str,
) -> Result<Chart, ChartError> {
    cx.editable()?;
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
    let (lot, warning) = usable_lot(st, cx, lot_id).await?;
    if quantity > lot.quantity {
        return Err(Invalid::one(
            "quantity",
            format!("Only {} of lot {} in stock.", lot.quantity, lot.lot_number),
        )
        .into());
    }
    Ok(st
        .store
        .add_chart_lot(
            cx.chart.id,
            lot.id,
            quantity,
            warning.as_deref(),
            &caller.actor(),
            needlepoint_store::now(),
        )
        .await?)
}

fn signer(caller: &Caller) -> Signer {
    Signer {
        id: caller.staff.id,
        role: caller.role,
        practitioner: caller.staff.practitioner.is_some(),
        medical_director: caller.staff.medical_director,
    }
}

/// Signs the version the clinician saw; the store completes the
/// appointment in the same transaction.
pub async fn sign(
    st: &AppState,
    caller: &Caller,
    cx: &Context,
    expected_version: i64,
) -> Result<Chart, ChartError> {
    let c = &cx.chart;
    let refusals = charting::sign_refusals(&cx.kb, signer(caller), &c.zones, c.needle_lots());
    if !refusals.is_empty() {
        return Err(ChartError::Refused(refusals));
    }
    Ok(st
        .store
        .sign_chart(
            c.id,
            expected_version,
            charting::needs_second_signoff(&c.zones),
            &caller.actor(),
            needlepoint_store::now(),
        )
        .await?)
}

pub async fn cosign(st: &AppState, caller: &Caller, cx: &Context) -> Result<Chart, ChartError> {
    let Some(signed_by) = cx.chart.signed_by else {
        return Err(ChartError::Refused(vec!["Sign the session first.".into()]));
    };
    if let Some(why) = charting::second_signoff_refusal(signer(caller), signed_by) {
        return Err(ChartError::Refused(vec![why]));
    }
    Ok(st
        .store
        .cosign_chart(cx.chart.id, &caller.actor(), needlepoint_store::now())
        .await?)
}

pub async fn amend(
    st: &AppState,
    caller: &Caller,
    cx: &Context,
    a: &AmendmentInput,
) -> Result<Chart, ChartError> {
    if !matches!(
        caller.role,
        needlepoint_domain::Role::Clinician | needlepoint_domain::Role::Owner
    ) {
        return Err(ChartError::Refused(vec![
            "Only a clinician amends a session.".into(),
        ]));
    }
    a.check(&cx.kb, &cx.chart.zones)?;
    Ok(st
        .store
        .amend_chart(cx.chart.id, a, &caller.actor(), needlepoint_store::now())
        .await?)
}
