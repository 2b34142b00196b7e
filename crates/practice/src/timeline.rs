//! Everything that has happened to a patient's record, newest first: the
//! patient page's timeline. Each role sees what it may: the front desk
//! gets the record, intake forms received, appointments, consents and
//! messages; clinicians also get screenings, history, plans, signed
//! charts and photos.

use crate::{Actor, Context, Result};
use jiff::Timestamp;
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_domain::message::MessageStatus;
use needlepoint_domain::plan::PlanStatus;
use needlepoint_store::{
    AdverseRecord, Appointment, Chart, Checkin, HistoryVersion, HomeCareEntry, Message, Patient,
    PlanRecord, ScreeningRecord,
};

/// The most messages the timeline reads: a patient with years of
/// reminders would otherwise fill it with them.
const MESSAGES: i64 = 100;

/// One thing that happened, with the record it happened to.
#[derive(Debug, Clone)]
pub enum Happening {
    /// The record was created.
    Registered,
    /// The patient sent intake answers, not yet reviewed.
    IntakeReceived,
    /// A new version of the medical history.
    HistoryUpdated(HistoryVersion),
    Screened(ScreeningRecord),
    PlanProposed(PlanRecord),
    /// Completed or cancelled (when it was last changed).
    PlanEnded(PlanRecord),
    /// The plan's consent was signed, at the clinic or by link.
    ConsentSigned {
        plan: PlanRecord,
        via: String,
    },
    /// An appointment that has started, was cancelled or was missed.
    Appointment(Appointment),
    ChartSigned(Chart),
    ChartCosigned(Chart),
    /// Photos taken for one chart (or on one day without a chart).
    Photos {
        chart_id: Option<i64>,
        count: usize,
    },
    /// A message sent, or one that could not be.
    Message(Message),
    CheckinAnswered(Checkin),
    AdverseEvent(AdverseRecord),
    HomeCare(HomeCareEntry),
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: Timestamp,
    pub happening: Happening,
}

/// The timeline of `p` for `actor` (who may already see the patient),
/// newest first.
pub async fn patient(cx: &Context, actor: &Actor, p: &Patient) -> Result<Vec<Event>> {
    let now = cx.now();
    let mut events = vec![Event {
        at: p.created_at,
        happening: Happening::Registered,
    }];
    let mut add = |at, happening| events.push(Event { at, happening });
    for i in cx.store.pending_intakes(p.id).await? {
        add(i.submitted_at, Happening::IntakeReceived);
    }
    for a in cx.store.patient_appointments(p.id).await? {
        let happened = a.starts_at <= now
            || matches!(
                a.status,
                AppointmentStatus::Cancelled | AppointmentStatus::NoShow
            );
        if happened {
            add(a.starts_at.min(now), Happening::Appointment(a));
        }
    }
    for m in cx.store.patient_messages(p.id, MESSAGES).await? {
        if let (MessageStatus::Sent, Some(at)) = (m.status, m.sent_at) {
            add(at, Happening::Message(m));
        } else if m.status == MessageStatus::Failed {
            add(m.due_at, Happening::Message(m));
        }
    }
    for plan in cx.store.plans(p.id).await? {
        for c in cx.store.consents(plan.id).await? {
            add(
                c.signed_at,
                Happening::ConsentSigned {
                    plan: plan.clone(),
                    via: c.signed_via,
                },
            );
        }
        if !actor.is_clinical() {
            continue;
        }
        add(plan.created_at, Happening::PlanProposed(plan.clone()));
        if matches!(plan.status, PlanStatus::Completed | PlanStatus::Cancelled) {
            add(plan.updated_at, Happening::PlanEnded(plan));
        }
    }
    if actor.is_clinical() {
        for h in cx.store.history_versions(p.id).await? {
            add(h.created_at, Happening::HistoryUpdated(h));
        }
        for s in cx.store.screenings(p.id).await? {
            add(s.created_at, Happening::Screened(s));
        }
        for c in cx.store.patient_charts(p.id).await? {
            if let Some(at) = c.cosigned_at {
                add(at, Happening::ChartCosigned(c.clone()));
            }
            if let Some(at) = c.signed_at {
                add(at, Happening::ChartSigned(c));
            }
        }
        // One line per chart's photos (or per clinic day for photos
        // without one), at the first photo's time.
        let zone = cx.store.clinic(p.clinic_id).await?.details.time_zone;
        let tz = jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let day = |t: Timestamp| t.to_zoned(tz.clone()).date();
        let mut groups: Vec<(Option<i64>, Timestamp, usize)> = vec![];
        let mut photos = cx.store.patient_photos(p.id).await?;
        photos.sort_by_key(|x| x.created_at);
        for x in photos {
            let same = |g: &&mut (Option<i64>, Timestamp, usize)| match x.chart_id {
                Some(id) => g.0 == Some(id),
                None => g.0.is_none() && day(g.1) == day(x.created_at),
            };
            match groups.iter_mut().find(|g| same(g)) {
                Some(g) => g.2 += 1,
                None => groups.push((x.chart_id, x.created_at, 1)),
            }
        }
        for (chart_id, at, count) in groups {
            add(at, Happening::Photos { chart_id, count });
        }
        for k in cx.store.patient_checkins(p.id).await? {
            if let Some(at) = k.answered_at {
                add(at, Happening::CheckinAnswered(k));
            }
        }
        for e in cx.store.patient_adverse_events(p.id).await? {
            add(e.versions[0].signed_at, Happening::AdverseEvent(e));
        }
        for h in cx.store.home_care(p.id).await? {
            add(h.logged_at, Happening::HomeCare(h));
        }
    }
    // Newest first; at the same instant, in the order things happen.
    events.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then(b.happening.step().cmp(&a.happening.step()))
    });
    Ok(events)
}

impl Happening {
    /// Where it comes in a patient's care, to order things recorded at
    /// the same instant: the record before its history, a plan before
    /// its consent, a session before its sign-off, and a message after
    /// what it tells of (the aftercare after the signature).
    fn step(&self) -> u8 {
        match self {
            Happening::Registered => 0,
            Happening::IntakeReceived => 1,
            Happening::HistoryUpdated(_) => 2,
            Happening::Screened(_) => 3,
            Happening::PlanProposed(_) => 4,
            Happening::ConsentSigned { .. } => 5,
            Happening::Appointment(_) => 6,
            Happening::Photos { .. } => 7,
            Happening::ChartSigned(_) => 8,
            Happening::ChartCosigned(_) => 9,
            Happening::HomeCare(_) => 10,
            Happening::CheckinAnswered(_) => 11,
            Happening::AdverseEvent(_) => 12,
            Happening::PlanEnded(_) => 13,
            Happening::Message(_) => 14,
        }
    }
}
