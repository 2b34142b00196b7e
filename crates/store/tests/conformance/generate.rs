//! `needlepoint generate`: a whole, recallable chain.

use super::*;

pub async fn a_generated_chain_is_whole_and_recallable(b: TestBackend) {
    use needlepoint_store::generate::Scale;
    let store = needlepoint_store::testing::fresh_store(b).await;
    let scale = Scale {
        clinics: 2,
        patients: 30,
        sessions: 100,
        seed: 1,
        until: now(),
    };
    let seen = std::sync::Mutex::new(vec![]);
    let made = store
        .generate(&scale, &|p| seen.lock().unwrap().push((p.done, p.total)))
        .await
        .unwrap();
    assert_eq!(
        (made.clinic_ids.len(), made.patients, made.sessions),
        (2, 30, 100)
    );
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&(30, 30)),
        "progress reaches the end"
    );
    // Every session used one cartridge lot: the recalls add up.
    let mut uses = 0;
    for lot in &made.cartridge_lots {
        let list = store.lot_uses(*lot).await.unwrap();
        assert!(list.iter().all(|u| made.clinic_ids.contains(&u.clinic_id)));
        uses += list.len();
    }
    assert_eq!(uses, 100);
    // Generated sessions are signed, hence read-only.
    let chart = store.patient_charts(1).await.unwrap().remove(0);
    assert!(chart.is_signed() && chart.signed_by.is_some());
    assert!(!chart.lots.is_empty());
    let a = Actor::system("test");
    let z = store
        .save_zone(chart.id, &zone_record("nose", 250, None), &a, now())
        .await;
    assert!(matches!(z, Err(StoreError::Conflict(_))), "{z:?}");
    // New records after a bulk load get fresh ids (sequences moved on).
    let p = store
        .create_patient(
            made.clinic_ids[0],
            &patient("New", "After", "1990-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(p.id, 31);
    // A second run refuses: generate needs an empty database.
    let again = store.generate(&scale, &|_| {}).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}
