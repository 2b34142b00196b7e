//! The services on their own, without HTTP: each case runs on SQLite and on
//! PostgreSQL, at a fixed instant on the context's clock, never the wall's.

use jiff::civil::{date, time, Weekday};
use jiff::Timestamp;
use needlepoint_domain::history::{Concern, PatientHistory, Severity};
use needlepoint_domain::{PatientInput, PractitionerDetails, Role};
use needlepoint_practice::booking::{self, Wanted};
use needlepoint_practice::{
    access, accounts, charting, patients, planning, screening, settings, stock,
};
use needlepoint_practice::{Actor, Clock, Context, Error};
use needlepoint_store::testing::{fresh_store, seed, TestBackend};
use needlepoint_store::{Channel, NewConsent, NewStaff, Patient};

/// Monday 1 March 2027, 08:00 in London (GMT): before the clinic opens.
fn monday_morning() -> Timestamp {
    "2027-03-01T08:00:00Z".parse().unwrap()
}

/// A clinic open Monday to Saturday 9–18 with a room and a pen, a
/// clinician and a front desk there, a clinician at the organisation's
/// other clinic, and a patient with acne scars on the cheeks.
struct Practice {
    cx: Context,
    clinician: Actor,
    desk: Actor,
    /// Works at the other clinic only.
    stranger: Actor,
    other_clinic: i64,
    patient: Patient,
}

async fn actor(cx: &Context, org: i64, email: &str, role: Role, clinic: i64) -> Actor {
    let staff = cx
        .store
        .create_staff(
            &NewStaff {
                organisation_id: org,
                email: email.into(),
                name: email.into(),
                role,
                password_hash: "not-a-hash".into(),
                practitioner: (role == Role::Clinician)
                    .then(|| PractitionerDetails::parse("Nurse Test", "Nurse", "").unwrap()),
                clinic_ids: vec![clinic],
            },
            &needlepoint_store::Actor::system("test"),
            cx.now(),
        )
        .await
        .unwrap();
    Actor {
        audit: needlepoint_store::Actor {
            staff_id: Some(staff.id),
            label: email.into(),
            channel: Channel::Web,
            ip: None,
        },
        clinic_ids: vec![clinic],
        role,
        staff,
    }
}

async fn practice(b: TestBackend) -> Practice {
    let s = seed(fresh_store(b).await).await;
    let kb = needlepoint_knowledge::shipped().unwrap();
    let cx = Context::new(s.store.clone(), kb, Clock::fixed(monday_morning()));
    let sys = needlepoint_store::Actor::system("test");
    let other = cx
        .store
        .create_clinic(
            s.organisation_id,
            &needlepoint_domain::ClinicDetails::parse("Other Clinic", "Europe/London", "", "")
                .unwrap(),
            &sys,
            cx.now(),
        )
        .await
        .unwrap();
    let hours = needlepoint_domain::scheduling::WeeklyHours::weekdays(
        time(9, 0, 0, 0),
        time(18, 0, 0, 0),
        Weekday::Saturday,
    );
    cx.store
        .set_clinic_hours(s.clinic_id, &hours, &sys, cx.now())
        .await
        .unwrap();
    cx.store
        .create_room(
            s.clinic_id,
            &needlepoint_domain::RoomDetails::parse("Room 1").unwrap(),
            &sys,
            cx.now(),
        )
        .await
        .unwrap();
    let pen =
        needlepoint_domain::DeviceDetails::parse("Pen A", "SkinPen Precision", "", "2.5").unwrap();
    cx.store
        .create_device(s.clinic_id, &pen, &sys, cx.now())
        .await
        .unwrap();
    let clinician = actor(
        &cx,
        s.organisation_id,
        "nurse@example.com",
        Role::Clinician,
        s.clinic_id,
    )
    .await;
    let desk = actor(
        &cx,
        s.organisation_id,
        "desk@example.com",
        Role::FrontDesk,
        s.clinic_id,
    )
    .await;
    let stranger = actor(
        &cx,
        s.organisation_id,
        "elsewhere@example.com",
        Role::Clinician,
        other.id,
    )
    .await;
    let details = PatientInput {
        given_name: "Amara".into(),
        family_name: "Osei".into(),
        date_of_birth: "1990-02-28".into(),
        sex: "female".into(),
        email: "amara@example.com".into(),
        ..Default::default()
    }
    .validate(date(2027, 3, 1))
    .unwrap();
    let patient = cx
        .store
        .create_patient(s.clinic_id, &details, &clinician.audit, cx.now())
        .await
        .unwrap();
    let history = PatientHistory {
        date_of_birth: Some(date(1990, 2, 28)),
        fitzpatrick: Some(2),
        concerns: vec![Concern {
            indication: "acne_scars".into(),
            area: "cheeks".into(),
            severity: Severity::Moderate,
        }],
        ..Default::default()
    };
    cx.store
        .add_history_version(
            patient.id,
            &history,
            "clinician",
            None,
            &clinician.audit,
            cx.now(),
        )
        .await
        .unwrap();
    Practice {
        cx,
        clinician,
        desk,
        stranger,
        other_clinic: other.id,
        patient,
    }
}

