//! Patients: search, versioned updates with their audit, clinical notes.

use super::*;

pub async fn patient_search_matches_every_word(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    for (g, f, d) in [
        ("Amara", "Okafor", "1990-02-28"),
        ("Amara", "Lind", "1979-07-14"),
        ("Ben", "Okafor", "2001-12-01"),
        ("Zoë", "Percent_50%", "1960-03-03"),
    ] {
        s.store
            .create_patient(s.clinic_id, &patient(g, f, d), &a, now())
            .await
            .unwrap();
    }
    let names = |p: PatientPage| {
        p.patients
            .iter()
            .map(|p| p.details.full_name())
            .collect::<Vec<_>>()
    };
    let q = |text: &'static str| s.store.search_patients(s.owner_id, None, text, 50, None);
    assert_eq!(names(q("amara oka").await.unwrap()), ["Amara Okafor"]);
    assert_eq!(
        names(q("OKAFOR").await.unwrap()),
        ["Amara Okafor", "Ben Okafor"]
    );
    assert_eq!(names(q("1979-07").await.unwrap()), ["Amara Lind"]);
    assert_eq!(names(q("ben@example").await.unwrap()), ["Ben Okafor"]);
    assert_eq!(
        names(q("_50%").await.unwrap()),
        ["Zoë Percent_50%"],
        "wildcards are literal"
    );
    // One or two characters are the start of the family name, never a
    // wildcard: "%" finds nobody, "ok" finds the Okafors, "pe" Percent.
    assert_eq!(q("%").await.unwrap().total, 0);
    assert_eq!(
        names(q("ok").await.unwrap()),
        ["Amara Okafor", "Ben Okafor"]
    );
    assert_eq!(names(q("PE").await.unwrap()), ["Zoë Percent_50%"]);
    // Page by page, each starting after the last row of the one before.
    let first = s
        .store
        .search_patients(s.owner_id, None, "", 2, None)
        .await
        .unwrap();
    assert_eq!((first.total, first.more), (4, false));
    let next = first.next.clone().expect("a second page");
    assert_eq!(names(first), ["Amara Lind", "Amara Okafor"]);
    let page = s
        .store
        .search_patients(s.owner_id, None, "", 2, Some(&next))
        .await
        .unwrap();
    assert!(page.next.is_none(), "the last page");
    assert_eq!(
        names(page),
        ["Ben Okafor", "Zoë Percent_50%"],
        "ordered by family name, then given"
    );
    // The same with words: exact family-name matches first, across pages.
    let first = s
        .store
        .search_patients(s.owner_id, None, "okafor", 1, None)
        .await
        .unwrap();
    let rest = s
        .store
        .search_patients(s.owner_id, None, "okafor", 5, first.next.as_ref())
        .await
        .unwrap();
    assert_eq!(
        [names(first), names(rest)].concat(),
        ["Amara Okafor", "Ben Okafor"]
    );
}

