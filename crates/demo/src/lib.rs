//! The demo clinic: one organisation with two clinics in different time
//! zones, staff in every role, rooms, devices, price lists and about fifty
//! patients with contact details and clinical notes, and the Bristol clinic
//! in the middle of its life (see [`life`]). Deterministic: the same names,
//! histories and courses every time, relative to the moment it starts, so
//! screenshots and walkthroughs agree.

use anyhow::Context;
use jiff::civil::Date;
use jiff::civil::{time, Weekday};
use jiff::SignedDuration;
use needlepoint_domain::history::{
    Concern, ConditionEntry, EventEntry, MedicationEntry, PatientHistory, Severity,
};
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::scheduling::WeeklyHours;
use needlepoint_domain::screening::screen;
use needlepoint_domain::{
    ClinicDetails, ClinicPricing, DeviceDetails, PatientInput, PractitionerDetails,
    PriceItemDetails, Role, RoomDetails,
};
use needlepoint_store::{Actor, NewStaff, Store};
use std::path::Path;
use std::sync::Arc;

mod life;
mod pictures;

/// Every demo account's password. The demo is for trying the product, never
/// for real patients.
pub const PASSWORD: &str = "demo-password";

/// A small deterministic generator (SplitMix64), enough to vary demo data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const GIVEN_F: &[&str] = &[
    "Amara", "Sofia", "Chloe", "Priya", "Hannah", "Leila", "Grace", "Mei", "Olivia", "Zara",
    "Isla", "Nadia", "Freya", "Ana", "Yasmin", "Ruth", "Keisha", "Elena", "Aoife", "Fatima",
];
const GIVEN_M: &[&str] = &[
    "James", "Daniel", "Omar", "Lucas", "Tom", "Ravi", "Marcus", "Ethan", "Kwame", "Luis",
];
const FAMILY: &[&str] = &[
    "Okafor",
    "Bennett",
    "Nguyen",
    "Patel",
    "Kowalski",
    "Haddad",
    "Murphy",
    "Chen",
    "Silva",
    "Ahmed",
    "Johansson",
    "Brown",
    "Garcia",
    "Williams",
    "Kaur",
    "Rossi",
    "Mensah",
    "O'Brien",
    "Tanaka",
    "Lewis",
    "Novak",
    "Clarke",
    "Ibrahim",
    "Fischer",
    "Morales",
];
const STREETS: &[&str] = &[
    "Harbour Road",
    "Mill Lane",
    "Church Street",
    "Elm Grove",
    "Station Road",
    "Park Avenue",
];

/// What brought each patient in, with the clinical note a clinician wrote.
const HISTORIES: &[(&str, &str)] = &[
    ("acne scarring", "Consultation. Rolling and boxcar acne scars both cheeks, Goodman & Baron grade 3. Fitzpatrick III. No isotretinoin for 2 years. Discussed a course of 3–4 sessions four weeks apart."),
    ("fine lines", "Consultation. Fine periorbital and perioral lines. Fitzpatrick II. Uses tretinoin 0.025% nightly: advised to stop 5 days before treatment."),
    ("stretch marks", "Consultation. Striae albae on abdomen and thighs after pregnancy; last child 3 years ago, not breastfeeding. Fitzpatrick IV: PIH risk discussed, conservative depth and strict sun protection."),
    ("melasma", "Consultation. Centrofacial melasma, mMASI 8.4. Fitzpatrick IV. Discussed combining with topical tranexamic acid; strict SPF 50."),
    ("enlarged pores", "Consultation. Enlarged pores and uneven texture on nose and cheeks. Fitzpatrick II. No contraindications found."),
    ("hair loss", "Consultation. Androgenetic alopecia, Norwood III. On minoxidil 5% for 6 months. Discussed weekly scalp sessions with continued minoxidil."),
    ("surgical scar", "Consultation. Linear scar left jaw after mole excision 8 weeks ago, healed well. Fitzpatrick I."),
    ("acne scarring", "Consultation. Ice-pick and rolling scars on temples and cheeks. Fitzpatrick V. History of cold sores: antiviral prophylaxis to be arranged before each session."),
    ("skin laxity", "Consultation. Mild laxity of the neck and jawline. Fitzpatrick III. On apixaban for atrial fibrillation: needs physician approval before treatment."),
    ("sun damage", "Consultation. Photoageing of the chest and backs of hands, Glogau II. Fitzpatrick II. Recent holiday: sunburn on chest 10 days ago, wait before treating that area."),
];

