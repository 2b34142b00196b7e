// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.

const HISTORY_COLS: &str =
    "h.id, h.patient_id, h.version, h.history, h.source, h.note, h.created_at, \
     h.created_by, s.name AS created_by_name";
const SCREENING_COLS: &str =
    "x.id, x.patient_id, x.history_id, h.version AS history_version, x.result, \
     x.created_at, x.created_by, s.name AS created_by_name";
const SUBMISSION_COLS: &str =
    "id, link_id, patient_id, history, submitted_at, reviewed_at, reviewed_by, history_id";

impl SqlStore<Db> {
    fn history_from(r: &DbRow) -> Result<HistoryVersion> {
        let text: String = r.try_get("history")?;
        Ok(HistoryVersion {
            id: r.try_get("id")?,
            patient_id: r.try_get("patient_id")?,
            version: r.try_get("version")?,
            history: serde_json::from_str(&text).map_err(|e| decode_err("history", e))?,
            source: r.try_get("source")?,
            note: r.try_get("note")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            created_by: r.try_get("created_by")?,
            created_by_name: r.try_get("created_by_name")?,
        })
    }

    fn screening_from(r: &DbRow) -> Result<ScreeningRecord> {
        let text: String = r.try_get("result")?;
        Ok(ScreeningRecord {
            id: r.try_get("id")?,
            patient_id: r.try_get("patient_id")?,
            history_id: r.try_get("history_id")?,
            history_version: r.try_get("history_version")?,
            result: serde_json::from_str(&text).map_err(|e| decode_err("result", e))?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            created_by: r.try_get("created_by")?,
            created_by_name: r.try_get("created_by_name")?,
            overrides: vec![],
        })
    }

    fn override_from(r: &DbRow) -> Result<ScreeningOverride> {
        let status: String = r.try_get("status")?;
        Ok(ScreeningOverride {
            id: r.try_get("id")?,
            screening_id: r.try_get("screening_id")?,
            status: Status::parse(&status).ok_or_else(|| decode_err("status", status))?,
            justification: r.try_get("justification")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            created_by: r.try_get("created_by")?,
            created_by_name: r.try_get("created_by_name")?,
        })
    }

    fn submission_from(r: &DbRow) -> Result<IntakeSubmission> {
        let text: String = r.try_get("history")?;
        Ok(IntakeSubmission {
            id: r.try_get("id")?,
            link_id: r.try_get("link_id")?,
            patient_id: r.try_get("patient_id")?,
            history: serde_json::from_str(&text).map_err(|e| decode_err("history", e))?,
            submitted_at: r.try_get::<Ts, _>("submitted_at")?.0,
            reviewed_at: r.try_get::<Option<Ts>, _>("reviewed_at")?.map(|t| t.0),
            reviewed_by: r.try_get("reviewed_by")?,
            history_id: r.try_get("history_id")?,
        })
    }

    fn link_from(r: &DbRow) -> Result<IntakeLink> {
        Ok(IntakeLink {
            id: r.try_get("id")?,
            patient_id: r.try_get("patient_id")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            expires_at: r.try_get::<Ts, _>("expires_at")?.0,
            used_at: r.try_get::<Option<Ts>, _>("used_at")?.map(|t| t.0),
        })
    }

    async fn insert_history(
        conn: &mut Conn,
        patient_id: i64,
        history: &PatientHistory,
        source: &str,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<HistoryVersion> {
        Self::patient_in(conn, patient_id).await?;
        let version: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM patient_histories WHERE patient_id = $1",
        )
        .bind(patient_id)
        .fetch_one(&mut *conn)
        .await?;
        let json = serde_json::to_string(history).map_err(|e| decode_err("history", e))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO patient_histories (patient_id, version, history, source, note, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(patient_id)
        .bind(version)
        .bind(&json)
        .bind(source)
        .bind(note)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .fetch_one(&mut *conn)
        .await?;
        let ev = AuditEvent::new("update", "history", Some(id))
            .patient(patient_id)
            .detail(json!({ "version": version, "source": source }));
        Self::audit(conn, actor, &ev, now).await?;
        let row = sqlx::query(&format!(
            "SELECT {HISTORY_COLS} FROM patient_histories h LEFT JOIN staff s ON s.id = h.created_by WHERE h.id = $1"
        ))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        Self::history_from(&row)
    }

    async fn with_overrides(&self, mut list: Vec<ScreeningRecord>) -> Result<Vec<ScreeningRecord>> {
        let Some(patient_id) = list.first().map(|s| s.patient_id) else {
            return Ok(list);
        };
        let rows = sqlx::query(
            "SELECT o.id, o.screening_id, o.status, o.justification, o.created_at, o.created_by, \
             s.name AS created_by_name FROM screening_overrides o JOIN staff s ON s.id = o.created_by \
             WHERE o.screening_id IN (SELECT id FROM screenings WHERE patient_id = $1) ORDER BY o.id",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let o = Self::override_from(r)?;
            if let Some(s) = list.iter_mut().find(|s| s.id == o.screening_id) {
                s.overrides.push(o);
            }
        }
        Ok(list)
    }
}

#[async_trait]
impl ScreeningRecords for SqlStore<Db> {
    async fn add_history_version(
        &self,
        patient_id: i64,
        history: &PatientHistory,
        source: &str,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<HistoryVersion> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let v =
            Self::insert_history(&mut tx, patient_id, history, source, note, actor, now).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn current_history(&self, patient_id: i64) -> Result<Option<HistoryVersion>> {
        let row = sqlx::query(&format!(
            "SELECT {HISTORY_COLS} FROM patient_histories h LEFT JOIN staff s ON s.id = h.created_by \
             WHERE h.patient_id = $1 ORDER BY h.version DESC LIMIT 1"
        ))
        .bind(patient_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::history_from).transpose()
    }

    async fn history_versions(&self, patient_id: i64) -> Result<Vec<HistoryVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT {HISTORY_COLS} FROM patient_histories h LEFT JOIN staff s ON s.id = h.created_by \
             WHERE h.patient_id = $1 ORDER BY h.version DESC"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::history_from).collect()
    }

