//! A patient at a glance, for the patient's page: what staff must know
//! before anything else (alerts), where her course stands, her
//! appointments and the messages sent to her. Each role gets what it may
//! see: the front desk gets appointments, messages, the course's booking
//! and a deferral's date, never the clinical reasons behind them.

use crate::{booking, Actor, Context, Result};
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::plan::{PhotoUse, PlanStatus};
use needlepoint_domain::screening::{Deferral, Status};
use needlepoint_store::{Appointment, Message, Patient, PlanRecord};

/// How many past appointments and messages the page lists.
const RECENT: usize = 10;

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Stops treatment: a deferral, not eligible, a recalled lot.
    Stop,
    /// Changes how to treat: a precaution, an allergy.
    Caution,
    /// Worth knowing: how photos may be used.
    Note,
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub tone: Tone,
    pub text: String,
}

/// Where the plan in force stands.
#[derive(Debug, Clone)]
pub struct Progress {
    pub plan: PlanRecord,
    /// Sessions signed, and the course's visits as booked plus those
    /// still to book.
    pub done: usize,
    pub total: usize,
    /// The next session booked, if any.
    pub next: Option<Appointment>,
    /// Sessions of the plan not yet booked.
    pub to_book: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub alerts: Vec<Alert>,
    /// The accepted or started plan.
    pub progress: Option<Progress>,
    /// The latest plan when none is in force (proposed, completed, cancelled).
    pub latest_plan: Option<PlanRecord>,
    /// Whether a clinician may propose a plan now: screened, treatable,
    /// and no plan proposed or in force.
    pub may_propose: bool,
    /// Appointments still to come, soonest first.
    pub upcoming: Vec<Appointment>,
    /// The latest appointments that have passed or were called off.
    pub past: Vec<Appointment>,
    pub messages: Vec<Message>,
}

