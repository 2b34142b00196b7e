// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.

type Conn = <Db as sqlx::Database>::Connection;
type DbRow = <Db as sqlx::Database>::Row;

impl SqlStore<Db> {
    pub async fn migrate(&self) -> Result<()> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let migrations: &[Migration] = MIGRATIONS;
        for m in migrations {
            let mut tx = self.pool.begin_with(self.begin).await?;
            Self::lock_migrations(&mut tx).await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_none() {
                tracing::info!(version = m.version, name = m.name, "applying migration");
                sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
                if m.name == "audit_chain" {
                    Self::chain_existing(&mut tx).await?;
                }
                if m.name == "patient_search" {
                    Self::index_existing_patients(&mut tx).await?;
                }
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(m.version)
                .bind(m.name)
                .bind(Timestamp::now().to_string())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        self.restore_audit_triggers().await?;
        Ok(())
    }

    /// The triggers that keep the audit trail append-only. Missing ones
    /// mean someone changed the database by hand: say so loudly, and put
    /// them back. The chain then shows whether rows were touched meanwhile.
    async fn restore_audit_triggers(&self) -> Result<()> {
        let missing = self.missing_audit_triggers().await?;
        if missing.is_empty() {
            return Ok(());
        }
        tracing::error!(
            triggers = %missing.join(", "),
            "THE AUDIT TRAIL'S PROTECTION WAS REMOVED: its triggers were missing and are restored now; \
             run `needlepoint audit verify` to see whether rows were changed meanwhile"
        );
        eprintln!(
            "WARNING: the audit trail's protecting triggers were missing ({}); restored. \
             Run `needlepoint audit verify`.",
            missing.join(", ")
        );
        sqlx::raw_sql(Self::AUDIT_TRIGGERS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn audit(conn: &mut Conn, actor: &Actor, e: &AuditEvent, now: Timestamp) -> Result<()> {
        let entry = Self::insert_audit(conn, actor, e, now).await?;
        Self::chain(conn, &[entry]).await
    }

    /// Writes an audit row and gives it back as stored (which is what its
    /// link covers): the time to the microsecond both databases keep, and
    /// everything else as given, without reading the row back.
    async fn insert_audit(
        conn: &mut Conn,
        actor: &Actor,
        e: &AuditEvent,
        now: Timestamp,
    ) -> Result<AuditEntry> {
        let at = Timestamp::from_microsecond(now.as_microsecond())
            .map_err(|err| decode_err("at", err))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor_id, actor_label, channel, ip, action, entity, \
             entity_id, patient_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING id",
        )
        .bind(Ts(at))
        .bind(actor.staff_id)
        .bind(&actor.label)
        .bind(actor.channel.as_str())
        .bind(&actor.ip)
        .bind(e.action)
        .bind(e.entity)
        .bind(e.entity_id)
        .bind(e.patient_id)
        .bind(e.detail.to_string())
        .fetch_one(&mut *conn)
        .await?;
        Ok(AuditEntry {
            id,
            at,
            actor_id: actor.staff_id,
            actor_label: actor.label.clone(),
            channel: actor.channel.as_str().to_string(),
            ip: actor.ip.clone(),
            action: e.action.to_string(),
            entity: e.entity.to_string(),
            entity_id: e.entity_id,
            patient_id: e.patient_id,
            detail: e.detail.clone(),
        })
    }

    /// Links audit rows (in id order) to the chain, in the transaction that
    /// wrote them. Taking the head row first holds other writers' links
    /// until this transaction ends, so two links never follow the same one;
    /// a batch of views takes it once.
    async fn chain(conn: &mut Conn, entries: &[AuditEntry]) -> Result<()> {
        let Some(last) = entries.last() else {
            return Ok(());
        };
        let mut prev: String = sqlx::query_scalar(
            "UPDATE audit_head SET audit_id = audit_id WHERE id = 1 RETURNING hash",
        )
        .fetch_one(&mut *conn)
        .await?;
        for chunk in entries.chunks(500) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO audit_chain (audit_id, prev_hash, hash) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                let hash = crate::audit_chain::link(&prev, e);
                q = q.bind(e.id).bind(prev).bind(hash.clone());
                prev = hash;
            }
            q.execute(&mut *conn).await?;
        }
        sqlx::query("UPDATE audit_head SET audit_id = $1, hash = $2 WHERE id = 1")
            .bind(last.id)
            .bind(&prev)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Links the rows written before the chain existed, once, as its
    /// migration is applied.
    async fn chain_existing(conn: &mut Conn) -> Result<()> {
        let rows = sqlx::query(&format!("SELECT {AUDIT_COLS} FROM audit_log ORDER BY id"))
            .fetch_all(&mut *conn)
            .await?;
        let entries = rows
            .iter()
            .map(Self::audit_from)
            .collect::<Result<Vec<_>>>()?;
        Self::chain(conn, &entries).await
    }

    /// Walks the whole audit trail and its chain (see [`crate::audit_chain`]).
    pub async fn verify_audit_chain(&self) -> Result<crate::audit_chain::Verdict> {
        /// Rows read at a time: the walk's memory stays flat on a chain's
        /// millions of rows.
        const PAGE: i64 = 5_000;
        let orphan: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(c.audit_id) FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id \
             WHERE a.id IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let (head_id, head_hash): (i64, String) =
            sqlx::query_as("SELECT audit_id, hash FROM audit_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        let sql = format!(
            "SELECT {}, c.prev_hash AS link_prev, c.hash AS link_hash \
             FROM audit_log a LEFT JOIN audit_chain c ON c.audit_id = a.id \
             WHERE a.id > $1 ORDER BY a.id LIMIT $2",
            cols_of(AUDIT_COLS, "a")
        );
        let mut walk = crate::audit_chain::Walk::new(orphan);
        let mut after = 0i64;
        let broken = loop {
            let rows = sqlx::query(&sql)
                .bind(after)
                .bind(PAGE)
                .fetch_all(&self.pool)
                .await?;
            let Some(last) = rows.last() else {
                break walk.finish((head_id, &head_hash));
            };
            after = last.try_get("id")?;
            let mut broken = None;
            for r in &rows {
                let prev: Option<String> = r.try_get("link_prev")?;
                let hash: Option<String> = r.try_get("link_hash")?;
                let linked = crate::audit_chain::Linked {
                    entry: Self::audit_from(r)?,
                    link: prev.zip(hash),
                };
                broken = walk.next(&linked);
                if broken.is_some() {
                    break;
                }
            }
            if broken.is_some() {
                break broken;
            }
        };
        Ok(crate::audit_chain::Verdict {
            rows: walk.rows,
            broken,
        })
    }

    /// Writes the search keys of patients recorded before patient search
    /// had an index (migration 17), a page at a time.
    async fn index_existing_patients(conn: &mut Conn) -> Result<()> {
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {PATIENT_COLS} FROM patients WHERE id > $1 ORDER BY id LIMIT 1000"
            ))
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.try_get("id")?;
            for r in &rows {
                let p = Self::patient_from(r)?;
                let k = patient_search::keys(&p.details);
                sqlx::query(
                    "UPDATE patients SET search_text = $2, sort_key = $3, family_key = $4 \
                     WHERE id = $1",
                )
                .bind(p.id)
                .bind(&k.text)
                .bind(&k.sort)
                .bind(&k.family)
                .execute(&mut *conn)
                .await?;
            }
        }
    }

    /// Adds a clinic to an organisation (first-run setup or later).
    async fn insert_clinic(
        conn: &mut Conn,
        organisation_id: i64,
        d: &ClinicDetails,
        now: Timestamp,
    ) -> Result<Clinic> {
        let row = sqlx::query(
            "INSERT INTO clinics (organisation_id, name, time_zone, address, phone, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, organisation_id, name, time_zone, address, phone, created_at",
        )
        .bind(organisation_id)
        .bind(&d.name)
        .bind(&d.time_zone)
        .bind(&d.address)
        .bind(&d.phone)
        .bind(Ts(now))
        .fetch_one(&mut *conn)
        .await?;
        Self::clinic_from(&row)
    }

    /// A web session from a row whose session columns are named
    /// `token_hash`, `session_created_at`, `expires_at`, `ip`, `user_agent`.
    fn web_session_from(r: &DbRow, staff_id: i64) -> Result<WebSession> {
        Ok(WebSession {
            token_hash: r.try_get("token_hash")?,
            staff_id,
            created_at: r.try_get::<Ts, _>("session_created_at")?.0,
            expires_at: r.try_get::<Ts, _>("expires_at")?.0,
            last_seen_at: r.try_get::<Ts, _>("last_seen_at")?.0,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
        })
    }

    /// A new session, last seen when it was created.
    async fn insert_session(conn: &mut Conn, s: &WebSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO web_sessions \
             (token_hash, staff_id, created_at, expires_at, last_seen_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $3, $5, $6)",
        )
        .bind(&s.token_hash)
        .bind(s.staff_id)
        .bind(Ts(s.created_at))
        .bind(Ts(s.expires_at))
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Spends a second factor inside the sign-in's or enrolment's
    /// transaction; `Conflict` when it was already spent.
    async fn spend_factor(
        conn: &mut Conn,
        staff_id: i64,
        factor: &SecondFactor,
        now: Timestamp,
    ) -> Result<()> {
        let spent =
            || StoreError::Conflict("That code was already used: wait for the next one.".into());
        match factor {
            SecondFactor::Code { step } => {
                // A code is good for its time step once (RFC 6238 §5.2).
                let n = sqlx::query(
                    "UPDATE staff SET totp_last_step = $2 WHERE id = $1 \
                     AND totp_secret IS NOT NULL \
                     AND (totp_last_step IS NULL OR totp_last_step < $2)",
                )
                .bind(staff_id)
                .bind(step)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(spent());
                }
            }
            SecondFactor::RecoveryCode { code_hash } => {
                let n = sqlx::query(
                    "UPDATE recovery_codes SET used_at = $3 \
                     WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL",
                )
                .bind(staff_id)
                .bind(code_hash)
                .bind(Ts(now))
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::Conflict(
                        "That recovery code was already used.".into(),
                    ));
                }
            }
            SecondFactor::Enrol(e) => {
                sqlx::query(
                    "UPDATE staff SET totp_secret = $2, totp_last_step = $3, totp_enabled_at = $4 \
                     WHERE id = $1",
                )
                .bind(staff_id)
                .bind(&e.secret)
                .bind(e.step)
                .bind(Ts(now))
                .execute(&mut *conn)
                .await?;
                Self::insert_recovery_codes(conn, staff_id, &e.recovery_code_hashes).await?;
            }
        }
        Ok(())
    }

    /// Replaces all of a staff member's recovery codes with these.
    async fn insert_recovery_codes(
        conn: &mut Conn,
        staff_id: i64,
        hashes: &[String],
    ) -> Result<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE staff_id = $1")
            .bind(staff_id)
            .execute(&mut *conn)
            .await?;
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (staff_id, code_hash) VALUES ($1, $2)")
                .bind(staff_id)
                .bind(h)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// The strictest sign-in rules of the clinics of the staff member `s`
    /// (see [`Self::policy_from`]).
    const POLICY_COLUMNS: &'static str =
        "(SELECT MIN(c.idle_minutes) FROM staff_clinics sc JOIN clinics c ON c.id = sc.clinic_id \
          WHERE sc.staff_id = s.id) AS policy_idle_minutes, \
         EXISTS (SELECT 1 FROM staff_clinics sc JOIN clinics c ON c.id = sc.clinic_id \
          WHERE sc.staff_id = s.id AND c.require_two_factor) AS policy_two_factor";

    /// Credentials from a row with the staff columns, `password_hash`,
    /// `totp_secret`, `totp_last_step` and [`Self::POLICY_COLUMNS`].
    fn credentials_from(r: &DbRow) -> Result<StaffCredentials> {
        let secret: Option<String> = r.try_get("totp_secret")?;
        Ok(StaffCredentials {
            staff: Self::staff_from(r)?,
            password_hash: r.try_get("password_hash")?,
            authenticator: match secret {
                Some(secret) => Some(Authenticator {
                    secret,
                    last_step: r.try_get("totp_last_step")?,
                }),
                None => None,
            },
            policy: Self::policy_from(r)?,
        })
    }

    fn policy_from(r: &DbRow) -> Result<SignInPolicy> {
        let idle: Option<i64> = r.try_get("policy_idle_minutes")?;
        Ok(SignInPolicy {
            idle_minutes: match idle {
                Some(m) => u32::try_from(m).map_err(|e| decode_err("idle_minutes", e))?,
                None => SignInPolicy::DEFAULT_IDLE_MINUTES,
            },
            require_two_factor: r.try_get("policy_two_factor")?,
        })
    }

    fn staff_from(r: &DbRow) -> Result<Staff> {
        let role: String = r.try_get("role")?;
        let practitioner = if r.try_get::<bool, _>("is_practitioner")? {
            Some(PractitionerDetails {
                name: r.try_get("name")?,
                profession: r
                    .try_get::<Option<String>, _>("profession")?
                    .unwrap_or_default(),
                registration_number: r.try_get("registration_number")?,
            })
        } else {
            None
        };
        Ok(Staff {
            id: r.try_get("id")?,
            organisation_id: r.try_get("organisation_id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            role: Role::parse(&role).map_err(|e| decode_err("role", e.message))?,
            active: r.try_get("active")?,
            practitioner,
            medical_director: r.try_get("medical_director")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            two_factor_since: r.try_get::<Option<Ts>, _>("totp_enabled_at")?.map(|t| t.0),
        })
    }

    fn clinic_from(r: &DbRow) -> Result<Clinic> {
        Ok(Clinic {
            id: r.try_get("id")?,
            organisation_id: r.try_get("organisation_id")?,
            details: ClinicDetails {
                name: r.try_get("name")?,
                time_zone: r.try_get("time_zone")?,
                address: r.try_get("address")?,
                phone: r.try_get("phone")?,
            },
            created_at: r.try_get::<Ts, _>("created_at")?.0,
        })
    }

    fn patient_from(r: &DbRow) -> Result<Patient> {
        let sex: String = r.try_get("sex")?;
        let email: Option<String> = r.try_get("email")?;
        Ok(Patient {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            details: PatientDetails {
                given_name: r.try_get("given_name")?,
                family_name: r.try_get("family_name")?,
                date_of_birth: r.try_get::<Day, _>("date_of_birth")?.0,
                sex: Sex::parse("sex", &sex).map_err(|e| decode_err("sex", e.message))?,
                email: email
                    .map(|e| Email::parse("email", &e))
                    .transpose()
                    .map_err(|e| decode_err("email", e.message))?,
                phone: r.try_get("phone")?,
                address: r.try_get("address")?,
                notes: r.try_get("notes")?,
            },
            version: r.try_get("version")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            updated_at: r.try_get::<Ts, _>("updated_at")?.0,
        })
    }

    /// A staff member's clinics as one column (`clinic_ids`, comma
    /// separated), for the queries that identify a caller in one go.
    fn clinic_ids_column(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "(SELECT group_concat(sc.clinic_id, ',') FROM staff_clinics sc WHERE sc.staff_id = s.id) AS clinic_ids",
            Backend::Postgres => "(SELECT string_agg(sc.clinic_id::text, ',') FROM staff_clinics sc WHERE sc.staff_id = s.id) AS clinic_ids",
        }
    }

    fn clinic_ids_from(r: &DbRow) -> Result<Vec<i64>> {
        let mut ids = r
            .try_get::<Option<String>, _>("clinic_ids")?
            .unwrap_or_default()
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| c.parse::<i64>().map_err(|e| decode_err("clinic_ids", e)))
            .collect::<Result<Vec<i64>>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    fn token_from(r: &DbRow) -> Result<ApiToken> {
        let role: String = r.try_get("role")?;
        Ok(ApiToken {
            id: r.try_get("id")?,
            staff_id: r.try_get("staff_id")?,
            name: r.try_get("name")?,
            role: Role::parse(&role).map_err(|e| decode_err("role", e.message))?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            last_used_at: r.try_get::<Option<Ts>, _>("last_used_at")?.map(|t| t.0),
            revoked_at: r.try_get::<Option<Ts>, _>("revoked_at")?.map(|t| t.0),
        })
    }

    fn audit_from(r: &DbRow) -> Result<AuditEntry> {
        let detail: String = r.try_get("detail")?;
        Ok(AuditEntry {
            id: r.try_get("id")?,
            at: r.try_get::<Ts, _>("at")?.0,
            actor_id: r.try_get("actor_id")?,
            actor_label: r.try_get("actor_label")?,
            channel: r.try_get("channel")?,
            ip: r.try_get("ip")?,
            action: r.try_get("action")?,
            entity: r.try_get("entity")?,
            entity_id: r.try_get("entity_id")?,
            patient_id: r.try_get("patient_id")?,
            detail: serde_json::from_str(&detail).map_err(|e| decode_err("detail", e))?,
        })
    }

    async fn insert_staff(conn: &mut Conn, new: &NewStaff, now: Timestamp) -> Result<Staff> {
        let p = new.practitioner.as_ref();
        let row = sqlx::query(&format!(
            "INSERT INTO staff (organisation_id, email, name, role, password_hash, active, \
             is_practitioner, profession, registration_number, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {STAFF_COLS}"
        ))
        .bind(new.organisation_id)
        .bind(&new.email)
        .bind(&new.name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(true)
        .bind(p.is_some())
        .bind(p.map(|p| p.profession.clone()))
        .bind(p.and_then(|p| p.registration_number.clone()))
        .bind(Ts(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| conflict(e, "A staff member with this e-mail already exists."))?;
        let staff = Self::staff_from(&row)?;
        for clinic_id in &new.clinic_ids {
            sqlx::query("INSERT INTO staff_clinics (staff_id, clinic_id) VALUES ($1, $2)")
                .bind(staff.id)
                .bind(clinic_id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(staff)
    }

    async fn patient_in(conn: &mut Conn, id: i64) -> Result<Patient> {
        let row = sqlx::query(&format!(
            "SELECT {PATIENT_COLS} FROM patients WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(not_found)?;
        Self::patient_from(&row)
    }
}

#[async_trait]
impl Store for SqlStore<Db> {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn organisation(&self) -> Result<Option<Organisation>> {
        let row = sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY id LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Organisation {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get::<Ts, _>("created_at")?.0,
            })
        })
        .transpose()
    }

    async fn owner_exists(&self) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE role = 'owner' AND active = $1")
                .bind(true)
                .fetch_one(&self.pool)
                .await?;
        Ok(n > 0)
    }

    async fn setup(
        &self,
        organisation_name: &str,
        clinic: &ClinicDetails,
        owner: &NewStaff,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(Organisation, Clinic, Staff)> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE role = 'owner'")
            .fetch_one(&mut *tx)
            .await?;
        if owners > 0 {
            return Err(StoreError::Conflict(
                "Needlepoint is already set up.".into(),
            ));
        }
        let org_id: i64 = sqlx::query_scalar(
            "INSERT INTO organisations (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(organisation_name)
        .bind(Ts(now))
        .fetch_one(&mut *tx)
        .await?;
        let clinic = Self::insert_clinic(&mut tx, org_id, clinic, now).await?;
        let new = NewStaff {
            organisation_id: org_id,
            role: Role::Owner,
            clinic_ids: vec![clinic.id],
            ..owner.clone()
        };
        let staff = Self::insert_staff(&mut tx, &new, now).await?;
        let ev = AuditEvent::new("setup", "organisation", Some(org_id)).detail(json!({
            "organisation": organisation_name, "clinic": clinic.details.name, "owner": staff.email,
        }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        let org = Organisation {
            id: org_id,
            name: organisation_name.to_string(),
            created_at: now,
        };
        Ok((org, clinic, staff))
    }

    async fn create_staff(&self, new: &NewStaff, actor: &Actor, now: Timestamp) -> Result<Staff> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let staff = Self::insert_staff(&mut tx, new, now).await?;
        let ev = AuditEvent::new("create", "staff", Some(staff.id)).detail(json!({
            "email": staff.email, "role": staff.role.as_str(), "clinics": new.clinic_ids,
        }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(staff)
    }

    async fn staff(&self, id: i64) -> Result<Staff> {
        let row = sqlx::query(&format!("SELECT {STAFF_COLS} FROM staff WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(not_found)?;
        Self::staff_from(&row)
    }

    async fn staff_credentials(&self, email: &str) -> Result<Option<StaffCredentials>> {
        let row = sqlx::query(&format!(
            "SELECT {STAFF_COLS}, password_hash, totp_secret, totp_last_step, {} \
             FROM staff s WHERE email = $1",
            Self::POLICY_COLUMNS
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::credentials_from).transpose()
    }

    async fn list_staff(&self, organisation_id: i64) -> Result<Vec<Staff>> {
        let rows = sqlx::query(&format!(
            "SELECT {STAFF_COLS} FROM staff WHERE organisation_id = $1 ORDER BY name, id"
        ))
        .bind(organisation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::staff_from).collect()
    }

    async fn staff_clinic_ids(&self, staff_id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT clinic_id FROM staff_clinics WHERE staff_id = $1 ORDER BY clinic_id",
        )
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn staff_clinic_map(
        &self,
        organisation_id: i64,
    ) -> Result<std::collections::HashMap<i64, Vec<i64>>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT sc.staff_id, sc.clinic_id FROM staff_clinics sc \
             JOIN staff s ON s.id = sc.staff_id WHERE s.organisation_id = $1 \
             ORDER BY sc.staff_id, sc.clinic_id",
        )
        .bind(organisation_id)
        .fetch_all(&self.pool)
        .await?;
        let mut map = std::collections::HashMap::<i64, Vec<i64>>::new();
        for (staff, clinic) in rows {
            map.entry(staff).or_default().push(clinic);
        }
        Ok(map)
    }

    async fn set_medical_director(
        &self,
        staff_id: i64,
        on: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Staff> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let n = sqlx::query("UPDATE staff SET medical_director = $2 WHERE id = $1")
            .bind(staff_id)
            .bind(on)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let ev = AuditEvent::new("medical_director", "staff", Some(staff_id))
            .detail(serde_json::json!({ "on": on }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.staff(staff_id).await
    }

    async fn set_staff_active(
        &self,
        staff_id: i64,
        active: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Staff> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(&format!(
            "UPDATE staff SET active = $2 WHERE id = $1 RETURNING {STAFF_COLS}"
        ))
        .bind(staff_id)
        .bind(active)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let staff = Self::staff_from(&row)?;
        // Checked after the change, inside the transaction, so two
        // owners deactivating each other cannot both succeed.
        let owners: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM staff WHERE organisation_id = $1 AND role = 'owner' AND active = $2",
        )
        .bind(staff.organisation_id)
        .bind(true)
        .fetch_one(&mut *tx)
        .await?;
        if owners == 0 {
            return Err(StoreError::Conflict(
                "The organisation needs at least one active owner.".into(),
            ));
        }
        if !active {
            sqlx::query("DELETE FROM web_sessions WHERE staff_id = $1")
                .bind(staff_id)
                .execute(&mut *tx)
                .await?;
            // Revoked for good: reactivating the account later must not
            // bring a token back to life that someone may have kept.
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL",
            )
            .bind(staff_id)
            .bind(Ts(now))
            .execute(&mut *tx)
            .await?;
        }
        let action = if active { "reactivate" } else { "deactivate" };
        Self::audit(
            &mut tx,
            actor,
            &AuditEvent::new(action, "staff", Some(staff_id)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(staff)
    }

    async fn create_session(&self, s: &WebSession, actor: &Actor) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        Self::insert_session(&mut tx, s).await?;
        Self::audit(
            &mut tx,
            actor,
            &AuditEvent::new("login", "staff", Some(s.staff_id)),
            s.created_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<SessionUse>> {
        // The session, its staff member and their clinics in one
        // query: every signed-in page starts here.
        let row = sqlx::query(&format!(
            "SELECT {}, w.token_hash, w.created_at AS session_created_at, w.expires_at, \
             w.last_seen_at, w.ip, w.user_agent, {}, {} \
             FROM web_sessions w JOIN staff s ON s.id = w.staff_id \
             WHERE w.token_hash = $1 AND w.expires_at > $2",
            cols_of(STAFF_COLS, "s"),
            self.clinic_ids_column(),
            Self::POLICY_COLUMNS
        ))
        .bind(token_hash)
        .bind(Ts(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let staff = Self::staff_from(&r)?;
        let session = Self::web_session_from(&r, staff.id)?;
        let clinic_ids = Self::clinic_ids_from(&r)?;
        Ok(staff.active.then_some(SessionUse {
            session,
            staff,
            clinic_ids,
            policy: Self::policy_from(&r)?,
        }))
    }

    async fn delete_session(&self, token_hash: &str, actor: &Actor, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let staff_id: Option<i64> =
            sqlx::query_scalar("DELETE FROM web_sessions WHERE token_hash = $1 RETURNING staff_id")
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = staff_id {
            Self::audit(
                &mut tx,
                actor,
                &AuditEvent::new("logout", "staff", Some(id)),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn staff_sessions(&self, staff_id: i64, now: Timestamp) -> Result<Vec<WebSession>> {
        let rows = sqlx::query(
            "SELECT token_hash, created_at AS session_created_at, expires_at, last_seen_at, ip, \
             user_agent FROM web_sessions WHERE staff_id = $1 AND expires_at > $2 ORDER BY created_at DESC",
        )
        .bind(staff_id)
        .bind(Ts(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Self::web_session_from(r, staff_id))
            .collect()
    }

    async fn end_staff_sessions(
        &self,
        staff_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<u64> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let ended = sqlx::query("DELETE FROM web_sessions WHERE staff_id = $1")
            .bind(staff_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let ev = AuditEvent::new("logout_everywhere", "staff", Some(staff_id))
            .detail(serde_json::json!({ "sessions": ended }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn touch_session(&self, token_hash: &str, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE web_sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn sign_in_policy(&self, clinic_id: i64) -> Result<SignInPolicy> {
        let row = sqlx::query("SELECT idle_minutes, require_two_factor FROM clinics WHERE id = $1")
            .bind(clinic_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let idle: i64 = row.try_get("idle_minutes")?;
        Ok(SignInPolicy {
            idle_minutes: u32::try_from(idle).map_err(|e| decode_err("idle_minutes", e))?,
            require_two_factor: row.try_get("require_two_factor")?,
        })
    }

    async fn set_sign_in_policy(
        &self,
        clinic_id: i64,
        p: &SignInPolicy,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let done = sqlx::query(
            "UPDATE clinics SET idle_minutes = $2, require_two_factor = $3 WHERE id = $1",
        )
        .bind(clinic_id)
        .bind(i64::from(p.idle_minutes))
        .bind(p.require_two_factor)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ev = AuditEvent::new("update", "sign_in_policy", Some(clinic_id)).detail(json!({
            "idle_minutes": p.idle_minutes, "require_two_factor": p.require_two_factor,
        }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_sign_in_challenge(&self, c: &SignInChallenge) -> Result<()> {
        sqlx::query(
            "INSERT INTO sign_in_challenges \
             (token_hash, staff_id, created_at, expires_at, attempts, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.token_hash)
        .bind(c.staff_id)
        .bind(Ts(c.created_at))
        .bind(Ts(c.expires_at))
        .bind(c.attempts)
        .bind(&c.ip)
        .bind(&c.user_agent)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sign_in_challenge(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(SignInChallenge, StaffCredentials)>> {
        let row = sqlx::query(&format!(
            "SELECT {}, s.password_hash, s.totp_secret, s.totp_last_step, {}, \
             ch.token_hash, ch.created_at AS challenge_created_at, ch.expires_at, ch.attempts, \
             ch.ip, ch.user_agent \
             FROM sign_in_challenges ch JOIN staff s ON s.id = ch.staff_id \
             WHERE ch.token_hash = $1 AND ch.expires_at > $2",
            cols_of(STAFF_COLS, "s"),
            Self::POLICY_COLUMNS
        ))
        .bind(token_hash)
        .bind(Ts(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let creds = Self::credentials_from(&r)?;
        if !creds.staff.active {
            return Ok(None);
        }
        let challenge = SignInChallenge {
            token_hash: r.try_get("token_hash")?,
            staff_id: creds.staff.id,
            created_at: r.try_get::<Ts, _>("challenge_created_at")?.0,
            expires_at: r.try_get::<Ts, _>("expires_at")?.0,
            attempts: r.try_get("attempts")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
        };
        Ok(Some((challenge, creds)))
    }

    async fn fail_sign_in_challenge(&self, token_hash: &str, max_attempts: i64) -> Result<i64> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let attempts: Option<i64> = sqlx::query_scalar(
            "UPDATE sign_in_challenges SET attempts = attempts + 1 WHERE token_hash = $1 \
             RETURNING attempts",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let attempts = attempts.unwrap_or(max_attempts);
        if attempts >= max_attempts {
            sqlx::query("DELETE FROM sign_in_challenges WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(attempts)
    }

    async fn complete_sign_in(
        &self,
        challenge_hash: &str,
        factor: &SecondFactor,
        session: &WebSession,
        actor: &Actor,
    ) -> Result<()> {
        let now = session.created_at;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let gone = sqlx::query(
            "DELETE FROM sign_in_challenges WHERE token_hash = $1 AND staff_id = $2 \
             AND expires_at > $3",
        )
        .bind(challenge_hash)
        .bind(session.staff_id)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if gone == 0 {
            return Err(StoreError::Conflict(
                "This sign-in has ended: sign in again.".into(),
            ));
        }
        Self::spend_factor(&mut tx, session.staff_id, factor, now).await?;
        Self::insert_session(&mut tx, session).await?;
        let by = match factor {
            SecondFactor::Code { .. } => "authenticator",
            SecondFactor::RecoveryCode { .. } => "recovery_code",
            SecondFactor::Enrol(_) => "authenticator_set_up",
        };
        let ev = AuditEvent::new("login", "staff", Some(session.staff_id))
            .detail(json!({ "second_factor": by }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        if let SecondFactor::Enrol(_) = factor {
            let ev = AuditEvent::new("two_factor_on", "staff", Some(session.staff_id));
            Self::audit(&mut tx, actor, &ev, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn enable_two_factor(
        &self,
        staff_id: i64,
        enrolment: &Enrolment,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        Self::spend_factor(
            &mut tx,
            staff_id,
            &SecondFactor::Enrol(enrolment.clone()),
            now,
        )
        .await?;
        let ev = AuditEvent::new("two_factor_on", "staff", Some(staff_id));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn disable_two_factor(&self, staff_id: i64, actor: &Actor, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let n = sqlx::query(
            "UPDATE staff SET totp_secret = NULL, totp_last_step = NULL, totp_enabled_at = NULL \
             WHERE id = $1",
        )
        .bind(staff_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Self::insert_recovery_codes(&mut tx, staff_id, &[]).await?;
        for table in ["web_sessions", "sign_in_challenges"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE staff_id = $1"))
                .bind(staff_id)
                .execute(&mut *tx)
                .await?;
        }
        let ev = AuditEvent::new("two_factor_off", "staff", Some(staff_id));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_recovery_codes(
        &self,
        staff_id: i64,
        code_hashes: &[String],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        Self::insert_recovery_codes(&mut tx, staff_id, code_hashes).await?;
        let ev = AuditEvent::new("recovery_codes", "staff", Some(staff_id));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recovery_codes_left(&self, staff_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE staff_id = $1 AND used_at IS NULL",
        )
        .bind(staff_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn record_login_attempt(
        &self,
        email: &str,
        ip: Option<&str>,
        success: bool,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query("INSERT INTO login_attempts (email, ip, at, success) VALUES ($1, $2, $3, $4)")
            .bind(email.trim().to_lowercase())
            .bind(ip)
            .bind(Ts(at))
            .bind(success)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn failed_logins_since(&self, email: &str, since: Timestamp) -> Result<i64> {
        let email = email.trim().to_lowercase();
        let last_success: Option<Ts> = sqlx::query_scalar(
            "SELECT MAX(at) FROM login_attempts WHERE email = $1 AND success = $2",
        )
        .bind(&email)
        .bind(true)
        .fetch_one(&self.pool)
        .await?;
        let from = last_success.map_or(since, |t| t.0.max(since));
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND success = $2 AND at > $3",
        )
        .bind(&email)
        .bind(false)
        .bind(Ts(from))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn create_api_token(
        &self,
        staff_id: i64,
        name: &str,
        token_hash: &str,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ApiToken> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (staff_id, name, token_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLS}"
        ))
        .bind(staff_id)
        .bind(name)
        .bind(token_hash)
        .bind(role.as_str())
        .bind(Ts(now))
        .fetch_one(&mut *tx)
        .await?;
        let token = Self::token_from(&row)?;
        let ev = AuditEvent::new("create", "api_token", Some(token.id))
            .detail(json!({ "name": name, "role": role.as_str() }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn use_api_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<TokenUse>> {
        // One query for the token, its owner and the owner's clinics:
        // every API request starts here, and each query is a hop to
        // the database's thread and back.
        let row = sqlx::query(&format!(
            "SELECT {}, t.id AS token_id, t.name AS token_name, t.role AS token_role, \
             t.created_at AS token_created_at, t.last_used_at AS token_last_used_at, {} \
             FROM api_tokens t JOIN staff s ON s.id = t.staff_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            cols_of(STAFF_COLS, "s"),
            self.clinic_ids_column()
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let staff = Self::staff_from(&r)?;
        let role: String = r.try_get("token_role")?;
        let mut token = ApiToken {
            id: r.try_get("token_id")?,
            staff_id: staff.id,
            name: r.try_get("token_name")?,
            role: Role::parse(&role).map_err(|e| decode_err("token_role", e.message))?,
            created_at: r.try_get::<Ts, _>("token_created_at")?.0,
            last_used_at: r
                .try_get::<Option<Ts>, _>("token_last_used_at")?
                .map(|t| t.0),
            revoked_at: None,
        };
        let clinic_ids = Self::clinic_ids_from(&r)?;
        if !staff.active {
            return Ok(None);
        }
        // A read must not wait on a write: the time of use is kept to
        // the minute, so a busy client writes it once a minute.
        if token
            .last_used_at
            .is_none_or(|t| now.duration_since(t) >= crate::LAST_USED_EVERY)
        {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(token.id)
                .bind(Ts(now))
                .execute(&self.pool)
                .await?;
            token.last_used_at = Some(now);
        }
        Ok(Some(TokenUse {
            token,
            staff,
            clinic_ids,
        }))
    }

    async fn list_api_tokens(&self, staff_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE staff_id = $1 ORDER BY id DESC"
        ))
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::token_from).collect()
    }

    async fn revoke_api_token(
        &self,
        id: i64,
        staff_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 \
             WHERE id = $1 AND staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(staff_id)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Self::audit(
            &mut tx,
            actor,
            &AuditEvent::new("revoke", "api_token", Some(id)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn clinics_for_staff(&self, staff_id: i64) -> Result<Vec<Clinic>> {
        let rows = sqlx::query(
            "SELECT c.id, c.organisation_id, c.name, c.time_zone, c.address, c.phone, c.created_at \
             FROM clinics c JOIN staff_clinics sc ON sc.clinic_id = c.id \
             WHERE sc.staff_id = $1 ORDER BY c.name, c.id",
        )
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::clinic_from).collect()
    }

    async fn clinic(&self, id: i64) -> Result<Clinic> {
        let row = sqlx::query(
            "SELECT id, organisation_id, name, time_zone, address, phone, created_at \
             FROM clinics WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(not_found)?;
        Self::clinic_from(&row)
    }

    async fn create_clinic(
        &self,
        organisation_id: i64,
        d: &ClinicDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Clinic> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let clinic = Self::insert_clinic(&mut tx, organisation_id, d, now).await?;
        sqlx::query(
            "INSERT INTO staff_clinics (staff_id, clinic_id) \
             SELECT id, $1 FROM staff WHERE organisation_id = $2 AND role = 'owner'",
        )
        .bind(clinic.id)
        .bind(organisation_id)
        .execute(&mut *tx)
        .await?;
        let ev = AuditEvent::new("create", "clinic", Some(clinic.id))
            .detail(json!({ "name": d.name, "time_zone": d.time_zone }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(clinic)
    }

    async fn update_clinic(
        &self,
        id: i64,
        d: &ClinicDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Clinic> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(
            "UPDATE clinics SET name = $2, time_zone = $3, address = $4, phone = $5 WHERE id = $1 \
             RETURNING id, organisation_id, name, time_zone, address, phone, created_at",
        )
        .bind(id)
        .bind(&d.name)
        .bind(&d.time_zone)
        .bind(&d.address)
        .bind(&d.phone)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let clinic = Self::clinic_from(&row)?;
        let ev = AuditEvent::new("update", "clinic", Some(id))
            .detail(json!({ "name": d.name, "time_zone": d.time_zone }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(clinic)
    }

    async fn create_room(
        &self,
        clinic_id: i64,
        d: &RoomDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Room> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (clinic_id, name, active, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(clinic_id)
        .bind(&d.name)
        .bind(true)
        .bind(Ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict(e, "This clinic already has a room with that name."))?;
        let ev = AuditEvent::new("create", "room", Some(id))
            .detail(json!({ "clinic_id": clinic_id, "name": d.name }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(Room {
            id,
            clinic_id,
            details: d.clone(),
            active: true,
        })
    }

    async fn rooms(&self, clinic_id: i64) -> Result<Vec<Room>> {
        let rows = sqlx::query(
            "SELECT id, clinic_id, name, active FROM rooms WHERE clinic_id = $1 ORDER BY name",
        )
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Room {
                    id: r.try_get("id")?,
                    clinic_id: r.try_get("clinic_id")?,
                    details: RoomDetails {
                        name: r.try_get("name")?,
                    },
                    active: r.try_get("active")?,
                })
            })
            .collect()
    }

    async fn create_device(
        &self,
        clinic_id: i64,
        d: &DeviceDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Device> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO devices (clinic_id, name, model, serial_number, max_depth_um, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(clinic_id)
        .bind(&d.name)
        .bind(&d.model)
        .bind(&d.serial_number)
        .bind(i64::from(d.max_depth.micrometres()))
        .bind(true)
        .bind(Ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict(e, "This clinic already has a device with that name."))?;
        let ev = AuditEvent::new("create", "device", Some(id))
            .detail(json!({ "clinic_id": clinic_id, "name": d.name, "model": d.model }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(Device {
            id,
            clinic_id,
            details: d.clone(),
            active: true,
        })
    }

    async fn devices(&self, clinic_id: i64) -> Result<Vec<Device>> {
        let rows = sqlx::query(
            "SELECT id, clinic_id, name, model, serial_number, max_depth_um, active \
             FROM devices WHERE clinic_id = $1 ORDER BY name",
        )
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let um: i64 = r.try_get("max_depth_um")?;
                Ok(Device {
                    id: r.try_get("id")?,
                    clinic_id: r.try_get("clinic_id")?,
                    details: DeviceDetails {
                        name: r.try_get("name")?,
                        model: r.try_get("model")?,
                        serial_number: r.try_get("serial_number")?,
                        max_depth: u32::try_from(um)
                            .map_err(|e| decode_err("max_depth_um", e))
                            .and_then(|um| {
                                Depth::from_micrometres(um)
                                    .map_err(|e| decode_err("max_depth_um", e))
                            })?,
                    },
                    active: r.try_get("active")?,
                })
            })
            .collect()
    }

    async fn create_price_item(
        &self,
        clinic_id: i64,
        d: &PriceItemDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PriceItem> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO price_items (clinic_id, code, name, amount_minor, currency, active, created_at, \
             kind, areas, sessions, discount_bp) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(clinic_id)
        .bind(&d.code)
        .bind(&d.name)
        .bind(d.amount_minor)
        .bind(&d.currency)
        .bind(true)
        .bind(Ts(now))
        .bind(d.kind.as_str())
        .bind(d.areas.join(","))
        .bind(i64::from(d.sessions))
        .bind(i64::from(d.discount_bp))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict(e, "This clinic's price list already has that code."))?;
        let ev = AuditEvent::new("create", "price_item", Some(id)).detail(json!({
            "clinic_id": clinic_id, "code": d.code, "amount_minor": d.amount_minor, "currency": d.currency,
        }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(PriceItem {
            id,
            clinic_id,
            details: d.clone(),
            active: true,
        })
    }

    async fn price_items(&self, clinic_id: i64) -> Result<Vec<PriceItem>> {
        let rows = sqlx::query(
            "SELECT id, clinic_id, code, name, amount_minor, currency, active, kind, areas, sessions, discount_bp \
             FROM price_items WHERE clinic_id = $1 ORDER BY name",
        )
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let areas: String = r.try_get("areas")?;
                let (sessions, discount): (i64, i64) =
                    (r.try_get("sessions")?, r.try_get("discount_bp")?);
                Ok(PriceItem {
                    id: r.try_get("id")?,
                    clinic_id: r.try_get("clinic_id")?,
                    details: PriceItemDetails {
                        code: r.try_get("code")?,
                        name: r.try_get("name")?,
                        amount_minor: r.try_get("amount_minor")?,
                        currency: r.try_get("currency")?,
                        kind: PriceKind::parse(&kind).ok_or_else(|| decode_err("kind", kind))?,
                        areas: areas
                            .split(',')
                            .filter(|a| !a.is_empty())
                            .map(str::to_string)
                            .collect(),
                        sessions: u32::try_from(sessions).map_err(|e| decode_err("sessions", e))?,
                        discount_bp: u32::try_from(discount)
                            .map_err(|e| decode_err("discount_bp", e))?,
                    },
                    active: r.try_get("active")?,
                })
            })
            .collect()
    }

    async fn create_patient(
        &self,
        clinic_id: i64,
        d: &PatientDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Patient> {
        let keys = patient_search::keys(d);
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(&format!(
            "INSERT INTO patients (clinic_id, given_name, family_name, date_of_birth, sex, email, \
             phone, address, notes, version, created_at, updated_at, \
             search_text, sort_key, family_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, $11, $12, $13) \
             RETURNING {PATIENT_COLS}"
        ))
        .bind(clinic_id)
        .bind(&d.given_name)
        .bind(&d.family_name)
        .bind(Day(d.date_of_birth))
        .bind(d.sex.as_str())
        .bind(d.email.as_ref().map(|e| e.as_str()))
        .bind(&d.phone)
        .bind(&d.address)
        .bind(&d.notes)
        .bind(Ts(now))
        .bind(&keys.text)
        .bind(&keys.sort)
        .bind(&keys.family)
        .fetch_one(&mut *tx)
        .await?;
        let patient = Self::patient_from(&row)?;
        let ev = AuditEvent::new("create", "patient", Some(patient.id))
            .patient(patient.id)
            .detail(json!({ "clinic_id": clinic_id }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(patient)
    }

    async fn update_patient(
        &self,
        id: i64,
        expected_version: i64,
        d: &PatientDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Patient> {
        let keys = patient_search::keys(d);
        let mut tx = self.pool.begin_with(self.begin).await?;
        let before = Self::patient_in(&mut tx, id).await?;
        if before.version != expected_version {
            return Err(StoreError::Conflict(
                "Someone else changed this patient since you opened the form; \
                 reload to see their change."
                    .into(),
            ));
        }
        let row = sqlx::query(&format!(
            "UPDATE patients SET given_name = $2, family_name = $3, date_of_birth = $4, sex = $5, \
             email = $6, phone = $7, address = $8, notes = $9, version = version + 1, updated_at = $10, \
             search_text = $11, sort_key = $12, family_key = $13 \
             WHERE id = $1 RETURNING {PATIENT_COLS}"
        ))
        .bind(id)
        .bind(&d.given_name)
        .bind(&d.family_name)
        .bind(Day(d.date_of_birth))
        .bind(d.sex.as_str())
        .bind(d.email.as_ref().map(|e| e.as_str()))
        .bind(&d.phone)
        .bind(&d.address)
        .bind(&d.notes)
        .bind(Ts(now))
        .bind(&keys.text)
        .bind(&keys.sort)
        .bind(&keys.family)
        .fetch_one(&mut *tx)
        .await?;
        let after = Self::patient_from(&row)?;
        let ev = AuditEvent::new("update", "patient", Some(id))
            .patient(id)
            .detail(json!({ "changed": changes(&before.details, &after.details) }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn patient(&self, id: i64) -> Result<Patient> {
        let mut conn = self.pool.acquire().await?;
        Self::patient_in(&mut conn, id).await
    }

    async fn patients_by_id(&self, ids: &[i64]) -> Result<Vec<Patient>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = vec![];
        // A thousand at a time: well inside either database's limit on
        // parameters, whatever the list.
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "SELECT {PATIENT_COLS} FROM patients WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(Self::patient_from(&row)?);
            }
        }
        Ok(out)
    }

    async fn search_patients(
        &self,
        staff_id: i64,
        clinic_id: Option<i64>,
        query: &str,
        limit: i64,
        after: Option<&Cursor>,
    ) -> Result<PatientPage> {
        self.search(staff_id, clinic_id, query, limit, after).await
    }

    async fn recent_patients(&self, staff_id: i64, limit: i64) -> Result<Vec<Patient>> {
        // Ids grow as patients are added: each clinic's newest are the end
        // of its (clinic, id) index, read there and merged. Neither "every
        // clinic's patients sorted by creation" nor "the whole table from
        // its newest id" stays fast both for a chain's owner and for a new
        // clinic with three patients.
        let clinics: Vec<i64> = sqlx::query_scalar(
            "SELECT clinic_id FROM staff_clinics WHERE staff_id = $1 ORDER BY clinic_id",
        )
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await?;
        if clinics.is_empty() {
            return Ok(vec![]);
        }
        let arms: Vec<String> = (0..clinics.len())
            .map(|i| {
                format!(
                    "SELECT * FROM (SELECT {PATIENT_COLS} FROM patients WHERE clinic_id = ${} \
                     ORDER BY id DESC LIMIT $1) newest_{i}",
                    i + 2
                )
            })
            .collect();
        let sql = format!(
            "SELECT * FROM ({}) newest ORDER BY id DESC LIMIT $1",
            arms.join(" UNION ALL ")
        );
        let mut q = sqlx::query(&sql).bind(limit);
        for c in &clinics {
            q = q.bind(c);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(Self::patient_from).collect()
    }

    async fn patient_counts(&self, staff_id: i64) -> Result<Vec<(i64, i64)>> {
        // Kept by the patients table's triggers (migration 18).
        Ok(sqlx::query_as(
            "SELECT c.clinic_id, CAST(c.patients AS BIGINT) FROM clinic_patient_counts c \
             JOIN staff_clinics s ON s.clinic_id = c.clinic_id WHERE s.staff_id = $1",
        )
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn add_clinical_note(
        &self,
        patient_id: i64,
        author_id: i64,
        body: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ClinicalNote> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        Self::patient_in(&mut tx, patient_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clinical_notes (patient_id, author_id, body, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(patient_id)
        .bind(author_id)
        .bind(body)
        .bind(Ts(now))
        .fetch_one(&mut *tx)
        .await?;
        let author_name: String = sqlx::query_scalar("SELECT name FROM staff WHERE id = $1")
            .bind(author_id)
            .fetch_one(&mut *tx)
            .await?;
        let ev = AuditEvent::new("create", "clinical_note", Some(id)).patient(patient_id);
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(ClinicalNote {
            id,
            patient_id,
            author_id,
            author_name,
            body: body.to_string(),
            created_at: now,
        })
    }

    async fn clinical_notes(&self, patient_id: i64) -> Result<Vec<ClinicalNote>> {
        let rows = sqlx::query(
            "SELECT n.id, n.patient_id, n.author_id, s.name AS author_name, n.body, n.created_at \
             FROM clinical_notes n JOIN staff s ON s.id = n.author_id \
             WHERE n.patient_id = $1 ORDER BY n.created_at DESC, n.id DESC",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ClinicalNote {
                    id: r.try_get("id")?,
                    patient_id: r.try_get("patient_id")?,
                    author_id: r.try_get("author_id")?,
                    author_name: r.try_get("author_name")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get::<Ts, _>("created_at")?.0,
                })
            })
            .collect()
    }

    async fn record_audit(&self, actor: &Actor, event: &AuditEvent, now: Timestamp) -> Result<()> {
        let writer = self.views.get_or_init(|| {
            let (send, rows) = tokio::sync::mpsc::channel(4 * 512);
            let (pool, begin) = (self.pool.clone(), self.begin);
            tokio::spawn(crate::view_audit::run(rows, move |batch| {
                let pool = pool.clone();
                async move {
                    let mut tx = pool.begin_with(begin).await?;
                    let mut written = Vec::with_capacity(batch.len());
                    for (actor, event, at) in &batch {
                        written.push(Self::insert_audit(&mut tx, actor, event, *at).await?);
                    }
                    Self::chain(&mut tx, &written).await?;
                    tx.commit().await?;
                    Ok(())
                }
            }));
            send
        });
        crate::view_audit::record(writer, actor, event, now).await
    }

    async fn patient_audit(&self, patient_id: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLS} FROM audit_log WHERE patient_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(patient_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::audit_from).collect()
    }

    async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLS} FROM audit_log ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::audit_from).collect()
    }

    async fn find_audit(&self, f: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>> {
        // Each condition is there or not; the binds follow in the same order.
        let mut sql = format!("SELECT {AUDIT_COLS} FROM audit_log WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if f.actor_id.is_some() {
            sql.push_str(&format!(" AND actor_id = ${}", next()));
        }
        if f.patient_id.is_some() {
            sql.push_str(&format!(" AND patient_id = ${}", next()));
        }
        if f.action.is_some() {
            sql.push_str(&format!(" AND action = ${}", next()));
        }
        if f.from.is_some() {
            sql.push_str(&format!(" AND at >= ${}", next()));
        }
        if f.to.is_some() {
            sql.push_str(&format!(" AND at < ${}", next()));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", next()));
        let mut q = sqlx::query(&sql);
        if let Some(a) = f.actor_id {
            q = q.bind(a);
        }
        if let Some(p) = f.patient_id {
            q = q.bind(p);
        }
        if let Some(a) = &f.action {
            q = q.bind(a.clone());
        }
        if let Some(t) = f.from {
            q = q.bind(Ts(t));
        }
        if let Some(t) = f.to {
            q = q.bind(Ts(t));
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(Self::audit_from).collect()
    }

    async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        self.backup(path).await
    }

    async fn verify_audit(&self) -> Result<crate::audit_chain::Verdict> {
        self.verify_audit_chain().await
    }

    async fn generate(
        &self,
        scale: &crate::generate::Scale,
        progress: &(dyn Fn(crate::generate::Progress) + Send + Sync),
    ) -> Result<crate::generate::Generated> {
        self.generate_chain(scale, progress).await
    }
}
