//! One suite, two databases: every case runs against SQLite and PostgreSQL.

use jiff::{SignedDuration, Timestamp};
use needlepoint_domain::{
    ClinicDetails, DeviceDetails, PatientInput, PriceItemDetails, Role, RoomDetails,
};
use needlepoint_store::testing::{fresh_store, fresh_store_at, now, seed, seeded, TestBackend};
use needlepoint_store::*;

mod accounts;
mod after;
mod billing;
mod charting;
mod clinics;
mod generate;
mod patients;
mod plans;
mod record;
mod scheduling;
mod screening;
mod stock;

fn actor(staff_id: i64) -> Actor {
    Actor {
        staff_id: Some(staff_id),
        label: format!("staff:{staff_id}"),
        channel: Channel::Web,
        ip: Some("127.0.0.1".into()),
    }
}

fn patient(given: &str, family: &str, dob: &str) -> needlepoint_domain::PatientDetails {
    PatientInput {
        given_name: given.into(),
        family_name: family.into(),
        date_of_birth: dob.into(),
        sex: "female".into(),
        email: format!("{}@example.com", given.to_lowercase()),
        ..Default::default()
    }
    .validate(jiff::civil::date(2026, 11, 22))
    .unwrap()
}

fn new_staff(org: i64, email: &str, role: Role, clinics: Vec<i64>) -> NewStaff {
    NewStaff {
        organisation_id: org,
        email: email.into(),
        name: email.split('@').next().unwrap().into(),
        role,
        password_hash: "hash".into(),
        practitioner: None,
        clinic_ids: clinics,
    }
}

fn history(pregnant: bool) -> needlepoint_domain::history::PatientHistory {
    needlepoint_domain::history::PatientHistory {
        date_of_birth: Some(jiff::civil::date(1990, 1, 1)),
        pregnant,
        ..Default::default()
    }
}

fn result(
    status: needlepoint_domain::screening::Status,
) -> needlepoint_domain::screening::Screening {
    needlepoint_domain::screening::Screening {
        on: jiff::civil::date(2026, 11, 22),
        knowledge_version: "test".into(),
        status,
        deferral: None,
        precautions: vec![],
        areas: vec![],
    }
}

fn proposal() -> needlepoint_domain::planning::Proposal {
    use needlepoint_domain::knowledge::{DepthRange, Interval};
    needlepoint_domain::planning::Proposal {
        tracks: vec![needlepoint_domain::planning::Track {
            areas: vec!["cheeks".into()],
            indications: vec!["acne_scars".into()],
            sessions: 3,
            sessions_min: 3,
            sessions_max: 5,
            interval: Interval::try_from("4-6 weeks".to_string()).unwrap(),
            reconciliation: vec![],
        }],
        reconciliation: vec![],
        areas: vec![needlepoint_domain::planning::PlannedArea {
            area: "cheeks".into(),
            indications: vec!["acne_scars".into()],
            guideline: DepthRange::parse("0.5-1.0").unwrap(),
            depth: DepthRange::parse("0.5-1.0").unwrap(),
            notes: vec![],
        }],
        excluded: vec![],
        earliest_start: jiff::civil::date(2026, 11, 22),
        precautions: vec![],
        pretreatment: vec![],
        downtime: vec![],
        adjuncts: vec![],
    }
}

