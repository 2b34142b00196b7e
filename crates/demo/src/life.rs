//! The demo's Bristol clinic in the middle of its life, made through the
//! practice services exactly as staff would make it, with the services'
//! clock moved through the past: a course completed months ago, courses
//! under way with signed charts, zones, lots and photos, today's list at
//! every stage (signed, being charted, checked in, still to come), courses
//! booked across the coming weeks, a plan proposed and one cancelled, and
//! a recalled cartridge lot that reaches the patients treated with it.
//!
//! Everything is relative to the moment the demo starts, and nothing is
//! recorded later than that moment: when the demo starts early in the day,
//! today's later stages are simply not reached yet.

use super::pictures;
use anyhow::{anyhow, bail, Context as _};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use needlepoint_domain::appointment::{AppointmentKind, AppointmentStatus};
use needlepoint_domain::billing::Method;
use needlepoint_domain::charting::{required_views, ZoneInput};
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::plan::PlanStatus;
use needlepoint_practice::billing::{self, PaymentInput};
use needlepoint_practice::booking::{self, Preferences, Wanted};
use needlepoint_practice::charting::{self, ChecklistInput};
use needlepoint_practice::planning::{self, ConsentInput};
use needlepoint_practice::{screening, stock, Actor, Clock, Context, Error};
use needlepoint_store::{Appointment, Patient, PlanRecord, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The cartridge lot used in the earliest sessions and recalled since.
pub const RECALLED_LOT: &str = "CA25-0217";
/// The cartridge lot in everyday use.
const EVERYDAY_LOT: &str = "CA24-0912";

/// How far a session of today's list has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Booked,
    CheckedIn,
    /// Checked in, chart open, numbing cream on, photos taken.
    BeingCharted,
    Signed,
}

struct Demo {
    cx: Context,
    clinician: Actor,
    desk: Actor,
    zone: TimeZone,
    today: Date,
    /// The moment the demo starts: nothing is recorded after it.
    started: Timestamp,
    data_dir: PathBuf,
    /// Where the links in messages point.
    site: String,
    clinic_id: i64,
    pictures: u64,
}

/// Brings the clinic to life. `patients` are the clinic's demo patients
/// with their place in the demo's list, which fixes their histories.
pub async fn live(
    store: Arc<dyn Store>,
    kb: &KnowledgeBase,
    data_dir: &Path,
    site: &str,
    started: Timestamp,
    clinic_id: i64,
    patients: &[(usize, Patient)],
) -> anyhow::Result<()> {
    let cx = Context::new(store, kb.clone(), Clock::fixed(started));
    let zone_name = cx.store.clinic(clinic_id).await?.details.time_zone;
    let zone = TimeZone::get(&zone_name)?;
    let mut d = Demo {
        clinician: actor(&cx, "clinician@demo.needlepoint.test").await?,
        desk: actor(&cx, "frontdesk@demo.needlepoint.test").await?,
        today: started.to_zoned(zone.clone()).date(),
        cx,
        zone,
        started,
        data_dir: data_dir.to_path_buf(),
        site: site.to_string(),
        clinic_id,
        pictures: 0,
    };
    // The demo's patients by their place in the list (see `HISTORIES`: the
    // place modulo ten picks the history).
    let who = |i: usize| {
        patients
            .iter()
            .find(|(n, _)| *n == i)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| anyhow!("demo patient {i} is not at this clinic"))
    };

    d.billing_settings().await?;
    // A course of acne-scar sessions finished months ago, invoiced and
    // half paid: the rest is long overdue.
    d.whole_course(&who(0)?, 200, true, false).await?;
    d.invoice_and_pay(&who(0)?, Method::Card, 2).await?;
    // Courses under way: the first used the lot recalled since and is
    // invoiced as it goes; the second was sold as a package.
    d.whole_course(&who(4)?, 50, false, false).await?;
    d.invoice_and_pay(&who(4)?, Method::Transfer, 2).await?;
    d.whole_course(&who(3)?, 35, false, true).await?;
    // A plan the patient decided against, and one still being considered.
    let p = who(1)?;
    d.set(d.at(-30, 11, 0))?;
    let r = d.plan(&p).await?;
    planning::set_status(
        &d.cx,
        &d.clinician,
        r.id,
        PlanStatus::Cancelled,
        Some("The patient would rather wait until after the summer."),
    )
    .await
    .map_err(failed("cancelling a plan"))?;
    d.set(d.at(-2, 16, 30))?;
    d.plan(&who(7)?).await?;
    // Courses accepted yesterday and booked across the coming weeks.
    for i in [12, 15] {
        let p = who(i)?;
        d.set(d.at(-1, 12, 0))?;
        let r = d.accepted_plan(&p).await?;
        d.book_course(&p, &r).await?;
        // The first paid her deposit as she booked; the second has not yet.
        if i == 12 {
            d.deposit(&p).await?;
        }
    }
    d.todays_list([who(10)?, who(24)?, who(22)?, who(30)?])
        .await?;
    d.recall().await?;
    d.check_ins(&[who(4)?, who(3)?]).await?;
    d.post().await?;
    Ok(())
}