/// Screening, planning, booking and opening the chart, each refused to the
/// wrong role and the wrong clinic, and each judged on the context's clock:
/// the chart opens on the appointment's day, and a no-show is recorded only
/// once the appointment has started.
async fn a_course_runs_on_the_injected_clock(b: TestBackend) {
    let Practice {
        cx,
        clinician,
        desk,
        stranger,
        patient: p,
        ..
    } = practice(b).await;
    let cheeks = vec!["cheeks".to_string()];
    let today = cx.clinic_today(p.clinic_id).await.unwrap();
    assert_eq!(today, date(2027, 3, 1), "the clinic's today is the clock's");

    assert!(matches!(
        screening::run(&cx, &desk, &p, &cheeks, Some(today)).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        screening::run(&cx, &stranger, &p, &cheeks, Some(today)).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        access::patient(&cx, &stranger, p.id).await,
        Err(Error::NotFound)
    ));
    let s = screening::run(&cx, &clinician, &p, &cheeks, None)
        .await
        .unwrap();
    assert_eq!(s.result.on, today);

    assert!(matches!(
        planning::create(&cx, &desk, &p, "skinpen").await,
        Err(Error::Forbidden(_))
    ));
    let plan = planning::create(&cx, &clinician, &p, "skinpen")
        .await
        .unwrap();
    assert_eq!(plan.plan.earliest_start, today);
    let plan = accepted(&cx, &clinician, plan).await;

    // Tuesday 10:00: booked by the front desk, who may not break a window.
    let want = Wanted {
        patient: &p,
        kind: needlepoint_domain::appointment::AppointmentKind::Session,
        plan: Some(&plan),
        practitioner: None,
    };
    let tuesday_ten = date(2027, 3, 2).at(10, 0, 0, 0);
    assert!(matches!(
        booking::book_one(&cx, &desk, &want, tuesday_ten, Some("in a hurry")).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        booking::book_one(&cx, &stranger, &want, tuesday_ten, None).await,
        Err(Error::NotFound)
    ));
    let a = booking::book_one(&cx, &desk, &want, tuesday_ten, None)
        .await
        .unwrap();
    assert_eq!(a.starts_at, "2027-03-02T10:00:00Z".parse().unwrap());
    let queued = cx.store.messages(p.clinic_id, 10).await.unwrap();
    assert!(
        queued
            .iter()
            .any(|m| m.kind == "confirmation" && m.appointment_id == Some(a.id)),
        "the confirmation is queued with the booking: {queued:?}"
    );

    // Monday: the day before, the chart needs a clinician's reason.
    match charting::open(&cx, &clinician, &a, None).await {
        Err(Error::Invalid(i)) => assert!(i.message_for("reason").is_some(), "{i:?}"),
        other => panic!("opened a day early without a reason: {other:?}"),
    }
    // Tuesday 09:30: the day has come; still too early for a no-show.
    cx.clock.set("2027-03-02T09:30:00Z".parse().unwrap());
    let chart = charting::open(&cx, &clinician, &a, None).await.unwrap();
    assert_eq!(chart.off_day_reason, None);
    let session = charting::load(&cx, &clinician, chart.id).await.unwrap();
    assert_eq!(session.today, date(2027, 3, 2));
    assert!(matches!(
        charting::load(&cx, &stranger, chart.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        booking::set_status(&cx, &desk, &a, "no_show", None, None).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        cx.store.appointment(a.id).await.unwrap().status,
        needlepoint_domain::appointment::AppointmentStatus::Booked,
        "nothing changed"
    );
}

/// An expired lot is refused as of the context's today; a recall at one
/// clinic keeps the same lot out of every clinic's stock; only a
/// clinician at the lot's clinic recalls it.
async fn stock_refuses_expired_and_recalled_lots(b: TestBackend) {
    let Practice {
        cx,
        clinician,
        desk,
        stranger,
        other_clinic,
        patient,
    } = practice(b).await;
    let item = |clinic_id| stock::ItemInput {
        clinic_id,
        kind: "cartridge".into(),
        name: "SkinPen cartridge".into(),
        supplier: "Crown Aesthetics".into(),
        intradermal: false,
        reorder_at: Some(5),
    };
    let here = stock::add_item(&cx, &desk, &item(patient.clinic_id))
        .await
        .unwrap();
    let there = stock::add_item(&cx, &stranger, &item(other_clinic))
        .await
        .unwrap();
    assert!(matches!(
        stock::add_item(&cx, &desk, &item(other_clinic)).await,
        Err(Error::NotFound)
    ));
    let lot = |item_id, expires_on: &str| stock::LotInput {
        item_id: Some(item_id),
        lot_number: "L-2291".into(),
        expires_on: expires_on.into(),
        quantity: Some(10),
    };
    match stock::receive(&cx, &desk, &lot(here.id, "2027-02-28")).await {
        Err(Error::Invalid(i)) => assert!(i.message_for("expires_on").is_some(), "{i:?}"),
        other => panic!("took an expired lot into stock: {other:?}"),
    }
    let received = stock::receive(&cx, &desk, &lot(here.id, "2028-01-31"))
        .await
        .unwrap();

    assert!(matches!(
        stock::recall(&cx, &desk, received.id, "Maker's notice 7", false).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        stock::recall(&cx, &stranger, received.id, "Maker's notice 7", false).await,
        Err(Error::NotFound)
    ));
    match stock::recall(&cx, &clinician, received.id, " ", false).await {
        Err(Error::Invalid(i)) => assert!(i.message_for("reason").is_some()),
        other => panic!("recalled without a reason: {other:?}"),
    }
    let r = stock::recall(&cx, &clinician, received.id, "Maker's notice 7", false)
        .await
        .unwrap();
    assert_eq!(r.lot.recalled_at, Some(monday_morning()));

    // The same lot arriving at the other clinic afterwards stays out.
    match stock::receive(&cx, &stranger, &lot(there.id, "2028-01-31")).await {
        Err(Error::Invalid(i)) => {
            let m = i.message_for("lot_number").unwrap_or_default();
            assert!(m.contains("recalled on 1 March 2027"), "{m}");
        }
        other => panic!("took a recalled lot into stock: {other:?}"),
    }
    assert!(cx.store.lots(other_clinic).await.unwrap().is_empty());
}

/// The record's people and settings: a patient joins one of the actor's
/// clinics and is corrected only from the version read; notes are for
/// clinicians; a token never exceeds the role acting; only an owner changes
/// settings, and only a practitioner is named medical director.
async fn people_and_settings_follow_their_rules(b: TestBackend) {
    let Practice {
        cx,
        clinician,
        desk,
        stranger,
        other_clinic,
        patient,
    } = practice(b).await;
    let input = PatientInput {
        given_name: "Noor".into(),
        family_name: "Haddad".into(),
        date_of_birth: "2027-03-02".into(),
        sex: "female".into(),
        ..Default::default()
    };
    // Born tomorrow, by the context's clock, and at a clinic not the desk's:
    // both said at once.
    match patients::register(&cx, &desk, Some(other_clinic), &input).await {
        Err(Error::Invalid(i)) => {
            assert!(i.message_for("date_of_birth").is_some(), "{i:?}");
            assert!(i.message_for("clinic_id").is_some(), "{i:?}");
        }
        other => panic!("registered: {other:?}"),
    }
    let born = PatientInput {
        date_of_birth: "1988-05-04".into(),
        ..input
    };
    let noor = patients::register(&cx, &desk, None, &born).await.unwrap();
    assert_eq!(noor.clinic_id, patient.clinic_id, "the desk's only clinic");
    let renamed = PatientInput {
        given_name: "Nour".into(),
        ..born.clone()
    };
    patients::update(&cx, &desk, noor.id, noor.version, &renamed)
        .await
        .unwrap();
    assert!(
        matches!(
            patients::update(&cx, &desk, noor.id, noor.version, &born).await,
            Err(Error::Conflict(_))
        ),
        "an edit of a version someone has changed since"
    );
    assert!(matches!(
        patients::view(&cx, &stranger, noor.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        patients::add_note(&cx, &desk, noor.id, "Prefers mornings.").await,
        Err(Error::Forbidden(_))
    ));
    let note = patients::add_note(&cx, &clinician, noor.id, "Prefers mornings.")
        .await
        .unwrap();
    assert_eq!(note.created_at, cx.now());

    match accounts::create_token(&cx, &desk, "reports", "owner", "hash-1").await {
        Err(Error::Invalid(i)) => assert!(i.message_for("role").is_some()),
        other => panic!("a front desk made an owner's token: {other:?}"),
    }
    let t = accounts::create_token(&cx, &desk, "reports", "front_desk", "hash-2")
        .await
        .unwrap();
    assert_eq!(t.role, Role::FrontDesk);

    assert!(matches!(
        settings::set_staff_active(&cx, &clinician, desk.staff.id, false).await,
        Err(Error::Forbidden(_))
    ));
    let owner = Actor {
        role: Role::Owner,
        clinic_ids: vec![patient.clinic_id, other_clinic],
        ..clinician.clone()
    };
    match settings::set_medical_director(&cx, &owner, desk.staff.id, true).await {
        Err(Error::Refused(r)) => assert!(r[0].contains("practitioner"), "{r:?}"),
        other => panic!("a front desk named medical director: {other:?}"),
    }
    let md = settings::set_medical_director(&cx, &owner, clinician.staff.id, true)
        .await
        .unwrap();
    assert!(md.medical_director);
}

/// Signs a consent for the plan as it stands and accepts it.
async fn accepted(
    cx: &Context,
    clinician: &Actor,
    plan: needlepoint_store::PlanRecord,
) -> needlepoint_store::PlanRecord {
    cx.store
        .sign_consent(
            &NewConsent {
                plan_id: plan.id,
                plan_version: plan.version,
                text: "I agree.".into(),
                sha256: "abc".into(),
                photo_use: "clinical_record_only".into(),
                typed_name: "Amara Osei".into(),
                signature: "data:image/png;base64,AAAA".into(),
                guardian: None,
                ip: None,
            },
            &clinician.audit,
            cx.now(),
        )
        .await
        .unwrap();
    cx.store
        .set_plan_status(
            plan.id,
            needlepoint_domain::plan::PlanStatus::Accepted,
            None,
            &clinician.audit,
            cx.now(),
        )
        .await
        .unwrap()
}

/// Hair loss on the scalp (weekly × 12) and stretch marks on the abdomen
/// (every 4–6 weeks × 3) make two tracks in one plan. The course books the
/// scalp every week and the abdomen on the scalp's visits that fall in its
/// window; each chart plans only the areas of its visit.
async fn tracks_share_visits_where_their_windows_meet(b: TestBackend) {
    let Practice {
        cx,
        clinician,
        desk,
        patient: p,
        ..
    } = practice(b).await;
    let concern = |indication: &str, area: &str| Concern {
        indication: indication.into(),
        area: area.into(),
        severity: Severity::Moderate,
    };
    let history = PatientHistory {
        date_of_birth: Some(date(1990, 2, 28)),
        fitzpatrick: Some(2),
        concerns: vec![
            concern("androgenetic_alopecia", "scalp"),
            concern("striae", "abdomen"),
        ],
        ..Default::default()
    };
    cx.store
        .add_history_version(
            p.id,
            &history,
            "clinician",
            None,
            &clinician.audit,
            cx.now(),
        )
        .await
        .unwrap();
    let today = cx.clinic_today(p.clinic_id).await.unwrap();
    let areas = vec!["scalp".to_string(), "abdomen".to_string()];
    screening::run(&cx, &clinician, &p, &areas, Some(today))
        .await
        .unwrap();
    let plan = planning::create(&cx, &clinician, &p, "skinpen")
        .await
        .unwrap();
    let tracks: Vec<(Vec<String>, u32)> = plan
        .plan
        .tracks
        .iter()
        .map(|t| (t.areas.clone(), t.sessions))
        .collect();
    assert_eq!(
        tracks,
        [
            (vec!["scalp".to_string()], 12),
            (vec!["abdomen".to_string()], 3)
        ]
    );
    let plan = accepted(&cx, &clinician, plan).await;

    let proposed = booking::propose(&cx, &p, &plan, &booking::Preferences::default())
        .await
        .unwrap();
    assert_eq!(proposed.len(), 12, "the abdomen rides on scalp visits");
    let days = |area: &str| -> Vec<jiff::civil::Date> {
        proposed
            .iter()
            .filter(|c| c.areas.iter().any(|a| a == area))
            .map(|c| c.slot.local.date())
            .collect()
    };
    assert_eq!(days("scalp").len(), 12);
    assert_eq!(
        days("abdomen"),
        [date(2027, 3, 1), date(2027, 3, 29), date(2027, 4, 26)],
        "every 4 weeks, on the scalp's Mondays"
    );
    for w in days("scalp").windows(2) {
        assert_eq!((w[1] - w[0]).get_days(), 7, "weekly: {w:?}");
    }

    let booked = booking::book(&cx, &desk, &p, &plan, &proposed)
        .await
        .unwrap();
    assert_eq!(booked.len(), 12);
    // One confirmation for the course: every session listed, one .ics
    // holding them all; the reminders are per session.
    let queued = cx.store.messages(p.clinic_id, 100).await.unwrap();
    let confirmations: Vec<_> = queued
        .iter()
        .filter(|m| m.kind == "confirmation" && m.patient_id == Some(p.id))
        .collect();
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    let c = confirmations[0];
    assert!(
        c.subject.contains("course of 12 microneedling sessions"),
        "{}",
        c.subject
    );
    for n in 1..=12 {
        assert!(
            c.body.contains(&format!("(microneedling session {n})")),
            "session {n} is listed: {}",
            c.body
        );
    }
    let ics = c.attachment.as_deref().expect("the course's calendar");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 12);
    for a in &booked {
        assert!(ics.contains(&format!("UID:appointment-{}@needlepoint", a.id)));
        let reminders = queued
            .iter()
            .filter(|m| m.appointment_id == Some(a.id) && m.kind.starts_with("reminder_"))
            .count();
        // A reminder whose time has already passed is not sent late.
        let due = [48, 24]
            .iter()
            .filter(|h| a.starts_at - jiff::SignedDuration::from_hours(**h) >= cx.now())
            .count();
        assert_eq!(reminders, due, "appointment {}", a.id);
        assert!(a.id == booked[0].id || due == 2);
    }
    assert_eq!(
        booked[0].areas.as_deref(),
        Some(&["scalp".to_string(), "abdomen".to_string()][..])
    );
    assert_eq!(booked[1].areas.as_deref(), Some(&["scalp".to_string()][..]));
    let length = |a: &needlepoint_store::Appointment| a.ends_at.duration_since(a.starts_at);
    assert!(
        length(&booked[0]) > length(&booked[1]),
        "a visit lasts as long as its areas need: {:?} and {:?}",
        length(&booked[0]),
        length(&booked[1])
    );
    let want = Wanted {
        patient: &p,
        kind: needlepoint_domain::appointment::AppointmentKind::Session,
        plan: Some(&plan),
        practitioner: None,
    };
    match booking::book_one(&cx, &desk, &want, date(2027, 6, 1).at(10, 0, 0, 0), None).await {
        Err(e @ Error::Refused(_)) => assert!(e.message().contains("Every session"), "{e:?}"),
        other => panic!("booked past the course: {other:?}"),
    }

    // Moving the scalp's second visit two days after the first breaks the
    // scalp's weekly window, and the refusal says which track's.
    let too_soon = booking::MoveRequest {
        local: Some(date(2027, 3, 3).at(10, 0, 0, 0)),
        ..Default::default()
    };
    match booking::move_appointment(&cx, &desk, &booked[1], &too_soon).await {
        Err(Error::TimeRefused(r)) => assert!(
            r.iter().any(|x| x
                .message
                .contains("the interval for Scalp is at least 7 days")),
            "{r:?}"
        ),
        other => panic!("moved into the scalp's healing time: {other:?}"),
    }

    // The second visit treats the scalp only: its chart plans just that.
    let second = &booked[1];
    cx.clock.set(second.starts_at);
    let chart = charting::open(&cx, &clinician, second, None).await.unwrap();
    let session = charting::load(&cx, &clinician, chart.id).await.unwrap();
    assert_eq!(session.planned, ["scalp"]);
    // The abdomen is in the plan and the consent, but its track is not due:
    // needling it today takes a reason and flags the zone.
    let abdomen = |reason: &str| needlepoint_domain::charting::ZoneInput {
        zone: "abdomen".into(),
        depth: "1.5".into(),
        passes: "3".into(),
        device: "skinpen".into(),
        endpoint: "erythema".into(),
        override_reason: reason.into(),
        ..Default::default()
    };
    match charting::save_zone(&cx, &clinician, &session, &abdomen("")).await {
        Err(Error::Invalid(i)) => assert!(
            i.message_for("zone")
                .is_some_and(|m| m.contains("not planned for this session")),
            "{i:?}"
        ),
        other => panic!("needled an area whose track is not due: {other:?}"),
    }
    // With a reason the rule lets it through (the flag itself is checked in
    // the charting cases); the record then wants the session started first.
    match charting::save_zone(&cx, &clinician, &session, &abdomen("Travels next month")).await {
        Err(Error::Conflict(m)) => assert!(m.contains("start the session"), "{m}"),
        other => panic!("expected the chart to want starting: {other:?}"),
    }
    let first = charting::session(&cx, {
        cx.clock.set(booked[0].starts_at);
        charting::open(&cx, &clinician, &booked[0], Some("Charted late"))
            .await
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(first.planned, ["scalp", "abdomen"]);
}

/// Fine lines every 30 days (Ablon 2018): the fourth session's 30th day is
/// a Sunday, when the clinic is closed. It books the Monday after, inside
/// the clinic's tolerance; never earlier than 30 days. A clinic that
/// allows no tolerance is told which session finds no time.
async fn a_course_lands_on_an_open_day_within_the_tolerance(b: TestBackend) {
    let Practice {
        cx,
        clinician,
        patient: p,
        ..
    } = practice(b).await;
    let history = PatientHistory {
        date_of_birth: Some(date(1990, 2, 28)),
        fitzpatrick: Some(2),
        concerns: vec![Concern {
            indication: "fine_lines".into(),
            area: "forehead".into(),
            severity: Severity::Moderate,
        }],
        ..Default::default()
    };
    cx.store
        .add_history_version(
            p.id,
            &history,
            "clinician",
            None,
            &clinician.audit,
            cx.now(),
        )
        .await
        .unwrap();
    let today = cx.clinic_today(p.clinic_id).await.unwrap();
    screening::run(&cx, &clinician, &p, &["forehead".to_string()], Some(today))
        .await
        .unwrap();
    let plan = planning::create(&cx, &clinician, &p, "skinpen")
        .await
        .unwrap();
    assert_eq!(String::from(plan.plan.tracks[0].interval), "30-30 days");
    let plan = accepted(&cx, &clinician, plan).await;
    let proposed = booking::propose(&cx, &p, &plan, &booking::Preferences::default())
        .await
        .unwrap();
    let days: Vec<jiff::civil::Date> = proposed.iter().map(|c| c.slot.local.date()).collect();
    assert_eq!(
        days,
        [
            date(2027, 3, 1),
            date(2027, 3, 31),
            date(2027, 4, 30),
            date(2027, 5, 31)
        ],
        "30 days apart, and the Monday after the closed Sunday"
    );
    cx.store
        .add_knowledge_override(
            p.clinic_id,
            "planning.interval_tolerance.days",
            "0",
            "Exactly as in the trial",
            &clinician.audit,
            cx.now(),
        )
        .await
        .unwrap();
    match booking::propose(&cx, &p, &plan, &booking::Preferences::default()).await {
        Err(e) => assert!(e.message().contains("session 4"), "{e:?}"),
        Ok(c) => panic!("booked a closed Sunday or off the interval: {:?}", c.len()),
    }
}

macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { super::$case(super::TestBackend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { super::$case(super::TestBackend::Postgres).await } )*
        }
    };
}

on_both!(
    a_course_runs_on_the_injected_clock,
    stock_refuses_expired_and_recalled_lots,
    people_and_settings_follow_their_rules,
    tracks_share_visits_where_their_windows_meet,
    a_course_lands_on_an_open_day_within_the_tolerance,
);
