//! Session charts: read-only once signed, the second sign-off, photos.

use super::*;

pub async fn charts_are_read_only_once_signed_and_take_stock(b: TestBackend) {
    let (s, appt, cartridge, serum) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    assert_eq!(
        s.store.open_chart(&appt, None, &a, now()).await.unwrap().id,
        c.id,
        "one chart per appointment"
    );
    // Zones wait for the start.
    let early = s
        .store
        .save_zone(c.id, &zone_record("cheeks", 1000, None), &a, now())
        .await;
    assert!(matches!(early, Err(StoreError::Conflict(_))), "{early:?}");
    let c = s.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    assert_eq!(c.status.as_str(), "in_progress");
    s.store
        .save_zone(c.id, &zone_record("cheeks", 1000, None), &a, now())
        .await
        .unwrap();
    s.store
        .save_zone(c.id, &zone_record("forehead", 500, None), &a, now())
        .await
        .unwrap();
    // The same zone again replaces it.
    let c = s
        .store
        .save_zone(c.id, &zone_record("cheeks", 750, None), &a, now())
        .await
        .unwrap();
    assert_eq!(c.zones.len(), 2);
    assert_eq!(c.zones[0].depth.micrometres(), 750);
    s.store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    let twice = s
        .store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let c = s
        .store
        .add_chart_lot(c.id, serum.id, 2, Some("not intradermal"), &a, now())
        .await
        .unwrap();
    assert_eq!(c.needle_lots(), 1);
    assert_eq!(c.lots[1].warning.as_deref(), Some("not intradermal"));
    // Stock is unchanged until the session is signed.
    assert_eq!(s.store.lot(cartridge.id).await.unwrap().quantity, 10);
    // Signing checks the version the clinician saw.
    let stale = s
        .store
        .sign_chart(c.id, c.version - 1, false, &[], &[], &a, now())
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        s.store.appointment(appt.id).await.unwrap().status.as_str(),
        "booked",
        "a refused signature completes nothing"
    );
    let signed = s
        .store
        .sign_chart(c.id, c.version, false, &[], &[], &a, now())
        .await
        .unwrap();
    assert!(signed.is_signed() && signed.signed_by == Some(s.owner_id));
    assert_eq!(
        s.store.appointment(appt.id).await.unwrap().status.as_str(),
        "completed",
        "signing completes the appointment in the same transaction"
    );
    assert_eq!(s.store.lot(cartridge.id).await.unwrap().quantity, 9);
    assert_eq!(s.store.lot(serum.id).await.unwrap().quantity, 3);
    let moves = s.store.stock_movements(serum.id).await.unwrap();
    assert_eq!(
        moves
            .iter()
            .map(|m| (m.delta, m.reason.as_str(), m.chart_id))
            .collect::<Vec<_>>(),
        vec![(5, "received", None), (-2, "used", Some(c.id))]
    );
    // Nothing about a signed session changes through the store...
    for r in [
        s.store
            .save_zone(c.id, &zone_record("nose", 250, None), &a, now())
            .await,
        s.store.remove_zone(c.id, "cheeks", &a, now()).await,
        s.store
            .remove_chart_lot(c.id, cartridge.id, &a, now())
            .await,
        s.store
            .save_checklist(c.id, &ChecklistRecord::default(), &a, now())
            .await,
        s.store
            .sign_chart(c.id, signed.version, false, &[], &[], &a, now())
            .await,
    ] {
        match r {
            Err(StoreError::Conflict(m)) => {
                assert!(m.contains("amendment") || m.contains("signed"), "{m}")
            }
            other => panic!("a signed chart changed: {other:?}"),
        }
    }
    assert_eq!(s.store.chart(c.id).await.unwrap().zones, signed.zones);
    // ...and an amendment sits beside the original.
    let amended = s
        .store
        .amend_chart(
            c.id,
            &needlepoint_domain::charting::AmendmentInput {
                zone: "cheeks".into(),
                text: "Depth was 0.5 mm".into(),
                reason: "Wrong value typed".into(),
                depth: String::new(),
            },
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(amended.zones, signed.zones, "the original stays");
    assert_eq!(amended.amendments.len(), 1);
    assert_eq!(amended.amendments[0].zone.as_deref(), Some("cheeks"));
    assert_eq!(amended.amendments[0].created_by, s.owner_id);
    let audit = s.store.patient_audit(appt.patient_id, 50).await.unwrap();
    for action in ["sign", "amend", "zone", "lot", "start"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.entity == "chart"),
            "{action}"
        );
    }
}