/// A service's refusal as the demo's error, saying which step failed.
fn failed(step: &'static str) -> impl Fn(Error) -> anyhow::Error {
    move |e| anyhow!("demo, {step}: {e:?}")
}

/// A demo login as the services' actor.
async fn actor(cx: &Context, email: &str) -> anyhow::Result<Actor> {
    let staff = cx
        .store
        .staff_credentials(email)
        .await?
        .with_context(|| format!("no demo login {email}"))?
        .staff;
    let clinic_ids = cx
        .store
        .clinics_for_staff(staff.id)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    Ok(Actor {
        role: staff.role,
        clinic_ids,
        audit: needlepoint_store::Actor {
            staff_id: Some(staff.id),
            label: staff.email.clone(),
            channel: needlepoint_store::Channel::Web,
            ip: None,
        },
        staff,
    })
}

impl Demo {
    /// The instant of `h:m` on the clinic's wall clock, `days` from today.
    fn at(&self, days: i64, h: i8, m: i8) -> Timestamp {
        let day = self.today.saturating_add(Span::new().days(days));
        self.zone
            .to_ambiguous_timestamp(day.to_datetime(Time::constant(h, m, 0, 0)))
            .compatible()
            .expect("a demo time exists")
    }

    /// Moves the services' clock to `t`, which must not be later than the
    /// demo's start.
    fn set(&self, t: Timestamp) -> anyhow::Result<()> {
        if t > self.started {
            bail!("the demo would record something at {t}, after it started");
        }
        self.cx.clock.set(t);
        Ok(())
    }

    /// Whether `t` has come by the time the demo starts.
    fn has_come(&self, t: Timestamp) -> bool {
        t <= self.started
    }

    /// Screens the patient for the areas of her concerns, as of the clock.
    async fn screen(&self, p: &Patient) -> anyhow::Result<()> {
        let h = self
            .cx
            .store
            .current_history(p.id)
            .await?
            .with_context(|| format!("demo patient {} has no history", p.id))?;
        screening::run(
            &self.cx,
            &self.clinician,
            p,
            &h.history.concern_areas(),
            None,
        )
        .await
        .map_err(failed("screening"))?;
        Ok(())
    }

    /// A fresh screening and the plan proposed from it.
    async fn plan(&self, p: &Patient) -> anyhow::Result<PlanRecord> {
        self.screen(p).await?;
        planning::create(&self.cx, &self.clinician, p, "skinpen")
            .await
            .map_err(failed("proposing a plan"))
    }

