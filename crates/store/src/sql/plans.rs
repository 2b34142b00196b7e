// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.

const PLAN_COLS: &str =
    "id, patient_id, clinic_id, screening_id, status, version, proposal, plan, flags, quote, \
     cancel_reason, created_at, created_by, updated_at";
const CONSENT_COLS: &str =
    "id, plan_id, plan_version, text, sha256, photo_use, typed_name, signature, \
     signed_at, signed_via, witness_id, guardian_name, guardian_signature";

fn json<T: serde::Serialize>(field: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| decode_err(field, e))
}

impl SqlStore<Db> {
    fn plan_from(r: &DbRow) -> Result<PlanRecord> {
        let de = |col: &str| -> Result<String> { Ok(r.try_get::<String, _>(col)?) };
        let status: String = r.try_get("status")?;
        let quote: Option<String> = r.try_get("quote")?;
        Ok(PlanRecord {
            id: r.try_get("id")?,
            patient_id: r.try_get("patient_id")?,
            clinic_id: r.try_get("clinic_id")?,
            screening_id: r.try_get("screening_id")?,
            status: PlanStatus::parse(&status).ok_or_else(|| decode_err("status", status))?,
            version: r.try_get("version")?,
            proposal: serde_json::from_str(&de("proposal")?)
                .map_err(|e| decode_err("proposal", e))?,
            plan: serde_json::from_str(&de("plan")?).map_err(|e| decode_err("plan", e))?,
            flags: serde_json::from_str(&de("flags")?).map_err(|e| decode_err("flags", e))?,
            quote: quote
                .map(|q| serde_json::from_str(&q))
                .transpose()
                .map_err(|e| decode_err("quote", e))?,
            cancel_reason: r.try_get("cancel_reason")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            created_by: r.try_get("created_by")?,
            updated_at: r.try_get::<Ts, _>("updated_at")?.0,
        })
    }

    fn consent_from(r: &DbRow) -> Result<ConsentRecord> {
        Ok(ConsentRecord {
            id: r.try_get("id")?,
            plan_id: r.try_get("plan_id")?,
            plan_version: r.try_get("plan_version")?,
            text: r.try_get("text")?,
            sha256: r.try_get("sha256")?,
            photo_use: r.try_get("photo_use")?,
            typed_name: r.try_get("typed_name")?,
            signature: r.try_get("signature")?,
            signed_at: r.try_get::<Ts, _>("signed_at")?.0,
            signed_via: r.try_get("signed_via")?,
            witness_id: r.try_get("witness_id")?,
            guardian_name: r.try_get("guardian_name")?,
            guardian_signature: r.try_get("guardian_signature")?,
        })
    }