    async fn record_screening(
        &self,
        patient_id: i64,
        history_id: i64,
        result: &Screening,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ScreeningRecord> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let owner: Option<i64> =
            sqlx::query_scalar("SELECT patient_id FROM patient_histories WHERE id = $1")
                .bind(history_id)
                .fetch_optional(&mut *tx)
                .await?;
        if owner != Some(patient_id) {
            return Err(StoreError::Conflict(
                "That history is not this patient's.".into(),
            ));
        }
        let json = serde_json::to_string(result).map_err(|e| decode_err("result", e))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO screenings (patient_id, history_id, screened_on, status, knowledge_version, result, \
             created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(patient_id)
        .bind(history_id)
        .bind(Day(result.on))
        .bind(result.status.as_str())
        .bind(&result.knowledge_version)
        .bind(&json)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let ev = AuditEvent::new("create", "screening", Some(id))
            .patient(patient_id)
            .detail(json!({ "status": result.status.as_str(), "on": result.on.to_string() }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.screening(id).await
    }

    async fn screening(&self, id: i64) -> Result<ScreeningRecord> {
        let row = sqlx::query(&format!(
            "SELECT {SCREENING_COLS} FROM screenings x JOIN patient_histories h ON h.id = x.history_id \
             LEFT JOIN staff s ON s.id = x.created_by WHERE x.id = $1"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(not_found)?;
        let one = Self::screening_from(&row)?;
        Ok(self.with_overrides(vec![one]).await?.remove(0))
    }

    async fn screenings(&self, patient_id: i64) -> Result<Vec<ScreeningRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCREENING_COLS} FROM screenings x JOIN patient_histories h ON h.id = x.history_id \
             LEFT JOIN staff s ON s.id = x.created_by WHERE x.patient_id = $1 \
             ORDER BY x.created_at DESC, x.id DESC"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        let list = rows
            .iter()
            .map(Self::screening_from)
            .collect::<Result<Vec<_>>>()?;
        self.with_overrides(list).await
    }

    async fn override_screening(
        &self,
        screening_id: i64,
        status: Status,
        justification: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ScreeningOverride> {
        let staff_id = actor.staff_id.ok_or_else(|| {
            StoreError::Unsupported("Only a clinician can override a screening.".into())
        })?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let patient_id: i64 = sqlx::query_scalar("SELECT patient_id FROM screenings WHERE id = $1")
            .bind(screening_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO screening_overrides (screening_id, status, justification, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(screening_id)
        .bind(status.as_str())
        .bind(justification)
        .bind(Ts(now))
        .bind(staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let ev = AuditEvent::new("override", "screening", Some(screening_id))
            .patient(patient_id)
            .detail(json!({ "status": status.as_str(), "justification": justification }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let row = sqlx::query(
            "SELECT o.id, o.screening_id, o.status, o.justification, o.created_at, o.created_by, \
             s.name AS created_by_name FROM screening_overrides o JOIN staff s ON s.id = o.created_by WHERE o.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let o = Self::override_from(&row)?;
        tx.commit().await?;
        Ok(o)
    }

    async fn knowledge_overrides(&self, clinic_id: i64) -> Result<Vec<KnowledgeOverride>> {
        let rows = sqlx::query(
            "SELECT k.id, k.clinic_id, k.key, k.value, k.reason, k.created_at, k.created_by, \
             s.name AS created_by_name FROM knowledge_overrides k JOIN staff s ON s.id = k.created_by \
             WHERE k.clinic_id = $1 ORDER BY k.id",
        )
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KnowledgeOverride {
                    id: r.try_get("id")?,
                    clinic_id: r.try_get("clinic_id")?,
                    key: r.try_get("key")?,
                    value: r.try_get("value")?,
                    reason: r.try_get("reason")?,
                    created_at: r.try_get::<Ts, _>("created_at")?.0,
                    created_by: r.try_get("created_by")?,
                    created_by_name: r.try_get("created_by_name")?,
                })
            })
            .collect()
    }

    async fn add_knowledge_override(
        &self,
        clinic_id: i64,
        key: &str,
        value: &str,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<KnowledgeOverride> {
        let staff_id = actor.staff_id.ok_or_else(|| {
            StoreError::Unsupported("Only a staff member can change a clinical rule.".into())
        })?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO knowledge_overrides (clinic_id, key, value, reason, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(clinic_id)
        .bind(key)
        .bind(value)
        .bind(reason)
        .bind(Ts(now))
        .bind(staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let ev = AuditEvent::new("override", "knowledge", Some(id)).detail(
            json!({ "clinic_id": clinic_id, "key": key, "value": value, "reason": reason }),
        );
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(self
            .knowledge_overrides(clinic_id)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or(StoreError::NotFound)?)
    }

    async fn create_intake_link(
        &self,
        patient_id: i64,
        token_hash: &str,
        expires_at: Timestamp,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<IntakeLink> {
        // No staff member: the patient asked from her own page.
        let staff_id = actor.staff_id;
        let mut tx = self.pool.begin_with(self.begin).await?;
        Self::patient_in(&mut tx, patient_id).await?;
        let row = sqlx::query(
            "INSERT INTO intake_links (patient_id, token_hash, created_at, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, patient_id, created_at, expires_at, used_at",
        )
        .bind(patient_id)
        .bind(token_hash)
        .bind(Ts(now))
        .bind(staff_id)
        .bind(Ts(expires_at))
        .fetch_one(&mut *tx)
        .await?;
        let link = Self::link_from(&row)?;
        let ev = AuditEvent::new("create", "intake_link", Some(link.id))
            .patient(patient_id)
            .detail(json!({ "expires_at": expires_at.to_string() }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(link)
    }

    async fn intake_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Result<IntakeLink, LinkRefusal>> {
        let row = sqlx::query(
            "SELECT id, patient_id, created_at, expires_at, used_at FROM intake_links WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        let link = Self::link_from(&row)?;
        Ok(if link.used_at.is_some() {
            Err(LinkRefusal::AlreadyUsed)
        } else if link.expires_at <= now {
            Err(LinkRefusal::Expired)
        } else {
            Ok(link)
        })
    }

    async fn submit_intake(
        &self,
        token_hash: &str,
        history: &PatientHistory,
        now: Timestamp,
    ) -> Result<Result<IntakeSubmission, LinkRefusal>> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        // Using the link and checking it are one statement, so two
        // submissions racing on one link cannot both get through.
        let used = sqlx::query(
            "UPDATE intake_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING id, patient_id",
        )
        .bind(token_hash)
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(used) = used else {
            drop(tx);
            return Ok(Err(self
                .intake_link(token_hash, now)
                .await?
                .err()
                .unwrap_or(LinkRefusal::AlreadyUsed)));
        };
        let (link_id, patient_id): (i64, i64) = (used.try_get("id")?, used.try_get("patient_id")?);
        let json = serde_json::to_string(history).map_err(|e| decode_err("history", e))?;
        let row = sqlx::query(&format!(
            "INSERT INTO intake_submissions (link_id, patient_id, history, submitted_at) \
             VALUES ($1, $2, $3, $4) RETURNING {SUBMISSION_COLS}"
        ))
        .bind(link_id)
        .bind(patient_id)
        .bind(&json)
        .bind(Ts(now))
        .fetch_one(&mut *tx)
        .await?;
        let sub = Self::submission_from(&row)?;
        let actor = Actor::system("patient via intake link");
        let ev = AuditEvent::new("create", "intake_submission", Some(sub.id)).patient(patient_id);
        Self::audit(&mut tx, &actor, &ev, now).await?;
        tx.commit().await?;
        Ok(Ok(sub))
    }

    async fn pending_intakes(&self, patient_id: i64) -> Result<Vec<IntakeSubmission>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUBMISSION_COLS} FROM intake_submissions \
             WHERE patient_id = $1 AND reviewed_at IS NULL ORDER BY id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::submission_from).collect()
    }

    async fn confirm_intake(
        &self,
        submission_id: i64,
        history: &PatientHistory,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<HistoryVersion> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(&format!(
            "SELECT {SUBMISSION_COLS} FROM intake_submissions WHERE id = $1"
        ))
        .bind(submission_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let sub = Self::submission_from(&row)?;
        if sub.reviewed_at.is_some() {
            return Err(StoreError::Conflict(
                "These answers were already reviewed.".into(),
            ));
        }
        let note = format!("From the patient's intake answers of {}", sub.submitted_at);
        let version = Self::insert_history(
            &mut tx,
            sub.patient_id,
            history,
            "intake",
            Some(&note),
            actor,
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE intake_submissions SET reviewed_at = $2, reviewed_by = $3, history_id = $4 WHERE id = $1",
        )
        .bind(submission_id)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .bind(version.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }
}