    /// A plan proposed, its consent signed on the pad, and accepted.
    async fn accepted_plan(&mut self, p: &Patient) -> anyhow::Result<PlanRecord> {
        let r = self.plan(p).await?;
        self.pictures += 1;
        let consent = ConsentInput {
            version: Some(r.version),
            photo_use: "clinical_record_only".into(),
            typed_name: p.details.full_name(),
            signature: pictures::signature(self.pictures)?,
            guardian_name: String::new(),
            guardian_relationship: String::new(),
            guardian_signature: String::new(),
            ip: None,
        };
        planning::sign_consent(&self.cx, &self.clinician, r.id, &consent)
            .await
            .map_err(failed("signing a consent"))?;
        planning::set_status(&self.cx, &self.clinician, r.id, PlanStatus::Accepted, None)
            .await
            .map_err(failed("accepting a plan"))
    }

    /// The front desk books the plan's remaining sessions as proposed.
    async fn book_course(&self, p: &Patient, r: &PlanRecord) -> anyhow::Result<Vec<Appointment>> {
        let course = booking::propose(&self.cx, p, r, &Preferences::default())
            .await
            .map_err(failed("proposing a course"))?;
        booking::book(&self.cx, &self.desk, p, r, &course)
            .await
            .map_err(failed("booking a course"))
    }

    /// A course planned and booked `days_ago`, every session that has
    /// passed since charted and signed; marked completed when none is
    /// left and `complete` is asked.
    async fn whole_course(
        &mut self,
        p: &Patient,
        days_ago: i64,
        complete: bool,
        package: bool,
    ) -> anyhow::Result<()> {
        self.set(self.at(-days_ago, 7, 30))?;
        let r = self.accepted_plan(p).await?;
        let course = self.book_course(p, &r).await?;
        if package {
            self.sell_package(p, &r).await?;
        }
        let mut left = false;
        for (n, a) in course.iter().enumerate() {
            if !self.has_come(a.starts_at + SignedDuration::from_mins(60)) {
                left = true;
                continue;
            }
            let lot = if n == 0 && !complete {
                RECALLED_LOT
            } else {
                EVERYDAY_LOT
            };
            self.session(p, a, Stage::Signed, lot).await?;
            if n == 0 {
                self.under_way(&r).await?;
            }
        }
        if complete && !left {
            self.set(self.started.min(course.last().map_or(self.started, |a| {
                a.starts_at + SignedDuration::from_mins(90)
            })))?;
            planning::set_status(&self.cx, &self.clinician, r.id, PlanStatus::Completed, None)
                .await
                .map_err(failed("completing a plan"))?;
        }
        Ok(())
    }

    /// The clinic's billing: a VAT number on its invoices, a £50 deposit
    /// asked for a booked course, late fees taken from it.
    async fn billing_settings(&self) -> anyhow::Result<()> {
        let owner = actor(&self.cx, "owner@demo.needlepoint.test").await?;
        self.set(self.at(-400, 9, 0))?;
        billing::save_settings(
            &self.cx,
            &owner,
            self.clinic_id,
            "GB 123 4567 89",
            "50",
            true,
            "10",
        )
        .await
        .map_err(failed("saving the billing settings"))
    }

    /// The desk takes the clinic's deposit by card, as the course is booked.
    async fn deposit(&self, p: &Patient) -> anyhow::Result<()> {
        let input = PaymentInput {
            method: "card".into(),
            amount: "50".into(),
            reference: format!("T-{:04}", p.id * 37 % 10_000),
            invoice_id: None,
            deposit: true,
        };
        billing::take_payment(&self.cx, &self.desk, p.id, &input)
            .await
            .map_err(failed("taking a deposit"))?;
        Ok(())
    }

    /// The course sold as a package, paid by card on the spot.
    async fn sell_package(&self, p: &Patient, r: &PlanRecord) -> anyhow::Result<()> {
        let inv = billing::sell_package(&self.cx, &self.desk, r.id)
            .await
            .map_err(failed("selling a package"))?;
        let input = PaymentInput {
            method: "card".into(),
            amount: format!("{}.{:02}", inv.due_minor() / 100, inv.due_minor() % 100),
            reference: format!("T-{:04}", inv.id * 41 % 10_000),
            invoice_id: Some(inv.id),
            deposit: false,
        };
        billing::take_payment(&self.cx, &self.desk, p.id, &input)
            .await
            .map_err(failed("paying for a package"))?;
        Ok(())
    }

