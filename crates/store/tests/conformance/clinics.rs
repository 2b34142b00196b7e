//! Clinic set-up: rooms, devices, prices, opening hours and closures, policies and wording.

use super::*;

pub async fn rooms_devices_and_prices_round_trip(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    s.store
        .create_room(
            s.clinic_id,
            &RoomDetails::parse("Room 1").unwrap(),
            &a,
            now(),
        )
        .await
        .unwrap();
    let dup = s
        .store
        .create_room(
            s.clinic_id,
            &RoomDetails::parse("Room 1").unwrap(),
            &a,
            now(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let dev = DeviceDetails::parse("Pen A", "SkinPen Precision", "SP-001", "2.5").unwrap();
    s.store
        .create_device(s.clinic_id, &dev, &a, now())
        .await
        .unwrap();
    let got = s.store.devices(s.clinic_id).await.unwrap();
    assert_eq!(got[0].details, dev);
    assert_eq!(got[0].details.max_depth.micrometres(), 2500);
    let price = PriceItemDetails::parse("face", "Full face", "250.00", "gbp").unwrap();
    s.store
        .create_price_item(s.clinic_id, &price, &a, now())
        .await
        .unwrap();
    let items = s.store.price_items(s.clinic_id).await.unwrap();
    assert_eq!(
        (
            items[0].details.amount_minor,
            items[0].details.currency.as_str()
        ),
        (25000, "GBP")
    );
    assert_eq!(s.store.rooms(s.clinic_id).await.unwrap().len(), 1);
}

pub async fn pricing_and_typed_price_items_round_trip(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let default = s.store.clinic_pricing(s.clinic_id).await.unwrap();
    assert_eq!(
        (
            default.currency.as_str(),
            default.tax_rate_bp,
            default.tax_included
        ),
        ("GBP", 0, true)
    );
    let p = needlepoint_domain::ClinicPricing {
        currency: "USD".into(),
        tax_rate_bp: 875,
        tax_included: false,
    };
    s.store
        .set_clinic_pricing(s.clinic_id, &p, &a, now())
        .await
        .unwrap();
    assert_eq!(s.store.clinic_pricing(s.clinic_id).await.unwrap(), p);
    let bundle = PriceItemDetails::parse_typed(
        "bundle",
        "face",
        "Full face",
        "400",
        "USD",
        "cheeks,forehead",
        "",
        "",
    )
    .unwrap();
    let pkg =
        PriceItemDetails::parse_typed("package", "four", "Course of 4", "", "USD", "", "4", "10")
            .unwrap();
    s.store
        .create_price_item(s.clinic_id, &bundle, &a, now())
        .await
        .unwrap();
    s.store
        .create_price_item(s.clinic_id, &pkg, &a, now())
        .await
        .unwrap();
    let items: Vec<_> = s
        .store
        .price_items(s.clinic_id)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.details)
        .collect();
    assert!(items.contains(&bundle) && items.contains(&pkg));
    let list = needlepoint_domain::clinic::price_list(&p, &items);
    assert_eq!(
        (list.bundles.len(), list.packages[0].discount_bp),
        (1, 1000)
    );
}

pub async fn hours_and_closures_round_trip(b: TestBackend) {
    use jiff::civil::{date, time, Weekday};
    use needlepoint_domain::scheduling::WeeklyHours;
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    assert!(s.store.clinic_hours(s.clinic_id).await.unwrap().is_none());
    let h = WeeklyHours::weekdays(time(9, 0, 0, 0), time(17, 30, 0, 0), Weekday::Friday);
    s.store
        .set_clinic_hours(s.clinic_id, &h, &a, now())
        .await
        .unwrap();
    let later = WeeklyHours::weekdays(time(8, 0, 0, 0), time(18, 0, 0, 0), Weekday::Saturday);
    s.store
        .set_clinic_hours(s.clinic_id, &later, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.clinic_hours(s.clinic_id).await.unwrap(),
        Some(later)
    );
    s.store
        .set_staff_hours(s.owner_id, s.clinic_id, &h, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.staff_hours(s.owner_id, s.clinic_id).await.unwrap(),
        Some(h)
    );
    s.store
        .add_closure(s.clinic_id, date(2026, 12, 25), "Christmas", &a, now())
        .await
        .unwrap();
    assert!(matches!(
        s.store
            .add_closure(s.clinic_id, date(2026, 12, 25), "x", &a, now())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.store.closures(s.clinic_id).await.unwrap(),
        vec![(date(2026, 12, 25), "Christmas".to_string())]
    );
}

pub async fn policies_templates_and_fees_round_trip(b: TestBackend) {
    use needlepoint_domain::booking_rules::CancellationPolicy;
    use needlepoint_domain::message_template::MessageTemplate;
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    assert_eq!(
        s.store.cancellation_policy(s.clinic_id).await.unwrap(),
        CancellationPolicy::default(),
        "no policy until one is set"
    );
    let policy = CancellationPolicy::parse("48", "30").unwrap();
    s.store
        .set_cancellation_policy(s.clinic_id, &policy, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.cancellation_policy(s.clinic_id).await.unwrap(),
        policy
    );

    assert!(s
        .store
        .message_templates(s.clinic_id)
        .await
        .unwrap()
        .is_empty());
    let t = MessageTemplate::parse("See you {when}", "Hello {patient}").unwrap();
    s.store
        .set_message_template(s.clinic_id, "reminder_24h", &t, &a, now())
        .await
        .unwrap();
    let t2 = MessageTemplate::parse("Soon: {when}", "Hi {patient}").unwrap();
    s.store
        .set_message_template(s.clinic_id, "reminder_24h", &t2, &a, now())
        .await
        .unwrap();
    assert_eq!(
        s.store.message_templates(s.clinic_id).await.unwrap(),
        vec![("reminder_24h".to_string(), t2)]
    );
    assert!(s
        .store
        .set_message_template(s.clinic_id, "birthday", &t, &a, now())
        .await
        .is_err());

    // A late cancellation keeps who cancelled and the fee.
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Fe", "Late", "1990-01-01"), &a, now())
        .await
        .unwrap();
    let room = room(&s).await;
    let booked = s
        .store
        .book(
            &[appointment(&s, p.id, room, "2026-11-23T10:00:00Z", 60)],
            &a,
            now(),
        )
        .await
        .unwrap();
    let c = s
        .store
        .set_appointment_status(
            booked[0].id,
            &StatusChange {
                status: needlepoint_domain::appointment::AppointmentStatus::Cancelled,
                reason: Some("Forgot"),
                cancelled_by: Some("patient"),
                fee_minor: Some(3000),
            },
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        (c.cancelled_by.as_deref(), c.fee_minor),
        (Some("patient"), Some(3000))
    );
    // Its unsent messages stop; a new message of the same kind may be queued.
    let msg = |kind: &str| NewMessage {
        clinic_id: s.clinic_id,
        patient_id: Some(p.id),
        appointment_id: Some(c.id),
        kind: kind.into(),
        channel: needlepoint_domain::message::MessageChannel::Email,
        to_address: "fe@example.com".into(),
        subject: "s".into(),
        body: "b".into(),
        attachment: None,
        due_at: now(),
    };
    s.store
        .enqueue_messages(&[msg("reminder_24h"), msg("reminder_24h")])
        .await
        .unwrap();
    assert_eq!(
        s.store.messages(s.clinic_id, 10).await.unwrap().len(),
        1,
        "queued once"
    );
    s.store.cancel_messages(c.id).await.unwrap();
    s.store
        .enqueue_messages(&[msg("reminder_24h")])
        .await
        .unwrap();
    let statuses: Vec<String> = s
        .store
        .messages(s.clinic_id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.status.to_string())
        .collect();
    assert_eq!(statuses, ["pending", "cancelled"]);
}
