//! Stock: lots received and counted, recalls across the chain.

use super::*;

pub async fn recalls_reach_the_chain_find_every_use_and_message_once(b: TestBackend) {
    let (s, appt, cartridge, _) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let c = s.store.open_chart(&appt, None, &a, now()).await.unwrap();
    let c = s.store.start_chart(c.id, &[], &a, now()).await.unwrap();
    s.store
        .add_chart_lot(c.id, cartridge.id, 1, None, &a, now())
        .await
        .unwrap();
    let uses = s.store.lot_uses(cartridge.id).await.unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!(
        (
            uses[0].patient_name.as_str(),
            uses[0].chart_id,
            uses[0].appointment_id
        ),
        ("Cy Chart", c.id, appt.id)
    );
    assert_eq!(uses[0].email.as_deref(), Some("cy@example.com"));
    let msg = NewMessage {
        clinic_id: s.clinic_id,
        patient_id: Some(appt.patient_id),
        appointment_id: Some(appt.id),
        kind: "recall".into(),
        channel: needlepoint_domain::message::MessageChannel::Email,
        to_address: "cy@example.com".into(),
        subject: "Recall".into(),
        body: "Recall".into(),
        attachment: None,
        due_at: now(),
    };
    let early = s
        .store
        .notify_recall(&[cartridge.id], std::slice::from_ref(&msg), &a, now())
        .await;
    assert!(
        matches!(early, Err(StoreError::Conflict(_))),
        "not recalled yet: {early:?}"
    );
    // The same maker's lot at the organisation's other clinic, spelled in
    // another case; a different lot number and another maker's lot are not
    // part of the recall.
    let north = s
        .store
        .create_clinic(
            s.organisation_id,
            &ClinicDetails::parse("North", "America/New_York", "", "").unwrap(),
            &a,
            now(),
        )
        .await
        .unwrap();
    let north_lot = |name: &'static str, supplier: &'static str, number: &'static str| {
        let store = s.store.clone();
        let a = a.clone();
        async move {
            let item = store
                .create_supply_item(
                    north.id,
                    &NewSupplyItem {
                        kind: needlepoint_domain::charting::SupplyKind::Cartridge,
                        name: name.into(),
                        supplier: supplier.into(),
                        intradermal: false,
                        reorder_at: 0,
                    },
                    &a,
                    now(),
                )
                .await
                .unwrap();
            store
                .receive_lot(
                    &NewLot {
                        item_id: item.id,
                        lot_number: number.into(),
                        expires_on: jiff::civil::date(2027, 6, 30),
                        quantity: 4,
                    },
                    &a,
                    now(),
                )
                .await
                .unwrap()
        }
    };
    let same = north_lot("SKINPEN 14-pin cartridge", "crown", "L-10").await;
    let other_number = {
        let store = s.store.clone();
        store
            .receive_lot(
                &NewLot {
                    item_id: same.item_id,
                    lot_number: "L-11".into(),
                    expires_on: jiff::civil::date(2027, 6, 30),
                    quantity: 4,
                },
                &a,
                now(),
            )
            .await
            .unwrap()
    };
    let other_maker = north_lot("SkinPen 14-pin cartridge", "Someone else", "L-10").await;
    let siblings: Vec<i64> = s
        .store
        .lot_siblings(cartridge.id)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(siblings, [cartridge.id, same.id], "this lot first");
    let lot = s
        .store
        .recall_lot(cartridge.id, "sterility breach", &a, now())
        .await
        .unwrap();
    assert_eq!(lot.recall_reason.as_deref(), Some("sterility breach"));
    assert!(lot.recalled_at.is_some());
    let at_north = s.store.lot(same.id).await.unwrap();
    assert_eq!(
        at_north.recall_reason.as_deref(),
        Some("sterility breach"),
        "the same lot at the other clinic is recalled too"
    );
    for untouched in [other_number.id, other_maker.id] {
        assert!(s.store.lot(untouched).await.unwrap().recalled_at.is_none());
    }
    assert!(matches!(
        s.store.recall_lot(cartridge.id, "again", &a, now()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.store.recall_lot(same.id, "again", &a, now()).await,
        Err(StoreError::Conflict(_))
    ));
    // Notifying is all the lots at once, or nothing.
    let half = s
        .store
        .notify_recall(
            &[cartridge.id, other_number.id],
            std::slice::from_ref(&msg),
            &a,
            now(),
        )
        .await;
    assert!(matches!(half, Err(StoreError::Conflict(_))), "{half:?}");
    assert!(s
        .store
        .lot(cartridge.id)
        .await
        .unwrap()
        .recall_notified_at
        .is_none());
    s.store
        .notify_recall(
            &[cartridge.id, same.id],
            std::slice::from_ref(&msg),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert!(s
        .store
        .lot(cartridge.id)
        .await
        .unwrap()
        .recall_notified_at
        .is_some());
    assert!(s
        .store
        .lot(same.id)
        .await
        .unwrap()
        .recall_notified_at
        .is_some());
    let again = s
        .store
        .notify_recall(&[cartridge.id], &[msg], &a, now())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let queued = s.store.messages(s.clinic_id, 10).await.unwrap();
    assert_eq!(queued.iter().filter(|m| m.kind == "recall").count(), 1);
    // A recalled lot no longer counts as usable stock.
    let items = s
        .store
        .supply_items(s.clinic_id, jiff::civil::date(2026, 11, 22))
        .await
        .unwrap();
    let cart = items.iter().find(|i| i.id == cartridge.item_id).unwrap();
    assert_eq!(cart.usable, 0);
}

pub async fn stock_is_received_counted_and_usable_until_expiry(b: TestBackend) {
    let (s, _, cartridge, serum) = charting_setup(b).await;
    let a = actor(s.owner_id);
    let dup = s
        .store
        .receive_lot(
            &NewLot {
                item_id: cartridge.item_id,
                lot_number: cartridge.lot_number.clone(),
                expires_on: jiff::civil::date(2027, 1, 1),
                quantity: 1,
            },
            &a,
            now(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let counted = s.store.count_lot(serum.id, 4, &a, now()).await.unwrap();
    assert_eq!(counted.quantity, 4);
    assert_eq!(
        s.store
            .stock_movements(serum.id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .delta,
        -1
    );
    let before_expiry = s
        .store
        .supply_items(s.clinic_id, jiff::civil::date(2027, 6, 30))
        .await
        .unwrap();
    let after_expiry = s
        .store
        .supply_items(s.clinic_id, jiff::civil::date(2027, 7, 1))
        .await
        .unwrap();
    let usable = |items: &[SupplyItem], id| items.iter().find(|i| i.id == id).unwrap().usable;
    assert_eq!(usable(&before_expiry, cartridge.item_id), 10);
    assert_eq!(usable(&after_expiry, cartridge.item_id), 0);
    let lots = s.store.lots(s.clinic_id).await.unwrap();
    assert_eq!(lots.len(), 2);
    let same_name = s
        .store
        .create_supply_item(
            s.clinic_id,
            &NewSupplyItem {
                kind: needlepoint_domain::charting::SupplyKind::Product,
                name: "Vitamin C serum".into(),
                supplier: "X".into(),
                intradermal: true,
                reorder_at: 0,
            },
            &a,
            now(),
        )
        .await;
    assert!(
        matches!(same_name, Err(StoreError::Conflict(_))),
        "{same_name:?}"
    );
}