    /// Everything the patient has had invoiced three hours after her last
    /// session, and `1/part` of it paid by `method` (the rest owed).
    async fn invoice_and_pay(&self, p: &Patient, method: Method, part: i64) -> anyhow::Result<()> {
        let last = self
            .cx
            .store
            .patient_appointments(p.id)
            .await?
            .iter()
            .filter(|a| a.status == AppointmentStatus::Completed)
            .map(|a| a.starts_at)
            .max()
            .context("a demo patient to invoice has had a session")?;
        self.set(self.started.min(last + SignedDuration::from_hours(3)))?;
        let items: Vec<String> = billing::billable(&self.cx, p)
            .await
            .map_err(failed("reading what to invoice"))?
            .into_iter()
            .filter_map(|b| b.line.source)
            .collect();
        let inv = billing::invoice(&self.cx, &self.desk, p.id, &items, &[])
            .await
            .map_err(failed("invoicing"))?;
        let paid = inv.due_minor() / part;
        let input = PaymentInput {
            method: method.as_str().into(),
            amount: format!("{}.{:02}", paid / 100, paid % 100),
            reference: if method == Method::Card {
                "T-0190".into()
            } else {
                String::new()
            },
            invoice_id: Some(inv.id),
            deposit: false,
        };
        billing::take_payment(&self.cx, &self.desk, p.id, &input)
            .await
            .map_err(failed("taking a payment"))?;
        Ok(())
    }

    /// A session taken as far as `upto`, each step at its time of the day:
    /// checked in 20 minutes before, the chart opened with the numbing cream
    /// on 25 minutes before, needling from the start, signed 40 minutes in.
    async fn session(
        &mut self,
        p: &Patient,
        a: &Appointment,
        upto: Stage,
        lot: &str,
    ) -> anyhow::Result<()> {
        let s = a.starts_at;
        let mins = SignedDuration::from_mins;
        if upto < Stage::CheckedIn || !self.has_come(s - mins(20)) {
            return Ok(());
        }
        self.set(s - mins(20))?;
        let a = booking::set_status(&self.cx, &self.desk, a, "checked_in", None, None)
            .await
            .map_err(failed("checking in"))?;
        if upto < Stage::BeingCharted || !self.has_come(s - mins(15)) {
            return Ok(());
        }
        self.set(s - mins(15))?;
        // A clinician confirms the screening at each visit.
        self.screen(p).await?;
        let chart = charting::open(&self.cx, &self.clinician, &a, None)
            .await
            .map_err(failed("opening a chart"))?;
        let sx = charting::load(&self.cx, &self.clinician, chart.id)
            .await
            .map_err(failed("loading a chart"))?;
        let antiviral_needed = sx
            .checks
            .iter()
            .any(|c| c.code == "antiviral" && !c.state.passes());
        let cream_on = (s - mins(25))
            .to_zoned(self.zone.clone())
            .strftime("%H:%M")
            .to_string();
        let input = ChecklistInput {
            anaesthetic_at: &cream_on,
            no_anaesthetic_reason: "",
            antiviral_taken: antiviral_needed,
            applied_now: false,
        };
        charting::save_checklist(&self.cx, &self.clinician, &sx, &input)
            .await
            .map_err(failed("saving a checklist"))?;
        for view in required_views(&sx.kb, &sx.planned) {
            self.photo(&sx, &view).await?;
        }
        if upto < Stage::Signed || !self.has_come(s + mins(40)) {
            return Ok(());
        }
        self.set(s + mins(5))?;
        let sx = charting::load(&self.cx, &self.clinician, chart.id)
            .await
            .map_err(failed("loading a chart"))?;
        charting::start(&self.cx, &self.clinician, &sx)
            .await
            .map_err(failed("starting to needle"))?;
        let plan = sx.plan.as_ref().context("a session has its plan")?;
        for area in &sx.planned {
            let depth = plan
                .plan
                .areas
                .iter()
                .find(|x| &x.area == area)
                .map(|x| x.depth.min.micrometres())
                .context("a planned area has its depth")?;
            let zone = ZoneInput {
                zone: area.clone(),
                depth: format!("{}.{:02}", depth / 1000, (depth % 1000) / 10),
                passes: "3".into(),
                device: "skinpen".into(),
                speed: String::new(),
                endpoint: "erythema".into(),
                notes: String::new(),
                override_reason: String::new(),
            };
            charting::save_zone(&self.cx, &self.clinician, &sx, &zone)
                .await
                .map_err(failed("charting a zone"))?;
        }
        let lot_id = self.lot(lot).await?.to_string();
        charting::add_lot(&self.cx, &self.clinician, &sx, &lot_id, "1")
            .await
            .map_err(failed("recording a lot"))?;
        self.set(s + mins(40))?;
        let sx = charting::load(&self.cx, &self.clinician, chart.id)
            .await
            .map_err(failed("loading a chart"))?;
        charting::sign(&self.cx, &self.clinician, &sx, sx.chart.version, &self.site)
            .await
            .map_err(failed("signing a chart"))?;
        Ok(())
    }