    async fn plan_in(conn: &mut Conn, id: i64) -> Result<PlanRecord> {
        let row = sqlx::query(&format!("SELECT {PLAN_COLS} FROM plans WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        Self::plan_from(&row)
    }

    async fn insert_consent(
        conn: &mut Conn,
        c: &NewConsent,
        via: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ConsentRecord> {
        let plan = Self::plan_in(conn, c.plan_id).await?;
        if plan.version != c.plan_version {
            return Err(StoreError::Conflict(
                "The plan changed after this consent was prepared; read the new version and sign again.".into(),
            ));
        }
        if !matches!(plan.status, PlanStatus::Proposed | PlanStatus::Accepted) {
            return Err(StoreError::Conflict(format!(
                "The plan is {}; it cannot be signed now.",
                plan.status.label()
            )));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO consents (plan_id, plan_version, text, sha256, photo_use, typed_name, signature, signed_at, \
             signed_via, witness_id, ip, guardian_name, guardian_signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {CONSENT_COLS}"
        ))
        .bind(c.plan_id)
        .bind(c.plan_version)
        .bind(&c.text)
        .bind(&c.sha256)
        .bind(&c.photo_use)
        .bind(&c.typed_name)
        .bind(&c.signature)
        .bind(Ts(now))
        .bind(via)
        .bind(actor.staff_id)
        .bind(&c.ip)
        .bind(c.guardian.as_ref().map(|g| g.0.as_str()))
        .bind(c.guardian.as_ref().map(|g| g.1.as_str()))
        .fetch_one(&mut *conn)
        .await?;
        let consent = Self::consent_from(&row)?;
        let ev = AuditEvent::new("sign", "consent", Some(consent.id))
            .patient(plan.patient_id)
            .detail(json!({ "plan_id": plan.id, "plan_version": c.plan_version, "sha256": c.sha256, "via": via, "photo_use": c.photo_use, "guardian": c.guardian.as_ref().map(|g| &g.0) }));
        Self::audit(conn, actor, &ev, now).await?;
        Ok(consent)
    }
}

#[async_trait]
impl PlanRecords for SqlStore<Db> {
    async fn clinic_pricing(&self, clinic_id: i64) -> Result<ClinicPricing> {
        let row =
            sqlx::query("SELECT currency, tax_rate_bp, tax_included FROM clinics WHERE id = $1")
                .bind(clinic_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        let bp: i64 = row.try_get("tax_rate_bp")?;
        Ok(ClinicPricing {
            currency: row.try_get("currency")?,
            tax_rate_bp: u32::try_from(bp).map_err(|e| decode_err("tax_rate_bp", e))?,
            tax_included: row.try_get("tax_included")?,
        })
    }

    async fn set_clinic_pricing(
        &self,
        clinic_id: i64,
        p: &ClinicPricing,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let done = sqlx::query(
            "UPDATE clinics SET currency = $2, tax_rate_bp = $3, tax_included = $4 WHERE id = $1",
        )
        .bind(clinic_id)
        .bind(&p.currency)
        .bind(i64::from(p.tax_rate_bp))
        .bind(p.tax_included)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ev = AuditEvent::new("update", "clinic_pricing", Some(clinic_id))
            .detail(json!({ "currency": p.currency, "tax_rate_bp": p.tax_rate_bp, "tax_included": p.tax_included }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_plan(
        &self,
        patient_id: i64,
        clinic_id: i64,
        screening_id: i64,
        proposal: &Proposal,
        plan: &Plan,
        flags: &[Flag],
        quote: Option<&Quote>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PlanRecord> {
        let staff_id = actor
            .staff_id
            .ok_or_else(|| StoreError::Unsupported("Only a clinician can plan.".into()))?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let owner: Option<i64> =
            sqlx::query_scalar("SELECT patient_id FROM screenings WHERE id = $1")
                .bind(screening_id)
                .fetch_optional(&mut *tx)
                .await?;
        if owner != Some(patient_id) {
            return Err(StoreError::Conflict(
                "That screening is not this patient's.".into(),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO plans (patient_id, clinic_id, screening_id, status, version, proposal, plan, flags, quote, \
             created_at, created_by, updated_at) VALUES ($1, $2, $3, 'proposed', 1, $4, $5, $6, $7, $8, $9, $8) RETURNING id",
        )
        .bind(patient_id)
        .bind(clinic_id)
        .bind(screening_id)
        .bind(json("proposal", proposal)?)
        .bind(json("plan", plan)?)
        .bind(json("flags", &flags)?)
        .bind(quote.map(|q| json("quote", q)).transpose()?)
        .bind(Ts(now))
        .bind(staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let ev = AuditEvent::new("create", "plan", Some(id))
            .patient(patient_id)
            .detail(json!({ "screening_id": screening_id, "flags": flags.len() }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let p = Self::plan_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(p)
    }

    async fn plan(&self, id: i64) -> Result<PlanRecord> {
        let mut conn = self.pool.acquire().await?;
        Self::plan_in(&mut conn, id).await
    }

    async fn plans(&self, patient_id: i64) -> Result<Vec<PlanRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PLAN_COLS} FROM plans WHERE patient_id = $1 ORDER BY id DESC"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::plan_from).collect()
    }

    async fn update_plan(
        &self,
        id: i64,
        expected_version: i64,
        plan: &Plan,
        flags: &[Flag],
        quote: Option<&Quote>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PlanRecord> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let before = Self::plan_in(&mut tx, id).await?;
        if before.status != PlanStatus::Proposed {
            return Err(StoreError::Conflict(format!(
                "The plan is {}: it can no longer be edited. Cancel it and propose a new one.",
                before.status.label()
            )));
        }
        if before.version != expected_version {
            return Err(StoreError::Conflict(
                "Someone else changed this plan since you opened it; reload to see it.".into(),
            ));
        }
        sqlx::query("UPDATE plans SET plan = $2, flags = $3, quote = $4, version = version + 1, updated_at = $5 WHERE id = $1")
            .bind(id)
            .bind(json("plan", plan)?)
            .bind(json("flags", &flags)?)
            .bind(quote.map(|q| json("quote", q)).transpose()?)
            .bind(Ts(now))
            .execute(&mut *tx)
            .await?;
        let ev = AuditEvent::new("update", "plan", Some(id))
            .patient(before.patient_id)
            .detail(json!({ "version": before.version + 1, "flags": flags }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let p = Self::plan_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(p)
    }

    async fn set_plan_status(
        &self,
        id: i64,
        to: PlanStatus,
        reason: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PlanRecord> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let before = Self::plan_in(&mut tx, id).await?;
        if !before.status.next().contains(&to) {
            return Err(StoreError::Conflict(format!(
                "A plan that is {} cannot become {}.",
                before.status.label(),
                to.label()
            )));
        }
        if matches!(to, PlanStatus::Accepted | PlanStatus::InProgress) {
            let signed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM consents WHERE plan_id = $1 AND plan_version = $2",
            )
            .bind(id)
            .bind(before.version)
            .fetch_one(&mut *tx)
            .await?;
            if signed == 0 {
                return Err(StoreError::Conflict(
                    "The patient has not signed a consent that covers this plan.".into(),
                ));
            }
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if to == PlanStatus::Cancelled && reason.is_none() {
            return Err(StoreError::Invalid(needlepoint_domain::Invalid::one(
                "reason",
                "Say why the plan is cancelled.",
            )));
        }
        sqlx::query("UPDATE plans SET status = $2, cancel_reason = COALESCE($3, cancel_reason), updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(to.as_str())
            .bind(reason.filter(|_| to == PlanStatus::Cancelled))
            .bind(Ts(now))
            .execute(&mut *tx)
            .await?;
        let ev = AuditEvent::new("status", "plan", Some(id))
            .patient(before.patient_id)
            .detail(json!({ "from": before.status.as_str(), "to": to.as_str(), "reason": reason }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let p = Self::plan_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(p)
    }

    async fn sign_consent(
        &self,
        c: &NewConsent,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ConsentRecord> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let consent = Self::insert_consent(&mut tx, c, "clinic", actor, now).await?;
        tx.commit().await?;
        Ok(consent)
    }

    async fn consents(&self, plan_id: i64) -> Result<Vec<ConsentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {CONSENT_COLS} FROM consents WHERE plan_id = $1 ORDER BY id DESC"
        ))
        .bind(plan_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::consent_from).collect()
    }

    async fn create_consent_link(
        &self,
        plan_id: i64,
        token_hash: &str,
        expires_at: Timestamp,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let staff_id = actor
            .staff_id
            .ok_or_else(|| StoreError::Unsupported("Only staff send consent links.".into()))?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let plan = Self::plan_in(&mut tx, plan_id).await?;
        sqlx::query(
            "INSERT INTO consent_links (plan_id, token_hash, created_at, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(plan_id)
        .bind(token_hash)
        .bind(Ts(now))
        .bind(staff_id)
        .bind(Ts(expires_at))
        .execute(&mut *tx)
        .await?;
        let ev = AuditEvent::new("create", "consent_link", Some(plan_id)).patient(plan.patient_id);
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consent_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Result<i64, LinkRefusal>> {
        let row = sqlx::query(
            "SELECT plan_id, expires_at, used_at FROM consent_links WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        Ok(if r.try_get::<Option<Ts>, _>("used_at")?.is_some() {
            Err(LinkRefusal::AlreadyUsed)
        } else if r.try_get::<Ts, _>("expires_at")?.0 <= now {
            Err(LinkRefusal::Expired)
        } else {
            Ok(r.try_get("plan_id")?)
        })
    }

    async fn sign_consent_by_link(
        &self,
        token_hash: &str,
        c: &NewConsent,
        now: Timestamp,
    ) -> Result<Result<ConsentRecord, LinkRefusal>> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let used: Option<i64> = sqlx::query_scalar(
            "UPDATE consent_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING plan_id",
        )
        .bind(token_hash)
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        match used {
            Some(plan_id) if plan_id == c.plan_id => {}
            Some(_) => {
                return Err(StoreError::Conflict(
                    "That link is for another plan.".into(),
                ))
            }
            None => {
                drop(tx);
                return Ok(Err(self
                    .consent_link(token_hash, now)
                    .await?
                    .err()
                    .unwrap_or(LinkRefusal::AlreadyUsed)));
            }
        }
        let actor = Actor::system("patient via consent link");
        let consent = Self::insert_consent(&mut tx, c, "link", &actor, now).await?;
        tx.commit().await?;
        Ok(Ok(consent))
    }
}