/// The structured history behind each of [`HISTORIES`], as of `today`, so
/// that screenings in the demo have something to find.
fn history_for(i: usize, today: Date) -> PatientHistory {
    let ago = |days: i64| today - jiff::Span::new().days(days);
    let concern = |indication: &str, area: &str, severity: Severity| Concern {
        indication: indication.into(),
        area: area.into(),
        severity,
    };
    let cond = |code: &str| ConditionEntry {
        code: code.into(),
        areas: vec![],
        since: None,
        resolved_on: None,
        controlled: None,
        note: None,
    };
    let mut h = PatientHistory {
        fitzpatrick: Some(2),
        ..Default::default()
    };
    match i % HISTORIES.len() {
        0 => {
            h.fitzpatrick = Some(3);
            h.medications.push(MedicationEntry {
                code: "isotretinoin".into(),
                started_on: Some(ago(1000)),
                stopped_on: Some(ago(730)),
                note: None,
            });
            h.concerns
                .push(concern("acne_scars", "cheeks", Severity::Moderate));
        }
        1 => {
            h.medications.push(MedicationEntry {
                code: "topical_retinoid".into(),
                started_on: Some(ago(400)),
                stopped_on: None,
                note: None,
            });
            h.concerns
                .push(concern("fine_lines", "periorbital", Severity::Mild));
            h.concerns
                .push(concern("fine_lines", "perioral", Severity::Mild));
        }
        2 => {
            h.fitzpatrick = Some(4);
            h.concerns
                .push(concern("striae", "abdomen", Severity::Moderate));
            h.concerns.push(concern("striae", "thighs", Severity::Mild));
        }
        3 => {
            h.fitzpatrick = Some(4);
            h.concerns
                .push(concern("melasma", "cheeks", Severity::Moderate));
        }
        4 => h
            .concerns
            .push(concern("pigmentation_texture", "nose", Severity::Mild)),
        5 => h.concerns.push(concern(
            "androgenetic_alopecia",
            "scalp",
            Severity::Moderate,
        )),
        6 => {
            h.fitzpatrick = Some(1);
            h.events.push(EventEntry {
                code: "surgery".into(),
                on: ago(56),
                areas: vec!["jaw_chin".into()],
                note: None,
            });
            h.concerns
                .push(concern("surgical_scar", "jaw_chin", Severity::Mild));
        }
        7 => {
            h.fitzpatrick = Some(5);
            h.conditions.push(cond("herpes_simplex"));
            h.concerns
                .push(concern("acne_scars", "cheeks", Severity::Severe));
            h.concerns
                .push(concern("acne_scars", "forehead", Severity::Moderate));
        }
        8 => {
            h.fitzpatrick = Some(3);
            h.medications.push(MedicationEntry {
                code: "anticoagulant".into(),
                started_on: Some(ago(900)),
                stopped_on: None,
                note: None,
            });
            h.concerns.push(concern("laxity", "neck", Severity::Mild));
        }
        _ => {
            h.events.push(EventEntry {
                code: "sunburn".into(),
                on: ago(10),
                areas: vec!["chest".into()],
                note: None,
            });
            h.concerns
                .push(concern("pigmentation_texture", "chest", Severity::Moderate));
            h.concerns
                .push(concern("pigmentation_texture", "hands", Severity::Mild));
        }
    }
    h
}