    /// A generated photo of `view`, cleaned and kept like an upload.
    async fn photo(&mut self, sx: &charting::Session, view: &str) -> anyhow::Result<()> {
        self.pictures += 1;
        let c = needlepoint_practice::photos::clean(&pictures::photo(self.pictures)?)
            .map_err(|e| anyhow!("demo photo: {}", e.message()))?;
        needlepoint_practice::photos::keep(&self.data_dir, &c)?;
        let photo = needlepoint_store::NewPhoto {
            clinic_id: sx.chart.clinic_id,
            patient_id: sx.chart.patient_id,
            chart_id: Some(sx.chart.id),
            view: view.to_string(),
            sha256: c.sha256.clone(),
            width: i64::from(c.width),
            height: i64::from(c.height),
            bytes: c.jpeg.len() as i64,
        };
        charting::add_photo(&self.cx, &self.clinician, sx, &photo)
            .await
            .map_err(failed("keeping a photo"))?;
        Ok(())
    }

    /// The id of one of the clinic's lots, by its number.
    async fn lot(&self, number: &str) -> anyhow::Result<i64> {
        self.cx
            .store
            .lots(self.clinic_id)
            .await?
            .into_iter()
            .find(|l| l.lot_number == number)
            .map(|l| l.id)
            .with_context(|| format!("the demo stock has no lot {number}"))
    }

    /// Today's list, around the hour the demo starts: a first session
    /// signed this morning (and the rest of its course booked), one being
    /// charted, one checked in, one still to come. The plans were accepted
    /// and the sessions booked three days ago.
    async fn todays_list(&mut self, patients: [Patient; 4]) -> anyhow::Result<()> {
        let now = self.started.to_zoned(self.zone.clone()).time();
        // Quarter hours, kept inside opening hours (08:00–20:00) with room
        // for the earliest of the four and for the latest one's length.
        let minutes = (i32::from(now.hour()) * 60 + i32::from(now.minute())) / 15 * 15;
        let base = minutes.clamp(10 * 60 + 30, 17 * 60 + 30);
        let stages = [
            (Stage::Signed, -150),
            (Stage::BeingCharted, -30),
            (Stage::CheckedIn, -15),
            (Stage::Booked, 45),
        ];
        let mut booked = vec![];
        for (p, (stage, offset)) in patients.iter().zip(stages) {
            self.set(self.at(-3, 9, 0))?;
            let r = self.accepted_plan(p).await?;
            let m = base + offset;
            let local =
                self.today
                    .to_datetime(Time::constant((m / 60) as i8, (m % 60) as i8, 0, 0));
            let want = Wanted {
                patient: p,
                kind: AppointmentKind::Session,
                plan: Some(&r),
                practitioner: None,
            };
            let a = booking::book_one(&self.cx, &self.desk, &want, local, None)
                .await
                .map_err(failed("booking today's list"))?;
            booked.push((p.clone(), r, a, stage));
        }
        for (p, r, a, stage) in booked {
            self.session(&p, &a, stage, EVERYDAY_LOT).await?;
            let done =
                self.cx.store.appointment(a.id).await?.status == AppointmentStatus::Completed;
            if done {
                self.set(a.starts_at + SignedDuration::from_mins(45))?;
                self.under_way(&r).await?;
                let r = self.cx.store.plan(r.id).await?;
                self.book_course(&p, &r).await?;
            }
        }
        Ok(())
    }