/// The index finds what people type: accents or none, words in any order,
/// phone numbers with or without spaces and country code, birth dates in
/// four forms; exact family-name matches come first. Both databases give
/// the same patients in the same order.
pub async fn patient_search_finds_what_people_type(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    for (g, f, d, phone) in [
        ("Zoë", "Ångström", "1997-03-13", Some("+44 7700 900123")),
        ("Ann", "Bokafor", "1985-01-02", None),
        ("Ben", "Okafor", "2001-12-01", Some("020 7946 0000")),
        ("José", "Núñez", "1970-10-10", None),
        ("Silva", "Da Costa", "1982-06-03", None),
        ("Ana", "Da Silva", "1982-03-06", None),
    ] {
        let mut p = patient(g, f, d);
        p.phone = phone.map(str::to_string);
        s.store
            .create_patient(s.clinic_id, &p, &a, now())
            .await
            .unwrap();
    }
    let store = s.store.clone();
    let owner = s.owner_id;
    let q = |text: &'static str| {
        let store = store.clone();
        async move {
            store
                .search_patients(owner, None, text, 50, None)
                .await
                .unwrap()
                .patients
                .iter()
                .map(|p| p.details.full_name())
                .collect::<Vec<_>>()
        }
    };
    for (query, found) in [
        ("zoe", vec!["Zoë Ångström"]),
        ("ANGSTROM zoë", vec!["Zoë Ångström"]),
        ("nunez jose", vec!["José Núñez"]),
        ("+44 7700 900123", vec!["Zoë Ångström"]),
        ("07700900123", vec!["Zoë Ångström"]),
        ("020 7946", vec!["Ben Okafor"]),
        ("13/03/1997", vec!["Zoë Ångström"]),
        ("13.03.1997", vec!["Zoë Ångström"]),
        ("1997-03-13", vec!["Zoë Ångström"]),
        ("10/10/1970", vec!["José Núñez"]),
        // "Bokafor" sorts first, but "Okafor" is the family name typed.
        ("okafor", vec!["Ben Okafor", "Ann Bokafor"]),
        ("kafo", vec!["Ann Bokafor", "Ben Okafor"]),
        ("zz", vec![]),
        ("nobody here", vec![]),
        // Accents typed or not, in any case and order.
        ("Zoe Angstrom", vec!["Zoë Ångström"]),
        ("ZOË", vec!["Zoë Ångström"]),
        ("ångström", vec!["Zoë Ångström"]),
        ("núñez", vec!["José Núñez"]),
        ("jose NUNEZ", vec!["José Núñez"]),
        // Phone numbers as people write them.
        ("+447700900123", vec!["Zoë Ångström"]),
        ("07700 900 123", vec!["Zoë Ångström"]),
        ("7700900123", vec!["Zoë Ångström"]),
        ("0207946", vec!["Ben Okafor"]),
        // Birth dates: the month first as in the US, or only the year.
        ("03/13/1997", vec!["Zoë Ångström"]),
        ("1997", vec!["Zoë Ångström"]),
        ("01/12/2001", vec!["Ben Okafor"]),
        // Prefixes: one or two letters start the family name; three or more
        // are found anywhere.
        ("ång", vec!["Zoë Ångström"]),
        ("nu", vec!["José Núñez"]),
        ("b", vec!["Ann Bokafor"]),
        ("oka", vec!["Ann Bokafor", "Ben Okafor"]),
        ("ann@example", vec!["Ann Bokafor"]),
        // A family name of several words is an exact family name too.
        ("da silva", vec!["Ana Da Silva", "Silva Da Costa"]),
        ("silva", vec!["Silva Da Costa", "Ana Da Silva"]),
        // A whole date is a birth date, read day first and month first.
        ("03/06/1982", vec!["Silva Da Costa", "Ana Da Silva"]),
        ("3/6/1982", vec!["Silva Da Costa", "Ana Da Silva"]),
        ("1982-06-03 silva", vec!["Silva Da Costa"]),
        ("da 1982-03-06", vec!["Ana Da Silva"]),
        ("31/02/1982", vec![]),
        // Every word must match the same patient.
        ("zoë okafor", vec![]),
        ("1999-01-01", vec![]),
        ("+1 555 0100", vec![]),
    ] {
        assert_eq!(q(query).await, found, "{query:?}");
    }
    // An edit is found under its new name at once, not under the old.
    let ben = s
        .store
        .search_patients(s.owner_id, None, "ben okafor", 1, None)
        .await
        .unwrap()
        .patients
        .remove(0);
    let mut d = ben.details.clone();
    d.family_name = "Oduya".into();
    s.store
        .update_patient(ben.id, ben.version, &d, &a, now())
        .await
        .unwrap();
    assert_eq!(q("oduya").await, ["Ben Oduya"]);
    assert_eq!(q("okafor").await, ["Ann Bokafor"]);
    // A clinic the caller does not work at shows nothing.
    let elsewhere = s
        .store
        .search_patients(s.owner_id, Some(s.clinic_id + 1000), "", 50, None)
        .await
        .unwrap();
    assert!(elsewhere.patients.is_empty() && elsewhere.total == 0);
}

