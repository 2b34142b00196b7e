// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.

impl SqlStore<Db> {
    /// Inserts rows many to a statement.
    async fn insert_many(
        tx: &mut sqlx::Transaction<'_, Db>,
        table: &str,
        cols: &[&str],
        rows: &[Vec<crate::generate_sql::V>],
    ) -> Result<()> {
        use crate::generate_sql::V;
        use std::fmt::Write;
        let per = cols.len();
        for chunk in rows.chunks((Self::BULK_PARAMS / per).max(1)) {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for j in 0..per {
                    n += 1;
                    let _ = write!(sql, "{}${n}", if j == 0 { "" } else { ", " });
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for row in chunk {
                for v in row {
                    q = match v {
                        V::I(i) => q.bind(*i),
                        V::OptI(i) => q.bind(*i),
                        V::S(s) => q.bind(s.as_str()),
                        V::OptS(s) => q.bind(s.as_deref()),
                        V::T(t) => q.bind(Ts(*t)),
                        V::D(d) => q.bind(Day(*d)),
                    };
                }
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    pub async fn generate_chain(
        &self,
        scale: &crate::generate::Scale,
        progress: &(dyn Fn(crate::generate::Progress) + Send + Sync),
    ) -> Result<crate::generate::Generated> {
        use crate::generate::{self, Generated, Progress};
        use crate::generate_sql::V;
        use needlepoint_domain::charting::{Anaesthetic, Endpoint, SupplyKind, ZoneRecord};
        if self.owner_exists().await? {
            return Err(StoreError::Conflict(
                "This database already has an organisation: generate needs an empty one.".into(),
            ));
        }
        let sys = Actor::system("generate");
        let now = scale.until;
        let clinic = |i: u32| {
            ClinicDetails::parse(&format!("Clinic {:02}", i + 1), "Europe/London", "", "")
                .map_err(StoreError::Invalid)
        };
        let owner = NewStaff {
            organisation_id: 0,
            email: "owner@generated.example".into(),
            name: "Generated Owner".into(),
            role: Role::Owner,
            // Not a hash any password matches: set one with `needlepoint user`.
            password_hash: "!".into(),
            practitioner: None,
            clinic_ids: vec![],
        };
        let (org, first, _) = self
            .setup("Generated Chain", &clinic(0)?, &owner, &sys, now)
            .await?;
        let mut out = Generated::default();
        out.clinic_ids.push(first.id);
        for i in 1..scale.clinics {
            out.clinic_ids
                .push(self.create_clinic(org.id, &clinic(i)?, &sys, now).await?.id);
        }
        // Per clinic: a practitioner, a cartridge and a serum, and their lots.
        let mut practitioner = vec![];
        let mut cartridge_lots: Vec<Vec<i64>> = vec![];
        let mut product_lots: Vec<Vec<i64>> = vec![];
        for (i, cid) in out.clinic_ids.iter().enumerate() {
            let staff = self
                .create_staff(
                    &NewStaff {
                        organisation_id: org.id,
                        email: format!("practitioner{}@generated.example", i + 1),
                        name: format!("Practitioner {}", i + 1),
                        role: Role::Clinician,
                        password_hash: "!".into(),
                        practitioner: Some(
                            PractitionerDetails::parse(
                                &format!("Practitioner {}", i + 1),
                                "Nurse",
                                "",
                            )
                            .map_err(StoreError::Invalid)?,
                        ),
                        clinic_ids: vec![*cid],
                    },
                    &sys,
                    now,
                )
                .await?;
            practitioner.push(staff.id);
            let mut per_kind = vec![];
            for (kind, name, intradermal, count, prefix) in [
                (
                    SupplyKind::Cartridge,
                    "SkinPen 14-pin cartridge",
                    false,
                    generate::CARTRIDGE_LOTS,
                    "C",
                ),
                (
                    SupplyKind::Product,
                    "Hyaluronic serum (sterile)",
                    true,
                    generate::PRODUCT_LOTS,
                    "H",
                ),
            ] {
                let item = self
                    .create_supply_item(
                        *cid,
                        &NewSupplyItem {
                            kind,
                            name: name.into(),
                            supplier: "Generated Supplies".into(),
                            intradermal,
                            reorder_at: 20,
                        },
                        &sys,
                        now,
                    )
                    .await?;
                let mut tx = self.pool.begin_with(self.begin).await?;
                let rows: Vec<Vec<V>> = (0..count)
                    .map(|k| {
                        let received =
                            generate::lot_received(scale, k * generate::CARTRIDGE_LOTS / count);
                        vec![
                            V::I(item.id),
                            V::I(*cid),
                            V::S(format!("{prefix}{:02}-{k:04}", i + 1)),
                            V::D(
                                (received + jiff::SignedDuration::from_hours(24 * 730))
                                    .to_zoned(jiff::tz::TimeZone::UTC)
                                    .date(),
                            ),
                            V::I(if k + 1 == count { 400 } else { 0 }),
                            V::T(received),
                        ]
                    })
                    .collect();
                Self::insert_many(
                    &mut tx,
                    "lots",
                    &[
                        "item_id",
                        "clinic_id",
                        "lot_number",
                        "expires_on",
                        "quantity",
                        "received_at",
                    ],
                    &rows,
                )
                .await?;
                let ids: Vec<i64> =
                    sqlx::query_scalar("SELECT id FROM lots WHERE item_id = $1 ORDER BY id")
                        .bind(item.id)
                        .fetch_all(&mut *tx)
                        .await?;
                tx.commit().await?;
                per_kind.push(ids);
            }
            product_lots.push(per_kind.pop().unwrap_or_default());
            cartridge_lots.push(per_kind.pop().unwrap_or_default());
        }
        out.cartridge_lots = cartridge_lots.iter().flatten().copied().collect();

        let zones = serde_json::to_string(&[ZoneRecord {
            zone: "cheeks".into(),
            depth: needlepoint_domain::Depth::from_micrometres(1000)
                .map_err(|e| decode_err("depth", e))?,
            passes: 3,
            device: "skinpen".into(),
            speed: "single speed".into(),
            endpoint: Endpoint::PinpointBleeding,
            notes: String::new(),
            override_reason: None,
            flag: None,
        }])
        .map_err(|e| decode_err("zones", e))?;
        let mut next_session = 1;
        let mut from = 0;
        while from < scale.patients {
            let to = (from + generate::BATCH).min(scale.patients);
            let (patients, sessions) = generate::batch(scale, from, to, next_session);
            let mut tx = self.pool.begin_with(self.begin).await?;
            let rows: Vec<Vec<V>> = patients
                .iter()
                .map(|p| {
                    let keys = patient_search::keys(&PatientDetails {
                        given_name: p.given.into(),
                        family_name: p.family.into(),
                        date_of_birth: p.birth,
                        sex: Sex::Female,
                        email: p
                            .email
                            .as_deref()
                            .and_then(|e| Email::parse("email", e).ok()),
                        phone: p.phone.clone(),
                        address: None,
                        notes: None,
                    });
                    vec![
                        V::I(p.id),
                        V::I(out.clinic_ids[p.clinic]),
                        V::S(p.given.into()),
                        V::S(p.family.into()),
                        V::D(p.birth),
                        V::S("female".into()),
                        V::OptS(p.email.clone()),
                        V::OptS(p.phone.clone()),
                        V::T(now),
                        V::T(now),
                        V::S(keys.text),
                        V::S(keys.sort),
                        V::S(keys.family),
                    ]
                })
                .collect();
            Self::insert_many(
                &mut tx,
                "patients",
                &[
                    "id",
                    "clinic_id",
                    "given_name",
                    "family_name",
                    "date_of_birth",
                    "sex",
                    "email",
                    "phone",
                    "created_at",
                    "updated_at",
                    "search_text",
                    "sort_key",
                    "family_key",
                ],
                &rows,
            )
            .await?;
            let london =
                jiff::tz::TimeZone::get("Europe/London").map_err(|e| decode_err("zone", e))?;
            let rows: Vec<Vec<V>> = sessions
                .iter()
                .map(|s| {
                    vec![
                        V::I(s.id),
                        V::I(out.clinic_ids[s.clinic]),
                        V::I(s.patient_id),
                        V::I(s.number),
                        V::S("session".into()),
                        V::I(practitioner[s.clinic]),
                        V::T(s.starts_at),
                        V::T(s.starts_at + jiff::SignedDuration::from_mins(75)),
                        V::S(s.starts_at.to_zoned(london.clone()).datetime().to_string()),
                        V::S("Europe/London".into()),
                        V::S("completed".into()),
                        V::T(s.starts_at),
                    ]
                })
                .collect();
            Self::insert_many(
                &mut tx,
                "appointments",
                &[
                    "id",
                    "clinic_id",
                    "patient_id",
                    "session_number",
                    "kind",
                    "practitioner_id",
                    "starts_at",
                    "ends_at",
                    "local_start",
                    "time_zone",
                    "status",
                    "created_at",
                ],
                &rows,
            )
            .await?;
            let rows: Vec<Vec<V>> = sessions
                .iter()
                .map(|s| {
                    let numbed = s.starts_at - jiff::SignedDuration::from_mins(40);
                    let checklist = ChecklistRecord {
                        anaesthetic: Anaesthetic::AppliedAt { at: numbed },
                        antiviral_taken: false,
                    };
                    vec![
                        V::I(s.id),
                        V::I(out.clinic_ids[s.clinic]),
                        V::I(s.patient_id),
                        V::I(s.id),
                        V::I(s.number),
                        V::S("in_progress".into()),
                        V::S(serde_json::to_string(&checklist).unwrap_or_default()),
                        V::T(s.starts_at),
                        V::I(practitioner[s.clinic]),
                        V::S(zones.clone()),
                        V::T(s.starts_at),
                        V::T(s.starts_at),
                    ]
                })
                .collect();
            Self::insert_many(
                &mut tx,
                "charts",
                &[
                    "id",
                    "clinic_id",
                    "patient_id",
                    "appointment_id",
                    "session_number",
                    "status",
                    "checklist",
                    "started_at",
                    "started_by",
                    "zones",
                    "created_at",
                    "updated_at",
                ],
                &rows,
            )
            .await?;
            let mut rows: Vec<Vec<V>> = vec![];
            for s in &sessions {
                let cid = out.clinic_ids[s.clinic];
                let mut used = vec![cartridge_lots[s.clinic][s.cartridge_lot]];
                if let Some(p) = s.product_lot {
                    used.push(product_lots[s.clinic][p]);
                }
                for lot in used {
                    rows.push(vec![
                        V::I(s.id),
                        V::I(lot),
                        V::I(s.patient_id),
                        V::I(cid),
                        V::I(1),
                        V::OptS(None),
                        V::T(s.starts_at),
                        V::OptI(Some(practitioner[s.clinic])),
                    ]);
                }
            }
            Self::insert_many(
                &mut tx,
                "chart_lots",
                &[
                    "chart_id",
                    "lot_id",
                    "patient_id",
                    "clinic_id",
                    "quantity",
                    "warning",
                    "used_at",
                    "created_by",
                ],
                &rows,
            )
            .await?;
            // Signed last: a signed chart takes no more lots.
            if let (Some(first), Some(last)) = (sessions.first(), sessions.last()) {
                sqlx::query(
                    "UPDATE charts SET status = 'signed', signed_at = started_at, signed_by = started_by, version = 2 \
                     WHERE id >= $1 AND id <= $2",
                )
                .bind(first.id)
                .bind(last.id)
                .execute(&mut *tx)
                .await?;
                next_session = last.id + 1;
            }
            tx.commit().await?;
            out.patients = to;
            out.sessions = (next_session - 1) as u64;
            progress(Progress {
                done: to,
                total: scale.patients,
            });
            from = to;
        }
        self.after_bulk_load(&["patients", "appointments", "charts"])
            .await?;
        Ok(out)
    }
}