/// A clinic's stock: cartridges, rollers and serums with their lots, one of
/// them past its expiry and the vitamin C serum that must not go on
/// needled skin, so the inventory and the chart show their warnings.
async fn stock(
    store: &dyn Store,
    clinic: i64,
    actor: &Actor,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    use needlepoint_domain::charting::SupplyKind;
    use needlepoint_store::{NewLot, NewSupplyItem};
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let in_days = |d: i64| today.saturating_add(jiff::Span::new().days(d));
    let items = [
        (
            SupplyKind::Cartridge,
            "SkinPen 14-pin cartridge",
            "Crown Aesthetics",
            false,
            20,
            vec![
                ("CA24-0912", in_days(400), 36),
                ("CA24-0388", in_days(-10), 4),
                // Used in early sessions and recalled by the maker: the
                // patients treated with it show the exposure.
                (life::RECALLED_LOT, in_days(300), 10),
            ],
        ),
        (
            SupplyKind::Roller,
            "Medical roller 1.0 mm (192 needles)",
            "Dermaroller GmbH",
            false,
            5,
            vec![("DR-55120", in_days(600), 3)],
        ),
        (
            SupplyKind::Product,
            "Hyaluronic acid serum, sterile",
            "Crown Aesthetics",
            true,
            5,
            vec![("HA-7741", in_days(200), 12)],
        ),
        (
            SupplyKind::Product,
            "Vitamin C serum 15 %",
            "Glow Labs",
            false,
            2,
            vec![("VC-1033", in_days(300), 6)],
        ),
    ];
    for (kind, name, supplier, intradermal, reorder_at, lots) in items {
        let item = store
            .create_supply_item(
                clinic,
                &NewSupplyItem {
                    kind,
                    name: name.into(),
                    supplier: supplier.into(),
                    intradermal,
                    reorder_at,
                },
                actor,
                now,
            )
            .await?;
        for (lot_number, expires_on, quantity) in lots {
            store
                .receive_lot(
                    &NewLot {
                        item_id: item.id,
                        lot_number: lot_number.into(),
                        expires_on,
                        quantity,
                    },
                    actor,
                    now,
                )
                .await?;
        }
    }
    Ok(())
}