pub async fn the_database_refuses_to_change_a_signed_chart(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let (s2, appt, cartridge, _) = {
        // Reuse the setup's steps on this store, which we can reach directly.
        let a = actor(s.owner_id);
        let p = s
            .store
            .create_patient(s.clinic_id, &patient("Di", "Db", "1990-01-01"), &a, now())
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
        let item = s
            .store
            .create_supply_item(
                s.clinic_id,
                &NewSupplyItem {
                    kind: needlepoint_domain::charting::SupplyKind::Cartridge,
                    name: "Cartridge".into(),
                    supplier: "Crown".into(),
                    intradermal: false,
                    reorder_at: 0,
                },
                &a,
                now(),
            )
            .await
            .unwrap();
        let lot = s
            .store
            .receive_lot(
                &NewLot {
                    item_id: item.id,
                    lot_number: "X1".into(),
                    expires_on: jiff::civil::date(2027, 1, 1),
                    quantity: 3,
                },
                &a,
                now(),
            )
            .await
            .unwrap();
        (&s, appt, lot, ())
    };
    let a = actor(s2.owner_id);
    let c = s2.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let c = s2.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    s2.store
        .save_zone(c.id, &zone_record("cheeks", 1000, None), &a, now())
        .await
        .unwrap();
    let c = s2
        .store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    s2.store
        .sign_chart(c.id, c.version, false, &[], &[], &a, now())
        .await
        .unwrap();
    let statements = [
        "UPDATE charts SET zones = '[]'".to_string(),
        "DELETE FROM charts".to_string(),
        format!("DELETE FROM chart_lots WHERE chart_id = {}", c.id),
        format!("INSERT INTO chart_lots (chart_id, lot_id, patient_id, clinic_id, quantity, used_at) VALUES ({}, {}, {}, {}, 1, '2026-11-23T10:00:00Z')", c.id, cartridge.id, appt.patient_id, appt.clinic_id),
    ];
    for sql in statements {
        let r = match b {
            TestBackend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{at}"))
                    .await
                    .unwrap();
                sqlx::query(&sql).execute(&pool).await.map(|_| ())
            }
            TestBackend::Postgres => {
                let pool = sqlx::PgPool::connect(&at).await.unwrap();
                sqlx::query(&sql).execute(&pool).await.map(|_| ())
            }
        };
        let e = r.expect_err(&format!("the database must refuse: {sql}"));
        assert!(
            e.to_string().contains("read-only") || e.to_string().contains("never deleted"),
            "{sql}: {e}"
        );
    }
    assert_eq!(s2.store.chart(c.id).await.unwrap().zones.len(), 1);
}

pub async fn a_flagged_session_waits_for_a_second_signoff(b: TestBackend) {
    let (s, appt, cartridge, _) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let c = s.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    s.store
        .save_zone(
            c.id,
            &zone_record("forehead", 750, Some("above range")),
            &a,
            now(),
        )
        .await
        .unwrap();
    let c = s
        .store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    let signed = s
        .store
        .sign_chart(c.id, c.version, true, &[], &[], &a, now())
        .await
        .unwrap();
    assert!(signed.needs_cosign && signed.cosigned_at.is_none());
    let director = s
        .store
        .create_staff(
            &new_staff(
                s.organisation_id,
                "md@example.com",
                Role::Clinician,
                vec![s.clinic_id],
            ),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert!(!director.medical_director);
    let director = s
        .store
        .set_medical_director(director.id, true, &a, now())
        .await
        .unwrap();
    assert!(director.medical_director);
    let done = s
        .store
        .cosign_chart(c.id, &actor(director.id), now())
        .await
        .unwrap();
    assert_eq!(done.cosigned_by, Some(director.id));
    assert_eq!(done.cosigned_by_name.as_deref(), Some("md"));
    let again = s.store.cosign_chart(c.id, &actor(director.id), now()).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

pub async fn photos_are_recorded_with_their_view(b: TestBackend) {
    let (s, appt, _, _) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let p = s
        .store
        .add_photo(
            &NewPhoto {
                clinic_id: s.clinic_id,
                patient_id: appt.patient_id,
                chart_id: Some(c.id),
                view: "front".into(),
                sha256: "ab".repeat(32),
                width: 640,
                height: 480,
                bytes: 1234,
            },
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(s.store.photo(p.id).await.unwrap().sha256, "ab".repeat(32));
    let all = s.store.patient_photos(appt.patient_id).await.unwrap();
    assert_eq!(
        (all.len(), all[0].chart_id, all[0].view.as_str()),
        (1, Some(c.id), "front")
    );
}