/// A database from before patient search had an index (its patients
/// without search keys) is indexed when it is opened: nothing recorded is
/// missed by a search afterwards.
pub async fn patients_recorded_before_the_index_are_found(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let a = actor(s.owner_id);
    for (g, f, d) in [
        ("Zoë", "Ångström", "1997-03-13"),
        ("Ben", "Okafor", "2001-12-01"),
    ] {
        s.store
            .create_patient(s.clinic_id, &patient(g, f, d), &a, now())
            .await
            .unwrap();
    }
    // Back to migration 16 by hand: no index, no keys.
    let undo = match b {
        TestBackend::Sqlite => {
            "DROP TRIGGER patient_search_insert; DROP TRIGGER patient_search_delete; \
             DROP TRIGGER patient_search_update; DROP TABLE patient_search; \
             DROP INDEX patients_by_clinic_sort; DROP INDEX patients_by_sort; \
             DROP INDEX patients_by_family_key; \
             ALTER TABLE patients DROP COLUMN search_text; \
             ALTER TABLE patients DROP COLUMN sort_key; \
             ALTER TABLE patients DROP COLUMN family_key; \
             DELETE FROM schema_migrations WHERE version = 17;"
        }
        TestBackend::Postgres => {
            "ALTER TABLE patients DROP COLUMN search_text, DROP COLUMN sort_key, \
             DROP COLUMN family_key; DELETE FROM schema_migrations WHERE version = 17;"
        }
    };
    super::record::by_hand(b, &at, undo).await;
    let reopened = match b {
        TestBackend::Sqlite => open_sqlite(std::path::Path::new(&at), SqliteDurability::Normal)
            .await
            .unwrap(),
        TestBackend::Postgres => open_postgres(&at).await.unwrap(),
    };
    for (q, name) in [
        ("zoe", "Zoë Ångström"),
        ("okafor", "Ben Okafor"),
        ("13/03/1997", "Zoë Ångström"),
    ] {
        let page = reopened
            .search_patients(s.owner_id, None, q, 10, None)
            .await
            .unwrap();
        let names: Vec<String> = page
            .patients
            .iter()
            .map(|p| p.details.full_name())
            .collect();
        assert_eq!(names, [name], "{q:?}");
    }
    // New patients and edits keep the index in step after the migration.
    let p = reopened
        .create_patient(
            s.clinic_id,
            &patient("Cleo", "Marsh", "1988-08-08"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let mut d = p.details.clone();
    d.family_name = "Moss".into();
    reopened
        .update_patient(p.id, 1, &d, &a, now())
        .await
        .unwrap();
    let found = reopened
        .search_patients(s.owner_id, None, "moss", 10, None)
        .await
        .unwrap();
    assert_eq!(found.patients.len(), 1);
    if b == TestBackend::Sqlite {
        super::record::by_hand(
            b,
            &at,
            "INSERT INTO patient_search (patient_search) VALUES ('integrity-check')",
        )
        .await;
    }
}

/// A generated chain of `patients` (a session each) in `clinics` clinics:
/// the store, its clinics' ids and its owner.
async fn generated(
    b: TestBackend,
    clinics: u32,
    patients: u64,
    seed: u64,
) -> (
    std::sync::Arc<dyn Store>,
    Vec<i64>,
    needlepoint_store::Staff,
) {
    let store = fresh_store(b).await;
    let scale = needlepoint_store::generate::Scale {
        clinics,
        patients,
        sessions: patients,
        seed,
        until: now(),
    };
    let made = store.generate(&scale, &|_| {}).await.unwrap();
    let org = store.organisation().await.unwrap().unwrap();
    let owner = store
        .list_staff(org.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.role == Role::Owner)
        .unwrap();
    (store, made.clinic_ids, owner)
}

/// A list counts its matches only up to a point.
pub async fn patient_counts_stop_at_a_thousand(b: TestBackend) {
    let (store, _, owner) = generated(b, 2, 1_100, 7).await;
    let page = store
        .search_patients(owner.id, None, "", 20, None)
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.more, page.patients.len()),
        (1_000, true, 20)
    );
    let few = store
        .search_patients(owner.id, None, "zzzz", 20, None)
        .await
        .unwrap();
    assert_eq!((few.total, few.more), (0, false));
    // The plain list stays in name order however long it is.
    let sorted = |p: &PatientPage| {
        let keys: Vec<String> = p
            .patients
            .iter()
            .map(|p| format!("{} {}", p.details.family_name, p.details.given_name))
            .collect();
        keys.windows(2)
            .all(|w| w[0].to_lowercase() <= w[1].to_lowercase())
    };
    assert!(sorted(&page));
    // A search matching more than 1,000 (every birth date in the 1900s):
    // the rest in the order registered, page after page, none twice.
    let first = store
        .search_patients(owner.id, None, "/19", 20, None)
        .await
        .unwrap();
    assert!(first.more);
    // The cursor as a link or an API client carries it: as text.
    let next = first.next.as_ref().unwrap();
    assert_eq!(next.rank, 2, "in the order registered");
    let next = needlepoint_domain::patient_search::Cursor::parse("after", &next.to_string())
        .expect("a cursor the search made is one it takes back");
    let second = store
        .search_patients(owner.id, None, "/19", 20, Some(&next))
        .await
        .unwrap();
    let ids: Vec<i64> = first
        .patients
        .iter()
        .chain(&second.patients)
        .map(|p| p.id)
        .collect();
    assert_eq!(ids.len(), 40);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

/// Each clinic's number of patients (the summary Today and Reports read) is
/// kept with the patients themselves: through a bulk load and one by one.
/// A staff member sees only their own clinics' numbers.
pub async fn clinic_patient_counts_are_kept_with_the_patients(b: TestBackend) {
    let (store, c, owner) = generated(b, 3, 301, 3).await;
    let org = store.organisation().await.unwrap().unwrap();
    let counts = |staff: i64| {
        let store = store.clone();
        async move {
            let mut v = store.patient_counts(staff).await.unwrap();
            v.sort();
            v
        }
    };
    assert_eq!(
        counts(owner.id).await,
        [(c[0], 101), (c[1], 100), (c[2], 100)]
    );
    store
        .create_patient(
            c[1],
            &patient("Nia", "Brook", "1992-04-04"),
            &actor(owner.id),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        counts(owner.id).await,
        [(c[0], 101), (c[1], 101), (c[2], 100)]
    );
    let desk = store
        .create_staff(
            &new_staff(org.id, "desk@example.com", Role::FrontDesk, vec![c[2]]),
            &actor(owner.id),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(counts(desk.id).await, [(c[2], 100)]);
    // The newest patients: across the owner's clinics, the one just added
    // first; the desk's from its own clinic only.
    let newest = |staff: i64| {
        let store = store.clone();
        async move {
            store
                .recent_patients(staff, 3)
                .await
                .unwrap()
                .iter()
                .map(|p| (p.id, p.clinic_id))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        newest(owner.id).await,
        [(302, c[1]), (301, c[0]), (300, c[2])]
    );
    assert_eq!(
        newest(desk.id).await,
        [(300, c[2]), (297, c[2]), (294, c[2])]
    );
}

/// A patient's row, its search index entry, its clinic's count and its
/// audit row are one transaction: when the last of them fails (the audit
/// row refused by a trigger added by hand), none of the others is kept.
pub async fn a_failed_patient_write_leaves_no_index_entry(b: TestBackend) {
    let (store, at) = fresh_store_at(b).await;
    let s = seed(store).await;
    let a = actor(s.owner_id);
    let iris = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Iris", "Vale", "1980-01-01"),
            &a,
            now(),
        )
        .await
        .unwrap();
    let (refuse, allow) = match b {
        TestBackend::Sqlite => (
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            "DROP TRIGGER refuse_audit;",
        ),
        TestBackend::Postgres => (
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
            "DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit();",
        ),
    };
    super::record::by_hand(b, &at, refuse).await;
    let new = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Quentin", "Marlowe", "1970-05-05"),
            &a,
            now(),
        )
        .await;
    assert!(new.is_err(), "{new:?}");
    let mut renamed = iris.details.clone();
    renamed.family_name = "Renamed".into();
    let changed = s
        .store
        .update_patient(iris.id, iris.version, &renamed, &a, now())
        .await;
    assert!(changed.is_err(), "{changed:?}");
    super::record::by_hand(b, &at, allow).await;

    let found = |q: &'static str| s.store.search_patients(s.owner_id, None, q, 10, None);
    assert_eq!(found("marlowe").await.unwrap().total, 0, "no index entry");
    assert_eq!(found("renamed").await.unwrap().total, 0, "no new entry");
    assert_eq!(found("vale").await.unwrap().total, 1, "the old one kept");
    assert_eq!(
        s.store.patient_counts(s.owner_id).await.unwrap(),
        [(s.clinic_id, 1)],
        "the count did not move"
    );
    assert_eq!(s.store.patient(iris.id).await.unwrap().version, 1);
    if b == TestBackend::Sqlite {
        // The FTS index agrees with the table it indexes.
        super::record::by_hand(
            b,
            &at,
            "INSERT INTO patient_search (patient_search) VALUES ('integrity-check')",
        )
        .await;
    }
}

pub async fn patient_updates_check_version_and_audit_changes(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(
            s.clinic_id,
            &patient("Cleo", "Marsh", "1988-08-08"),
            &a,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(p.version, 1);
    let mut d = p.details.clone();
    d.phone = Some("+44 7700 900456".into());
    let p2 = s
        .store
        .update_patient(p.id, 1, &d, &a, now())
        .await
        .unwrap();
    assert_eq!(
        (p2.version, p2.details.phone.as_deref()),
        (2, Some("+44 7700 900456"))
    );
    let mut stale = p.details.clone();
    stale.family_name = "Overwritten".into();
    let r = s.store.update_patient(p.id, 1, &stale, &a, now()).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(
        s.store.patient(p.id).await.unwrap().details.family_name,
        "Marsh",
        "nothing overwritten"
    );
    let trail = s.store.patient_audit(p.id, 10).await.unwrap();
    assert_eq!(
        trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["update", "create"]
    );
    assert_eq!(trail[0].detail["changed"]["phone"][1], "+44 7700 900456");
    assert_eq!(trail[0].actor_id, Some(s.owner_id));
    assert_eq!(trail[0].ip.as_deref(), Some("127.0.0.1"));
    assert!(matches!(
        s.store.update_patient(424242, 1, &d, &a, now()).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn clinical_notes_keep_author_and_order(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let p = s
        .store
        .create_patient(s.clinic_id, &patient("Dee", "Ray", "1970-01-01"), &a, now())
        .await
        .unwrap();
    let t0 = now();
    s.store
        .add_clinical_note(p.id, s.owner_id, "first", &a, t0)
        .await
        .unwrap();
    s.store
        .add_clinical_note(
            p.id,
            s.owner_id,
            "second",
            &a,
            t0 + SignedDuration::from_secs(1),
        )
        .await
        .unwrap();
    let notes = s.store.clinical_notes(p.id).await.unwrap();
    assert_eq!(
        notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        ["second", "first"]
    );
    assert_eq!(notes[0].author_name, "Olive Owner");
    let missing = s
        .store
        .add_clinical_note(999_999, s.owner_id, "x", &a, t0)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

/// On a generated chain large enough that searches match more than 1,000
/// (each family name about 1,100 patients), every page of a search is what
/// the rules say, worked out here from every patient: all words found in
/// the patient's search text; exact family names first (a word or a run of
/// words), each part in list order; past 1,000 matches, the rest of a
/// substring search in the order registered. Pages follow their cursors as
/// a link carries them (as text), as the owner of every clinic and within
/// one clinic.
pub async fn search_pages_follow_the_ranking_rules(b: TestBackend) {
    use needlepoint_domain::patient_search::{self, Cursor};
    let (store, clinics, owner) = generated(b, 2, 26_000, 11).await;
    let ids: Vec<i64> = (1..=26_000).collect();
    let everyone = store.patients_by_id(&ids).await.unwrap();
    assert_eq!(everyone.len(), ids.len());
    let keyed: Vec<(i64, i64, patient_search::SearchKeys)> = everyone
        .iter()
        .map(|p| (p.id, p.clinic_id, patient_search::keys(&p.details)))
        .collect();
    for clinic in [None, Some(clinics[1])] {
        for query in [
            "smith",
            "smi",
            "da silva",
            "silva da",
            "yara varga",
            "/19",
            "jo",
            "",
        ] {
            let words = patient_search::words(query);
            let mut families: Vec<String> = vec![];
            for len in 1..=3.min(words.len()) {
                families.extend(words.windows(len).map(|r| r.join(" ")));
            }
            let substring = words.iter().any(|w| w.chars().count() >= 3);
            let mut matches: Vec<&(i64, i64, patient_search::SearchKeys)> = keyed
                .iter()
                .filter(|(_, c, k)| {
                    clinic.is_none_or(|x| x == *c)
                        && words.iter().enumerate().all(|(i, w)| {
                            if i == 0 && !substring {
                                k.sort.starts_with(w.as_str())
                            } else {
                                k.text.contains(w.as_str())
                            }
                        })
                })
                .collect();
            let many = matches.len() > 1_000;
            let rank = |k: &patient_search::SearchKeys| {
                if families.contains(&k.family) {
                    0
                } else if many && substring {
                    2
                } else {
                    1
                }
            };
            matches.sort_by(|a, b| {
                let (ra, rb) = (rank(&a.2), rank(&b.2));
                ra.cmp(&rb).then_with(|| {
                    if ra == 2 {
                        a.0.cmp(&b.0)
                    } else {
                        (&a.2.sort, a.0).cmp(&(&b.2.sort, b.0))
                    }
                })
            });
            let expected: Vec<i64> = matches.iter().take(60).map(|m| m.0).collect();
            let mut got = vec![];
            let mut after: Option<Cursor> = None;
            for _ in 0..3 {
                let page = store
                    .search_patients(owner.id, clinic, query, 20, after.as_ref())
                    .await
                    .unwrap();
                assert_eq!(
                    (page.total, page.more),
                    (matches.len().min(1_000) as i64, many),
                    "{query:?} in {clinic:?}"
                );
                got.extend(page.patients.iter().map(|p| p.id));
                let Some(next) = page.next else { break };
                after = Some(Cursor::parse("after", &next.to_string()).unwrap());
            }
            assert_eq!(got, expected, "{query:?} in {clinic:?}");
        }
    }
}