    /// The clinician marks the plan in progress once its first session
    /// is signed.
    async fn under_way(&self, r: &PlanRecord) -> anyhow::Result<()> {
        planning::set_status(
            &self.cx,
            &self.clinician,
            r.id,
            PlanStatus::InProgress,
            None,
        )
        .await
        .map_err(failed("starting a plan"))?;
        Ok(())
    }

    /// The outbox as it would stand: every message due before the demo
    /// started was sent when it fell due, into the mailbox folder the demo
    /// serves from; the rest stay scheduled.
    async fn post(&self) -> anyhow::Result<()> {
        use needlepoint_practice::messages::{deliver_due, MailboxFolder};
        let mailbox = MailboxFolder(self.data_dir.join("mailbox"));
        while let Some(due) = self
            .cx
            .store
            .due_messages(self.started, 500)
            .await?
            .iter()
            .map(|m| m.due_at)
            .min()
        {
            self.set(due)?;
            let (_, failed) = deliver_due(&self.cx, &mailbox, due).await?;
            if failed > 0 {
                bail!("the demo's mailbox refused a message");
            }
        }
        Ok(())
    }

    /// The patients of the courses under way answer their check-ins a few
    /// hours after each link: all as expected, but the last of the last
    /// patient reports more swelling than expected, which waits on Today
    /// for a clinician.
    async fn check_ins(&self, patients: &[Patient]) -> anyhow::Result<()> {
        use needlepoint_domain::triage::Answers;
        for (n, p) in patients.iter().enumerate() {
            let list = self.cx.store.patient_checkins(p.id).await?;
            let due: Vec<_> = list
                .iter()
                .filter(|k| self.has_come(k.due_at + SignedDuration::from_hours(3)))
                .filter(|k| k.answered_at.is_none())
                .collect();
            for (i, k) in due.iter().enumerate() {
                self.set(k.due_at + SignedDuration::from_hours(3))?;
                let last = n + 1 == patients.len() && i + 1 == due.len();
                let levels: &[(&str, u8)] = match (k.day, last) {
                    (_, true) => &[("swelling", 2), ("redness", 1)],
                    (1, _) => &[("redness", 1), ("pain", 2)],
                    _ => &[],
                };
                let answers = Answers {
                    levels: needlepoint_domain::triage::QUESTIONS
                        .iter()
                        .map(|q| {
                            let v = levels
                                .iter()
                                .find(|(c, _)| *c == q.code)
                                .map_or(0, |(_, v)| *v);
                            (q.code.to_string(), v)
                        })
                        .collect(),
                    note: if last {
                        "My cheeks are puffier than yesterday.".into()
                    } else {
                        String::new()
                    },
                };
                needlepoint_practice::checkins::answer(&self.cx, &self.data_dir, k, answers, None)
                    .await
                    .map_err(failed("answering a check-in"))?
                    .map_err(|r| anyhow!("demo check-in refused: {r:?}"))?;
            }
        }
        Ok(())
    }

    /// The maker recalls the lot used in the earliest sessions of the
    /// courses under way; its patients are told.
    async fn recall(&self) -> anyhow::Result<()> {
        self.set(self.started - SignedDuration::from_hours(2))?;
        let lot = self.lot(RECALLED_LOT).await?;
        stock::recall(
            &self.cx,
            &self.clinician,
            lot,
            "Maker's field safety notice FSN-2025-14: needle tips may be blunt.",
            true,
        )
        .await
        .map_err(failed("recalling a lot"))?;
        Ok(())
    }
}