/// A patient with a history and an eligible screening, ready to plan.
async fn screened_patient(
    s: &needlepoint_store::testing::Seeded,
    given: &str,
    family: &str,
) -> (Patient, ScreeningRecord) {
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient(given, family, "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let v = s
        .store
        .add_history_version(p.id, &history(false), "clinician", None, &a, now())
        .await
        .unwrap();
    let result = result(needlepoint_domain::screening::Status::Eligible);
    let sc = s
        .store
        .record_screening(p.id, v.id, &result, &a, now())
        .await
        .unwrap();
    (p, sc)
}

fn consent(plan: &PlanRecord) -> NewConsent {
    NewConsent {
        plan_id: plan.id,
        plan_version: plan.version,
        text: "I agree.".into(),
        sha256: "abc".into(),
        photo_use: "clinical_record_only".into(),
        typed_name: "Pat Ient".into(),
        signature: "data:image/png;base64,AAAA".into(),
        guardian: None,
        ip: None,
    }
}

/// A room "R1" at the seeded clinic, for the cases that book.
async fn room(s: &needlepoint_store::testing::Seeded) -> i64 {
    s.store
        .create_room(
            s.clinic_id,
            &RoomDetails::parse("R1").unwrap(),
            &actor(s.owner_id),
            now(),
        )
        .await
        .unwrap()
        .id
}

fn appointment(
    s: &needlepoint_store::testing::Seeded,
    patient_id: i64,
    room: i64,
    start: &str,
    minutes: i64,
) -> NewAppointment {
    let starts_at: Timestamp = start.parse().unwrap();
    NewAppointment {
        clinic_id: s.clinic_id,
        patient_id,
        plan_id: None,
        session_number: None,
        kind: needlepoint_domain::appointment::AppointmentKind::Session,
        practitioner_id: Some(s.owner_id),
        room_id: Some(room),
        device_id: None,
        starts_at,
        ends_at: starts_at + SignedDuration::from_mins(minutes),
        local_start: start.into(),
        time_zone: "Europe/London".into(),
        window_override: None,
        areas: None,
    }
}

fn status<'a>(status: &'a str, reason: Option<&'a str>) -> StatusChange<'a> {
    StatusChange {
        status: needlepoint_domain::appointment::AppointmentStatus::parse(status).unwrap(),
        reason,
        cancelled_by: None,
        fee_minor: None,
    }
}

fn moved(a: &Appointment, room: i64, start: &str, minutes: i64) -> Move {
    let starts_at: Timestamp = start.parse().unwrap();
    Move {
        id: a.id,
        practitioner_id: a.practitioner_id,
        room_id: Some(room),
        device_id: a.device_id,
        starts_at,
        ends_at: starts_at + SignedDuration::from_mins(minutes),
        local_start: start.into(),
        window_override: None,
        fee_minor: None,
    }
}

fn zone_record(
    zone: &str,
    um: u32,
    flag: Option<&str>,
) -> needlepoint_domain::charting::ZoneRecord {
    needlepoint_domain::charting::ZoneRecord {
        zone: zone.into(),
        depth: needlepoint_domain::Depth::from_micrometres(um).unwrap(),
        passes: 3,
        device: "skinpen".into(),
        speed: "single speed".into(),
        endpoint: needlepoint_domain::charting::Endpoint::Erythema,
        notes: String::new(),
        override_reason: flag.map(|_| "agreed".to_string()),
        flag: flag.map(str::to_string),
    }
}

/// A seeded clinic with a patient, a booked session, a cartridge with one lot
/// of 10 and a serum with one lot of 5.
async fn charting_setup(
    b: TestBackend,
) -> (needlepoint_store::testing::Seeded, Appointment, Lot, Lot) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Cy", "Chart", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let room = room(&s).await;
    let appt = s
        .store
        .book(
            &[appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 90)],
            &a,
            now(),
        )
        .await
        .unwrap()
        .remove(0);
    use needlepoint_domain::charting::SupplyKind;
    let mut lots = vec![];
    for (kind, name, q) in [
        (SupplyKind::Cartridge, "SkinPen 14-pin cartridge", 10),
        (SupplyKind::Product, "Vitamin C serum", 5),
    ] {
        let item = s
            .store
            .create_supply_item(
                s.clinic_id,
                &NewSupplyItem {
                    kind,
                    name: name.into(),
                    supplier: "Crown".into(),
                    intradermal: false,
                    reorder_at: 8,
                },
                &a,
                now(),
            )
            .await
            .unwrap();
        lots.push(
            s.store
                .receive_lot(
                    &NewLot {
                        item_id: item.id,
                        lot_number: format!("L-{q}"),
                        expires_on: jiff::civil::date(2027, 6, 30),
                        quantity: q,
                    },
                    &a,
                    now(),
                )
                .await
                .unwrap(),
        );
    }
    let serum = lots.pop().unwrap();
    (s, appt, lots.pop().unwrap(), serum)
}

macro_rules! conformance {
    ($($area:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { super::$area::$case(super::TestBackend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $case() { super::$area::$case(super::TestBackend::Postgres).await } )*
        }
    };
}

conformance!(
    accounts::setup_is_once_and_audited,
    accounts::migrations_are_idempotent,
    accounts::staff_emails_are_unique_and_case_blind,
    accounts::sessions_expire_and_log_out,
    accounts::failed_logins_count_since_last_success,
    accounts::api_tokens_are_used_and_revoked,
    accounts::staff_see_only_their_clinics,
    patients::patient_search_matches_every_word,
    patients::patient_search_finds_what_people_type,
    patients::patient_counts_stop_at_a_thousand,
    patients::search_pages_follow_the_ranking_rules,
    patients::clinic_patient_counts_are_kept_with_the_patients,
    patients::a_failed_patient_write_leaves_no_index_entry,
    patients::patients_recorded_before_the_index_are_found,
    patients::patient_updates_check_version_and_audit_changes,
    record::audit_log_is_append_only_in_the_database,
    record::the_audit_chain_finds_rows_changed_by_hand,
    record::the_audit_walk_reads_page_after_page,
    record::lifecycle_words_are_checked_by_the_database,
    record::every_view_is_audited_before_it_returns,
    clinics::rooms_devices_and_prices_round_trip,
    patients::clinical_notes_keep_author_and_order,
    record::backup_makes_a_consistent_copy_or_says_how,
    accounts::deactivated_staff_lose_access_but_not_the_last_owner,
    record::concurrent_writes_all_commit,
    screening::histories_and_screenings_are_kept_as_written,
    screening::knowledge_overrides_keep_who_and_why,
    screening::intake_links_work_once_and_expire,
    screening::patients_make_their_own_intake_links,
    plans::plans_need_a_covering_consent_and_freeze_when_accepted,
    plans::consent_links_sign_once,
    plans::plans_saved_before_tracks_become_one_track,
    clinics::pricing_and_typed_price_items_round_trip,
    scheduling::an_appointment_moves_through_its_lifecycle,
    scheduling::messages_are_queued_with_the_change_or_not_at_all,
    scheduling::nothing_is_booked_twice,
    scheduling::racing_bookings_one_wins,
    clinics::hours_and_closures_round_trip,
    scheduling::moves_are_whole_and_never_double_book,
    clinics::policies_templates_and_fees_round_trip,
    charting::charts_are_read_only_once_signed_and_take_stock,
    charting::the_database_refuses_to_change_a_signed_chart,
    charting::a_flagged_session_waits_for_a_second_signoff,
    stock::recalls_reach_the_chain_find_every_use_and_message_once,
    stock::stock_is_received_counted_and_usable_until_expiry,
    charting::photos_are_recorded_with_their_view,
    generate::a_generated_chain_is_whole_and_recallable,
    after::checkins_come_with_the_signature_and_are_answered_once,
    after::adverse_events_are_signed_amended_and_found_by_lot,
    after::patient_codes_work_once_and_lock_after_five_wrong,
    billing::any_sequence_keeps_the_books_balanced,
    billing::the_last_package_session_goes_to_one_payment,
    billing::a_provider_event_is_applied_once,
    billing::a_credit_note_frees_money_to_refund,
);