/// Creates the demo organisation as of `now` (the moment the demo starts),
/// then brings its Bristol clinic to the middle of its life (see [`life`]);
/// photos and the mailbox are kept in `data_dir`; the links its messages
/// hold open `site`. Returns the logins to print.
pub async fn seed(
    shared: Arc<dyn Store>,
    kb: &KnowledgeBase,
    data_dir: &Path,
    site: &str,
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<(String, String)>> {
    let store = shared.as_ref();
    let system = Actor::system("demo");
    let hash = needlepoint_practice::signin::hash_password(PASSWORD.into()).await?;
    let london = ClinicDetails::parse(
        "Harbour Skin Clinic",
        "Europe/London",
        "12 Harbour Road, Bristol BS1 4RN",
        "+44 117 496 0123",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let owner = NewStaff {
        organisation_id: 0,
        email: "owner@demo.needlepoint.test".into(),
        name: "Helen Marsh".into(),
        role: Role::Owner,
        password_hash: hash.clone(),
        practitioner: Some(
            PractitionerDetails::parse("Helen Marsh", "Aesthetic physician", "GMC 7012345")
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        clinic_ids: vec![],
    };
    let (org, bristol, owner) = store
        .setup("Marsh Skin Group", &london, &owner, &system, now)
        .await
        .context("creating the demo organisation")?;
    // The owner is the group's physician: the medical director who gives
    // the second sign-off of a session with an override.
    let owner = store
        .set_medical_director(owner.id, true, &system, now)
        .await?;
    let actor = Actor {
        staff_id: Some(owner.id),
        label: owner.email.clone(),
        channel: needlepoint_store::Channel::System,
        ip: None,
    };
    let ny = ClinicDetails::parse(
        "Bay Street Aesthetics",
        "America/New_York",
        "210 Bay Street, Brooklyn, NY 11231",
        "+1 718 555 0142",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let brooklyn = store.create_clinic(org.id, &ny, &actor, now).await?;

    let staff = [
        (
            "clinician@demo.needlepoint.test",
            "Dr Samira Haddad",
            Role::Clinician,
            Some(("Dermatologist", "GMC 7098765")),
            vec![bristol.id],
        ),
        (
            "nurse@demo.needlepoint.test",
            "Jo Pearce RN",
            Role::Clinician,
            Some(("Registered nurse", "NMC 12A3456E")),
            vec![bristol.id, brooklyn.id],
        ),
        (
            "ny.clinician@demo.needlepoint.test",
            "Dana Whitfield PA-C",
            Role::Clinician,
            Some(("Physician assistant", "NY PA-019283")),
            vec![brooklyn.id],
        ),
        (
            "frontdesk@demo.needlepoint.test",
            "Tom Reid",
            Role::FrontDesk,
            None,
            vec![bristol.id],
        ),
        (
            "ny.frontdesk@demo.needlepoint.test",
            "Maria Lopez",
            Role::FrontDesk,
            None,
            vec![brooklyn.id],
        ),
    ];
    let mut logins = vec![("Owner (both clinics)".to_string(), owner.email.clone())];
    // Who may write notes at each clinic: the owner and its clinicians.
    let mut clinicians: Vec<(i64, Vec<i64>)> = vec![(owner.id, vec![bristol.id, brooklyn.id])];
    for (email, name, role, prac, clinics) in staff {
        let practitioner = prac
            .map(|(p, r)| PractitionerDetails::parse(name, p, r))
            .transpose()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let s = store
            .create_staff(
                &NewStaff {
                    organisation_id: org.id,
                    email: email.into(),
                    name: name.into(),
                    role,
                    password_hash: hash.clone(),
                    practitioner,
                    clinic_ids: clinics.clone(),
                },
                &actor,
                now,
            )
            .await?;
        if role == Role::Clinician {
            clinicians.push((s.id, clinics.clone()));
        }
        let where_ = if clinics.len() > 1 {
            "both clinics".to_string()
        } else if clinics[0] == bristol.id {
            "Bristol".into()
        } else {
            "Brooklyn".into()
        };
        logins.push((format!("{} ({where_})", role.label()), email.to_string()));
    }

    for (clinic, rooms, devices, prices, currency) in [
        (
            bristol.id,
            vec!["Treatment room 1", "Treatment room 2", "Treatment room 3"],
            vec![
                ("Pen A", "SkinPen Precision", "SP-2291-A", "2.5"),
                ("Pen B", "SkinPen Precision", "SP-2291-B", "2.5"),
                ("Pen C", "SkinPen Precision", "SP-2291-C", "2.5"),
                ("Roller kit", "Medical roller 192", "", "1.5"),
            ],
            vec![
                ("other", "consult", "Consultation", "60", "", "", ""),
                (
                    "area",
                    "cheeks",
                    "Cheeks, per session",
                    "150",
                    "cheeks",
                    "",
                    "",
                ),
                (
                    "area",
                    "forehead",
                    "Forehead, per session",
                    "100",
                    "forehead",
                    "",
                    "",
                ),
                ("area", "nose", "Nose, per session", "60", "nose", "", ""),
                (
                    "area",
                    "periorbital",
                    "Around the eyes, per session",
                    "90",
                    "periorbital",
                    "",
                    "",
                ),
                (
                    "area",
                    "perioral",
                    "Around the mouth, per session",
                    "90",
                    "perioral",
                    "",
                    "",
                ),
                (
                    "area",
                    "jaw_chin",
                    "Jaw and chin, per session",
                    "100",
                    "jaw_chin",
                    "",
                    "",
                ),
                ("area", "neck", "Neck, per session", "150", "neck", "", ""),
                (
                    "area",
                    "chest",
                    "Chest, per session",
                    "150",
                    "chest",
                    "",
                    "",
                ),
                (
                    "area",
                    "hands",
                    "Backs of hands, per session",
                    "90",
                    "hands",
                    "",
                    "",
                ),
                (
                    "area",
                    "scalp",
                    "Scalp, per session",
                    "180",
                    "scalp",
                    "",
                    "",
                ),
                (
                    "area",
                    "abdomen",
                    "Abdomen, per session",
                    "200",
                    "abdomen",
                    "",
                    "",
                ),
                (
                    "area",
                    "thighs",
                    "Thighs, per session",
                    "220",
                    "thighs",
                    "",
                    "",
                ),
                (
                    "bundle",
                    "face",
                    "Full face, per session",
                    "250",
                    "forehead,periorbital,nose,cheeks,perioral,jaw_chin",
                    "",
                    "",
                ),
                (
                    "package",
                    "course-3",
                    "Course of 3: 10 % off",
                    "",
                    "",
                    "3",
                    "10",
                ),
                (
                    "package",
                    "course-6",
                    "Course of 6: 15 % off",
                    "",
                    "",
                    "6",
                    "15",
                ),
                (
                    "addon",
                    "serum",
                    "Hyaluronic serum after needling",
                    "35",
                    "",
                    "",
                    "",
                ),
            ],
            "GBP",
        ),
        (
            brooklyn.id,
            vec!["Suite A", "Suite B", "Suite C"],
            vec![
                ("Exceed 1", "Exceed", "EX-55012", "1.9"),
                ("SkinPen 1", "SkinPen Precision", "SP-8841", "2.5"),
            ],
            vec![
                ("other", "consult", "Consultation", "100", "", "", ""),
                (
                    "area",
                    "cheeks",
                    "Cheeks, per session",
                    "250",
                    "cheeks",
                    "",
                    "",
                ),
                (
                    "area",
                    "forehead",
                    "Forehead, per session",
                    "180",
                    "forehead",
                    "",
                    "",
                ),
                ("area", "nose", "Nose, per session", "120", "nose", "", ""),
                (
                    "area",
                    "perioral",
                    "Around the mouth, per session",
                    "150",
                    "perioral",
                    "",
                    "",
                ),
                (
                    "area",
                    "jaw_chin",
                    "Jaw and chin, per session",
                    "180",
                    "jaw_chin",
                    "",
                    "",
                ),
                ("area", "neck", "Neck, per session", "250", "neck", "", ""),
                (
                    "area",
                    "scalp",
                    "Scalp, per session",
                    "350",
                    "scalp",
                    "",
                    "",
                ),
                (
                    "area",
                    "abdomen",
                    "Abdomen, per session",
                    "300",
                    "abdomen",
                    "",
                    "",
                ),
                (
                    "area",
                    "thighs",
                    "Thighs, per session",
                    "300",
                    "thighs",
                    "",
                    "",
                ),
                (
                    "bundle",
                    "face",
                    "Full face, per session",
                    "400",
                    "forehead,nose,cheeks,perioral,jaw_chin",
                    "",
                    "",
                ),
                (
                    "package",
                    "course-4",
                    "Course of 4: 10 % off",
                    "",
                    "",
                    "4",
                    "10",
                ),
            ],
            "USD",
        ),
    ] {
        for r in rooms {
            store
                .create_room(
                    clinic,
                    &RoomDetails::parse(r).map_err(|e| anyhow::anyhow!("{e}"))?,
                    &actor,
                    now,
                )
                .await?;
        }
        for (n, m, s, d) in devices {
            let dev = DeviceDetails::parse(n, m, s, d).map_err(|e| anyhow::anyhow!("{e}"))?;
            store.create_device(clinic, &dev, &actor, now).await?;
        }
        stock(store, clinic, &actor, now).await?;
        for (kind, code, name, amount, areas, sessions, discount) in prices {
            let p = PriceItemDetails::parse_typed(
                kind, code, name, amount, currency, areas, sessions, discount,
            )
            .map_err(|e| anyhow::anyhow!("demo price {code}: {e}"))?;
            store.create_price_item(clinic, &p, &actor, now).await?;
        }
        // UK clinics quote prices with 20 % VAT included; the demo's New York
        // clinic charges no sales tax on these services.
        let pricing = if currency == "GBP" {
            ClinicPricing {
                currency: currency.into(),
                tax_rate_bp: 2000,
                tax_included: true,
            }
        } else {
            ClinicPricing {
                currency: currency.into(),
                tax_rate_bp: 887,
                tax_included: false,
            }
        };
        store
            .set_clinic_pricing(clinic, &pricing, &actor, now)
            .await?;
        // Bristol opens every day, so that the demo has a day's list on
        // whatever day it starts; Brooklyn keeps a clinic's usual week.
        let hours = if clinic == bristol.id {
            WeeklyHours::weekdays(time(8, 0, 0, 0), time(20, 0, 0, 0), Weekday::Sunday)
        } else {
            WeeklyHours::weekdays(time(9, 0, 0, 0), time(18, 0, 0, 0), Weekday::Saturday)
        };
        store.set_clinic_hours(clinic, &hours, &actor, now).await?;
        // The next Christmas that is not today: the demo's day stays open.
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let mut christmas = Date::new(today.year(), 12, 25)?;
        if christmas <= today {
            christmas = Date::new(today.year() + 1, 12, 25)?;
        }
        store
            .add_closure(clinic, christmas, "Christmas Day", &actor, now)
            .await?;
    }

    let mut bristol_patients = vec![];
    let mut screened_today = vec![];
    let mut rng = Rng(20261122);
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    for i in 0..50u64 {
        let female = rng.below(10) < 7; // most microneedling patients are women
        let given = if female {
            *rng.pick(GIVEN_F)
        } else {
            *rng.pick(GIVEN_M)
        };
        let family = *rng.pick(FAMILY);
        let age = 22 + rng.below(45) as i16;
        let dob = Date::new(
            today.year() - age,
            1 + rng.below(12) as i8,
            1 + rng.below(28) as i8,
        )?;
        let clinic = if i % 3 == 2 { brooklyn.id } else { bristol.id };
        let phone = if clinic == bristol.id {
            format!("+44 7700 900{:03}", rng.below(1000))
        } else {
            format!("+1 718 555 {:04}", rng.below(10000))
        };
        let input = PatientInput {
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: dob.to_string(),
            sex: if female { "female" } else { "male" }.into(),
            email: format!(
                "{}.{}{}@example.com",
                given.to_lowercase(),
                family.to_lowercase().replace('\'', ""),
                i
            ),
            phone,
            address: format!("{} {}", 1 + rng.below(120), rng.pick(STREETS)),
            notes: if rng.below(4) == 0 {
                "Prefers morning appointments.".into()
            } else {
                String::new()
            },
        };
        let details = input
            .validate(today)
            .map_err(|e| anyhow::anyhow!("demo patient {i}: {e}"))?;
        // Spread arrivals over the last year so lists and reports look lived-in.
        let created = now - SignedDuration::from_hours(24 * (365 - i as i64 * 7));
        let p = store
            .create_patient(clinic, &details, &actor, created)
            .await?;
        if clinic == bristol.id {
            bristol_patients.push((i as usize, p.clone()));
        }
        let (_, note) = HISTORIES[i as usize % HISTORIES.len()];
        let here: Vec<i64> = clinicians
            .iter()
            .filter(|(_, cs)| cs.contains(&clinic))
            .map(|(id, _)| *id)
            .collect();
        let author = here[i as usize % here.len()];
        store
            .add_clinical_note(
                p.id,
                author,
                note,
                &actor,
                created + SignedDuration::from_mins(40),
            )
            .await?;
        // Most patients have a recorded history; two in three of those were
        // screened today.
        if i % 7 != 6 {
            let mut h = history_for(i as usize, today);
            h.date_of_birth = Some(dob);
            h.validate(kb, today)
                .map_err(|e| anyhow::anyhow!("demo history {i}: {e}"))?;
            let v = store
                .add_history_version(p.id, &h, "clinician", None, &actor, created)
                .await?;
            if i % 3 != 1 {
                let result = screen(kb, &h, &h.concern_areas(), today)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                screened_today.push((p.id, v.id, result));
            }
        }
    }
    life::live(
        shared.clone(),
        kb,
        data_dir,
        site,
        now,
        bristol.id,
        &bristol_patients,
    )
    .await?;
    // The Bristol clinic's policy from now on: two days' notice of a
    // change, or a fee.
    store
        .set_cancellation_policy(
            bristol.id,
            &needlepoint_domain::booking_rules::CancellationPolicy {
                notice_hours: 48,
                fee_minor: 4000,
            },
            &system,
            now,
        )
        .await?;
    // Today's screenings come after the past the clinic lived through, as
    // they would: the latest screening is the one made last.
    for (patient, version, result) in screened_today {
        store
            .record_screening(patient, version, &result, &actor, now)
            .await?;
    }
    Ok(logins)
}