/// The summary of `p` for `actor` (who may already see the patient).
pub async fn patient(cx: &Context, actor: &Actor, p: &Patient) -> Result<Summary> {
    let now = cx.now();
    let today = cx.clinic_today(p.clinic_id).await?;
    let mut s = Summary::default();

    let mut appointments = cx.store.patient_appointments(p.id).await?;
    appointments.sort_by_key(|a| a.starts_at);
    let (upcoming, mut past): (Vec<_>, Vec<_>) = appointments.into_iter().partition(|a| {
        a.status.holds_time() && a.status != AppointmentStatus::Completed && a.ends_at > now
    });
    past.reverse();
    past.truncate(RECENT);
    s.upcoming = upcoming;
    s.past = past;
    s.messages = cx.store.patient_messages(p.id, RECENT as i64).await?;

    let plans = cx.store.plans(p.id).await?;
    if let Some(r) = booking::active_plan(cx, p).await? {
        s.progress = Some(progress(cx, r).await?);
    } else {
        s.latest_plan = plans.last().cloned();
    }

    let screening = cx.store.screenings(p.id).await?.into_iter().next();
    let status = screening.as_ref().map(|x| x.status());
    // The deferral's date decides when the desk may book: everyone sees it.
    if let Some(x) = &screening {
        match x.result.deferral {
            Some(Deferral::Until(d)) if d > today => s.alerts.push(Alert {
                tone: Tone::Stop,
                text: format!(
                    "Treatment deferred until {}.",
                    needlepoint_domain::dates::long_date(d)
                ),
            }),
            Some(Deferral::UntilResolved) => s.alerts.push(Alert {
                tone: Tone::Stop,
                text: "Treatment deferred until a condition has resolved.".into(),
            }),
            _ => {}
        }
    }
    let open_plan = plans.iter().any(|r| {
        matches!(
            r.status,
            PlanStatus::Proposed | PlanStatus::Accepted | PlanStatus::InProgress
        )
    });
    if !actor.is_clinical() {
        return Ok(s);
    }
    // Clinicians see why: each fact that defers treatment, once.
    if let (Some(x), Some(first)) = (&screening, s.alerts.first_mut()) {
        let mut facts: Vec<&str> = vec![];
        for r in x.result.areas.iter().flat_map(|a| &a.reasons) {
            if r.deferral.is_some() && !facts.contains(&r.fact.as_str()) {
                facts.push(r.fact.as_str());
            }
        }
        if !facts.is_empty() {
            first.text = format!("{} Because: {}.", first.text, facts.join("; "));
        }
    }
    s.may_propose = !open_plan
        && matches!(
            status,
            Some(Status::Eligible | Status::EligibleWithPrecautions)
        );
    if let Some(x) = &screening {
        match x.status() {
            Status::NotEligible => s.alerts.push(Alert {
                tone: Tone::Stop,
                text: "Not eligible for microneedling at the last screening.".into(),
            }),
            Status::NeedsPhysicianApproval => s.alerts.push(Alert {
                tone: Tone::Stop,
                text: "Needs a physician's approval before treatment.".into(),
            }),
            _ => {}
        }
        for why in &x.result.precautions {
            s.alerts.push(Alert {
                tone: Tone::Caution,
                text: why.clone(),
            });
        }
    }
    let kb = cx.clinic_kb(p.clinic_id).await?;
    if let Some(h) = cx.store.current_history(p.id).await? {
        for a in &h.history.allergies {
            let name = kb
                .allergies
                .iter()
                .find(|r| r.code == a.code)
                .map_or(a.code.clone(), |r| r.name.clone());
            s.alerts.push(Alert {
                tone: Tone::Caution,
                text: match &a.note {
                    Some(n) if !n.trim().is_empty() => format!("Allergy: {name} ({}).", n.trim()),
                    _ => format!("Allergy: {name}."),
                },
            });
        }
    }
    let in_force = s
        .progress
        .as_ref()
        .map(|x| &x.plan)
        .or(s.latest_plan.as_ref());
    if let Some(r) = in_force {
        if let Some(c) = cx.store.consents(r.id).await?.into_iter().last() {
            if let Some(u) = PhotoUse::parse(&c.photo_use) {
                s.alerts.push(Alert {
                    tone: if u == PhotoUse::NoPhotos {
                        Tone::Caution
                    } else {
                        Tone::Note
                    },
                    text: format!("Photo consent: “{}”.", u.label()),
                });
            }
        }
    }
    let mut lots: Vec<i64> = cx
        .store
        .patient_charts(p.id)
        .await?
        .iter()
        .flat_map(|c| c.lots.iter().map(|l| l.lot_id))
        .collect();
    lots.sort_unstable();
    lots.dedup();
    for id in lots {
        let lot = cx.store.lot(id).await?;
        if lot.recalled_at.is_some() {
            s.alerts.push(Alert {
                tone: Tone::Stop,
                text: format!(
                    "Treated with recalled lot {} ({}).",
                    lot.lot_number, lot.item_name
                ),
            });
        }
    }
    Ok(s)
}

/// How far the plan's course has come.
async fn progress(cx: &Context, r: PlanRecord) -> Result<Progress> {
    let booked = booking::booked_sessions(cx, &r).await?;
    let done = booked
        .iter()
        .filter(|a| a.status == AppointmentStatus::Completed)
        .count();
    let now = cx.now();
    let next = booked
        .iter()
        .find(|a| a.status != AppointmentStatus::Completed && a.ends_at > now)
        .cloned();
    // Each track's sessions not yet on a booked visit; visits to come
    // treat the tracks due together, so the longest track decides.
    let to_book = r
        .plan
        .tracks
        .iter()
        .enumerate()
        .map(|(t, track)| {
            let on_visits = booked
                .iter()
                .filter(|a| booking::tracks_of(&r, a).contains(&t))
                .count();
            (track.sessions as usize).saturating_sub(on_visits)
        })
        .max()
        .unwrap_or(0);
    Ok(Progress {
        total: booked.len() + to_book,
        done,
        next,
        to_book,
        plan: r,
    })
}
