// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.
// After the session: check-ins, the adverse-event register and the
// patient's own sign-in.

const CHECKIN_COLS: &str = "id, clinic_id, patient_id, chart_id, day, due_at, expires_at, \
     answered_at, answers, advice, findings, photo_id, reviewed_at, reviewed_by, review_note";

fn advice_from(s: &str) -> Result<needlepoint_domain::triage::Advice> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| decode_err("advice", e))
}

fn advice_str(a: needlepoint_domain::triage::Advice) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

const HOME_CARE_COLS: &str = "id, clinic_id, patient_id, used_on, area, needle_um, inflamed, \
     warnings, logged_at, logged_by";

impl SqlStore<Db> {
    fn home_care_from(r: &DbRow) -> Result<HomeCareEntry> {
        let warnings: String = r.try_get("warnings")?;
        let um: i64 = r.try_get("needle_um")?;
        Ok(HomeCareEntry {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            used_on: r.try_get::<Day, _>("used_on")?.0,
            area: r.try_get("area")?,
            needle_um: u32::try_from(um).map_err(|e| decode_err("needle_um", e))?,
            inflamed: r.try_get("inflamed")?,
            warnings: serde_json::from_str(&warnings).map_err(|e| decode_err("warnings", e))?,
            logged_at: r.try_get::<Ts, _>("logged_at")?.0,
            logged_by: r.try_get("logged_by")?,
        })
    }

    fn checkin_from(r: &DbRow) -> Result<Checkin> {
        let answers: Option<String> = r.try_get("answers")?;
        let findings: Option<String> = r.try_get("findings")?;
        let advice: Option<String> = r.try_get("advice")?;
        let day: i64 = r.try_get("day")?;
        Ok(Checkin {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            chart_id: r.try_get("chart_id")?,
            day: u32::try_from(day).map_err(|e| decode_err("day", e))?,
            due_at: r.try_get::<Ts, _>("due_at")?.0,
            expires_at: r.try_get::<Ts, _>("expires_at")?.0,
            answered_at: r.try_get::<Option<Ts>, _>("answered_at")?.map(|t| t.0),
            answers: answers
                .map(|a| serde_json::from_str(&a).map_err(|e| decode_err("answers", e)))
                .transpose()?,
            advice: advice.map(|a| advice_from(&a)).transpose()?,
            findings: findings
                .map(|f| serde_json::from_str(&f).map_err(|e| decode_err("findings", e)))
                .transpose()?
                .unwrap_or_default(),
            photo_id: r.try_get("photo_id")?,
            reviewed_at: r.try_get::<Option<Ts>, _>("reviewed_at")?.map(|t| t.0),
            reviewed_by: r.try_get("reviewed_by")?,
            review_note: r.try_get("review_note")?,
        })
    }

    /// Schedules a signed chart's check-ins (inside the signature's
    /// transaction).
    pub(super) async fn insert_checkins(
        conn: &mut Conn,
        chart_id: i64,
        list: &[NewCheckin],
    ) -> Result<()> {
        for c in list {
            sqlx::query(
                "INSERT INTO checkins (clinic_id, patient_id, chart_id, day, due_at, expires_at, token_hash) \
                 SELECT a.clinic_id, a.patient_id, c.id, $2, $3, $4, $5 \
                 FROM charts c JOIN appointments a ON a.id = c.appointment_id WHERE c.id = $1",
            )
            .bind(chart_id)
            .bind(i64::from(c.day))
            .bind(Ts(c.due_at))
            .bind(Ts(c.expires_at))
            .bind(&c.token_hash)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    async fn adverse_in(conn: &mut Conn, id: i64) -> Result<AdverseRecord> {
        let head = sqlx::query(
            "SELECT id, clinic_id, patient_id, chart_id, checkin_id FROM adverse_events WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        let lot_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT lot_id FROM adverse_event_lots WHERE adverse_event_id = $1 ORDER BY lot_id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let rows = sqlx::query(
            "SELECT v.version, v.event, v.zones, v.reason, v.signed_at, v.signed_by, s.name \
             FROM adverse_event_versions v JOIN staff s ON s.id = v.signed_by \
             WHERE v.adverse_event_id = $1 ORDER BY v.version",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let versions = rows
            .iter()
            .map(|r| {
                let event: String = r.try_get("event")?;
                let zones: String = r.try_get("zones")?;
                Ok(AdverseVersion {
                    version: r.try_get("version")?,
                    event: serde_json::from_str(&event).map_err(|e| decode_err("event", e))?,
                    zones: serde_json::from_str(&zones).map_err(|e| decode_err("zones", e))?,
                    reason: r.try_get("reason")?,
                    signed_at: r.try_get::<Ts, _>("signed_at")?.0,
                    signed_by: r.try_get("signed_by")?,
                    signed_by_name: r.try_get("name")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if versions.is_empty() {
            return Err(decode_err(
                "adverse_event_versions",
                "an event without a version",
            ));
        }
        Ok(AdverseRecord {
            id,
            clinic_id: head.try_get("clinic_id")?,
            patient_id: head.try_get("patient_id")?,
            chart_id: head.try_get("chart_id")?,
            checkin_id: head.try_get("checkin_id")?,
            lot_ids,
            versions,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn add_adverse_version(
        conn: &mut Conn,
        id: i64,
        version: i64,
        event: &needlepoint_domain::adverse::AdverseEvent,
        zones: &[String],
        reason: Option<&str>,
        staff_id: i64,
        now: Timestamp,
    ) -> Result<()> {
        let json = serde_json::to_string(event).map_err(|e| decode_err("event", e))?;
        let zones = serde_json::to_string(zones).map_err(|e| decode_err("zones", e))?;
        sqlx::query(
            "INSERT INTO adverse_event_versions (adverse_event_id, version, event, zones, reason, signed_at, signed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(version)
        .bind(json)
        .bind(zones)
        .bind(reason)
        .bind(Ts(now))
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn adverse_list(&self, sql: &str, id: i64) -> Result<Vec<AdverseRecord>> {
        let ids: Vec<i64> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let mut conn = self.pool.acquire().await?;
        let mut out = vec![];
        for id in ids {
            out.push(Self::adverse_in(&mut conn, id).await?);
        }
        Ok(out)
    }
}

#[async_trait]
impl AfterRecords for SqlStore<Db> {
    async fn checkin_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Result<Checkin, LinkRefusal>> {
        let row = sqlx::query(&format!(
            "SELECT {CHECKIN_COLS} FROM checkins WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        let c = Self::checkin_from(&row)?;
        Ok(if c.answered_at.is_some() {
            Err(LinkRefusal::AlreadyUsed)
        } else if c.expires_at <= now {
            Err(LinkRefusal::Expired)
        } else {
            Ok(c)
        })
    }

    async fn answer_checkin(
        &self,
        id: i64,
        answer: &CheckinAnswer,
        alerts: &[NewMessage],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Result<Checkin, LinkRefusal>> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let photo_id: Option<i64> = match &answer.photo {
            Some(p) => Some(
                sqlx::query_scalar(
                    "INSERT INTO photos (clinic_id, patient_id, chart_id, view, sha256, width, height, bytes, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(p.clinic_id)
                .bind(p.patient_id)
                .bind(p.chart_id)
                .bind(&p.view)
                .bind(&p.sha256)
                .bind(p.width)
                .bind(p.height)
                .bind(p.bytes)
                .bind(Ts(now))
                .fetch_one(&mut *tx)
                .await?,
            ),
            None => None,
        };
        let answers =
            serde_json::to_string(&answer.answers).map_err(|e| decode_err("answers", e))?;
        let findings =
            serde_json::to_string(&answer.findings).map_err(|e| decode_err("findings", e))?;
        // Answering and checking the link are one statement, so two answers
        // racing on one link cannot both get through.
        let row = sqlx::query(&format!(
            "UPDATE checkins SET answered_at = $2, answers = $3, advice = $4, findings = $5, photo_id = $6 \
             WHERE id = $1 AND answered_at IS NULL AND expires_at > $2 RETURNING {CHECKIN_COLS}"
        ))
        .bind(id)
        .bind(Ts(now))
        .bind(answers)
        .bind(advice_str(answer.advice))
        .bind(findings)
        .bind(photo_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            let c = self.checkin(id).await?;
            return Ok(Err(if c.answered_at.is_some() {
                LinkRefusal::AlreadyUsed
            } else {
                LinkRefusal::Expired
            }));
        };
        let c = Self::checkin_from(&row)?;
        let ev = AuditEvent::new("answer", "checkin", Some(c.id))
            .patient(c.patient_id)
            .detail(
                json!({ "day": c.day, "advice": advice_str(answer.advice), "photo_id": photo_id }),
            );
        Self::audit(&mut tx, actor, &ev, now).await?;
        Self::insert_messages(&mut tx, alerts, now).await?;
        tx.commit().await?;
        Ok(Ok(c))
    }

    async fn checkin(&self, id: i64) -> Result<Checkin> {
        let row = sqlx::query(&format!(
            "SELECT {CHECKIN_COLS} FROM checkins WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Self::checkin_from(&row)
    }

    async fn patient_checkins(&self, patient_id: i64) -> Result<Vec<Checkin>> {
        sqlx::query(&format!(
            "SELECT {CHECKIN_COLS} FROM checkins WHERE patient_id = $1 ORDER BY due_at, id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::checkin_from)
        .collect()
    }

    async fn open_checkins(
        &self,
        clinic_id: i64,
        unanswered_due_before: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<Checkin>> {
        sqlx::query(&format!(
            "SELECT {CHECKIN_COLS} FROM checkins WHERE clinic_id = $1 AND reviewed_at IS NULL AND \
             ((answered_at IS NOT NULL AND advice <> 'reassure') OR \
              (answered_at IS NULL AND due_at < $2 AND expires_at > $3)) \
             ORDER BY due_at, id"
        ))
        .bind(clinic_id)
        .bind(Ts(unanswered_due_before))
        .bind(Ts(now))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::checkin_from)
        .collect()
    }

    async fn review_checkin(
        &self,
        id: i64,
        note: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Checkin> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(&format!(
            "UPDATE checkins SET reviewed_at = $2, reviewed_by = $3, review_note = $4 \
             WHERE id = $1 AND reviewed_at IS NULL RETURNING {CHECKIN_COLS}"
        ))
        .bind(id)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .bind(note)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Conflict("This check-in was already reviewed.".into()))?;
        let c = Self::checkin_from(&row)?;
        let ev = AuditEvent::new("review", "checkin", Some(id))
            .patient(c.patient_id)
            .detail(json!({ "note": note }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn record_adverse_event(
        &self,
        e: &NewAdverseEvent,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<AdverseRecord> {
        let staff_id = actor
            .staff_id
            .ok_or_else(|| StoreError::Unsupported("A clinician signs an adverse event.".into()))?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let chart = sqlx::query(
            "SELECT a.clinic_id, a.patient_id, c.status FROM charts c \
             JOIN appointments a ON a.id = c.appointment_id WHERE c.id = $1",
        )
        .bind(e.chart_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let (clinic_id, patient_id): (i64, i64) =
            (chart.try_get("clinic_id")?, chart.try_get("patient_id")?);
        // Only the session's own lots may be suspected.
        for lot in &e.lot_ids {
            let used: Option<i64> = sqlx::query_scalar(
                "SELECT lot_id FROM chart_lots WHERE chart_id = $1 AND lot_id = $2",
            )
            .bind(e.chart_id)
            .bind(lot)
            .fetch_optional(&mut *tx)
            .await?;
            if used.is_none() {
                return Err(StoreError::Conflict(
                    "A lot suspected must be one used at the session.".into(),
                ));
            }
        }
        if let Some(c) = e.checkin_id {
            let of: Option<i64> = sqlx::query_scalar("SELECT chart_id FROM checkins WHERE id = $1")
                .bind(c)
                .fetch_optional(&mut *tx)
                .await?;
            if of != Some(e.chart_id) {
                return Err(StoreError::Conflict(
                    "That check-in is not of this session.".into(),
                ));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO adverse_events (clinic_id, patient_id, chart_id, checkin_id, term, grade, serious, version, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) RETURNING id",
        )
        .bind(clinic_id)
        .bind(patient_id)
        .bind(e.chart_id)
        .bind(e.checkin_id)
        .bind(&e.event.term)
        .bind(i64::from(e.event.grade))
        .bind(e.event.serious)
        .bind(Ts(now))
        .bind(staff_id)
        .fetch_one(&mut *tx)
        .await?;
        for lot in &e.lot_ids {
            sqlx::query(
                "INSERT INTO adverse_event_lots (adverse_event_id, lot_id) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(lot)
            .execute(&mut *tx)
            .await?;
        }
        Self::add_adverse_version(&mut tx, id, 1, &e.event, &e.zones, None, staff_id, now).await?;
        let ev = AuditEvent::new("sign", "adverse_event", Some(id))
            .patient(patient_id)
            .detail(json!({ "term": e.event.term, "grade": e.event.grade, "chart_id": e.chart_id, "lots": e.lot_ids }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let record = Self::adverse_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn amend_adverse_event(
        &self,
        id: i64,
        expected_version: i64,
        event: &needlepoint_domain::adverse::AdverseEvent,
        zones: &[String],
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<AdverseRecord> {
        let staff_id = actor
            .staff_id
            .ok_or_else(|| StoreError::Unsupported("A clinician signs an amendment.".into()))?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let n = sqlx::query(
            "UPDATE adverse_events SET version = version + 1, term = $3, grade = $4, serious = $5 \
             WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version)
        .bind(&event.term)
        .bind(i64::from(event.grade))
        .bind(event.serious)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            drop(tx);
            self.adverse_event(id).await?;
            return Err(StoreError::Conflict(
                "The event was amended while you were writing; read it again and amend.".into(),
            ));
        }
        Self::add_adverse_version(
            &mut tx,
            id,
            expected_version + 1,
            event,
            zones,
            Some(reason),
            staff_id,
            now,
        )
        .await?;
        let record = Self::adverse_in(&mut tx, id).await?;
        let ev = AuditEvent::new("amend", "adverse_event", Some(id))
            .patient(record.patient_id)
            .detail(json!({ "version": expected_version + 1, "reason": reason, "grade": event.grade, "outcome": event.outcome.as_str() }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn adverse_event(&self, id: i64) -> Result<AdverseRecord> {
        let mut conn = self.pool.acquire().await?;
        Self::adverse_in(&mut conn, id).await
    }

    async fn patient_adverse_events(&self, patient_id: i64) -> Result<Vec<AdverseRecord>> {
        self.adverse_list(
            "SELECT id FROM adverse_events WHERE patient_id = $1 ORDER BY id",
            patient_id,
        )
        .await
    }

    async fn lot_adverse_events(&self, lot_id: i64) -> Result<Vec<AdverseRecord>> {
        self.adverse_list(
            "SELECT adverse_event_id FROM adverse_event_lots WHERE lot_id = $1 ORDER BY adverse_event_id",
            lot_id,
        )
        .await
    }

    async fn patients_by_address(
        &self,
        email: Option<&str>,
        phone_digits: Option<&str>,
    ) -> Result<Vec<Patient>> {
        let rows = match (email, phone_digits) {
            (Some(e), _) => {
                sqlx::query(&format!(
                    "SELECT {PATIENT_COLS} FROM patients WHERE lower(email) = $1 ORDER BY id LIMIT 20"
                ))
                .bind(e.trim().to_lowercase())
                .fetch_all(&self.pool)
                .await?
            }
            (None, Some(d)) => {
                sqlx::query(&format!(
                    "SELECT {PATIENT_COLS} FROM patients WHERE replace(replace(replace(replace(replace(replace(\
                     phone, ' ', ''), '+', ''), '(', ''), ')', ''), '-', ''), '.', '') = $1 ORDER BY id LIMIT 20"
                ))
                .bind(d)
                .fetch_all(&self.pool)
                .await?
            }
            (None, None) => vec![],
        };
        rows.iter().map(Self::patient_from).collect()
    }

    async fn add_patient_codes(&self, codes: &[NewPatientCode], now: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        for c in codes {
            sqlx::query(
                "INSERT INTO patient_codes (patient_id, address, code_hash, link_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(c.patient_id)
            .bind(&c.address)
            .bind(&c.code_hash)
            .bind(&c.link_hash)
            .bind(Ts(now))
            .bind(Ts(c.expires_at))
            .execute(&mut *tx)
            .await?;
            let ev = AuditEvent::new("create", "patient_code", None)
                .patient(c.patient_id)
                .detail(json!({ "expires_at": c.expires_at.to_string() }));
            Self::audit(&mut tx, &Actor::system("patient sign-in"), &ev, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn patient_codes_sent(&self, address: &str, since: Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM patient_codes WHERE address = $1 AND created_at > $2",
        )
        .bind(address)
        .bind(Ts(since))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn use_patient_code(
        &self,
        address: &str,
        code_hash: &str,
        max_failures: i64,
        lock_for: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Result<i64, CodeRefusal>> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let lock = sqlx::query(
            "SELECT failures, locked_until FROM patient_sign_in_failures WHERE address = $1",
        )
        .bind(address)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = &lock {
            if let Some(until) = r.try_get::<Option<Ts>, _>("locked_until")?.map(|t| t.0) {
                if until > now {
                    return Ok(Err(CodeRefusal::Locked(until)));
                }
            }
        }
        let used = sqlx::query(
            "UPDATE patient_codes SET used_at = $3 WHERE address = $1 AND code_hash = $2 \
             AND used_at IS NULL AND expires_at > $3 RETURNING patient_id",
        )
        .bind(address)
        .bind(code_hash)
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match used {
            Some(r) => {
                let patient_id: i64 = r.try_get("patient_id")?;
                // A code works once: the others sent to this address go too.
                sqlx::query(
                    "UPDATE patient_codes SET used_at = $2 WHERE address = $1 AND used_at IS NULL",
                )
                .bind(address)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM patient_sign_in_failures WHERE address = $1")
                    .bind(address)
                    .execute(&mut *tx)
                    .await?;
                let ev = AuditEvent::new("sign_in", "patient", Some(patient_id))
                    .patient(patient_id)
                    .detail(json!({ "by": "code" }));
                Self::audit(&mut tx, &Actor::system("patient sign-in"), &ev, now).await?;
                Ok(patient_id)
            }
            None => {
                // A lock that has run out starts the count again.
                let failures = match &lock {
                    Some(r) if r.try_get::<Option<Ts>, _>("locked_until")?.is_none() => {
                        r.try_get::<i64, _>("failures")? + 1
                    }
                    _ => 1,
                };
                let until = (failures >= max_failures).then(|| now + lock_for);
                sqlx::query("DELETE FROM patient_sign_in_failures WHERE address = $1")
                    .bind(address)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO patient_sign_in_failures (address, failures, first_at, locked_until) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(address)
                .bind(if until.is_some() { 0 } else { failures })
                .bind(Ts(now))
                .bind(until.map(Ts))
                .execute(&mut *tx)
                .await?;
                Err(match until {
                    Some(t) => CodeRefusal::Locked(t),
                    None => CodeRefusal::Wrong,
                })
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn use_patient_link(&self, link_hash: &str, now: Timestamp) -> Result<Option<i64>> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(
            "UPDATE patient_codes SET used_at = $2 WHERE link_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 RETURNING patient_id, address",
        )
        .bind(link_hash)
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (patient_id, address): (i64, String) =
            (row.try_get("patient_id")?, row.try_get("address")?);
        sqlx::query("UPDATE patient_codes SET used_at = $2 WHERE address = $1 AND used_at IS NULL")
            .bind(&address)
            .bind(Ts(now))
            .execute(&mut *tx)
            .await?;
        let ev = AuditEvent::new("sign_in", "patient", Some(patient_id))
            .patient(patient_id)
            .detail(json!({ "by": "link" }));
        Self::audit(&mut tx, &Actor::system("patient sign-in"), &ev, now).await?;
        tx.commit().await?;
        Ok(Some(patient_id))
    }

    async fn create_patient_session(
        &self,
        token_hash: &str,
        patient_id: i64,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO patient_sessions (token_hash, patient_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(token_hash)
        .bind(patient_id)
        .bind(Ts(now))
        .bind(Ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn patient_session(
        &self,
        token_hash: &str,
        idle: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT patient_id, last_seen_at FROM patient_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(Ts(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let last: Timestamp = row.try_get::<Ts, _>("last_seen_at")?.0;
        if last + idle <= now {
            return Ok(None);
        }
        // The time of last use is written at most once a minute.
        if last + jiff::SignedDuration::from_secs(60) <= now {
            sqlx::query("UPDATE patient_sessions SET last_seen_at = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(Ts(now))
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(row.try_get("patient_id")?))
    }

    async fn end_patient_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM patient_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_home_care(
        &self,
        patient_id: i64,
        used: &needlepoint_domain::homecare::HomeUse,
        warnings: &[String],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<HomeCareEntry> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let p = Self::patient_in(&mut tx, patient_id).await?;
        let json = serde_json::to_string(warnings).map_err(|e| decode_err("warnings", e))?;
        let row = sqlx::query(&format!(
            "INSERT INTO home_care_uses (clinic_id, patient_id, used_on, area, needle_um, inflamed, warnings, logged_at, logged_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {HOME_CARE_COLS}"
        ))
        .bind(p.clinic_id)
        .bind(patient_id)
        .bind(Day(used.on))
        .bind(&used.area)
        .bind(i64::from(used.needle.micrometres()))
        .bind(used.inflamed)
        .bind(json)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let entry = Self::home_care_from(&row)?;
        let ev = AuditEvent::new("create", "home_care", Some(entry.id))
            .patient(patient_id)
            .detail(json!({ "on": used.on.to_string(), "area": used.area, "needle_um": used.needle.micrometres(), "warnings": warnings.len() }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn home_care(&self, patient_id: i64) -> Result<Vec<HomeCareEntry>> {
        sqlx::query(&format!(
            "SELECT {HOME_CARE_COLS} FROM home_care_uses WHERE patient_id = $1 ORDER BY used_on, id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::home_care_from)
        .collect()
    }

    async fn photo_sharing(&self, clinic_id: i64) -> Result<bool> {
        sqlx::query_scalar("SELECT share_photos FROM clinics WHERE id = $1")
            .bind(clinic_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn set_photo_sharing(
        &self,
        clinic_id: i64,
        share: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let done = sqlx::query("UPDATE clinics SET share_photos = $2 WHERE id = $1")
            .bind(clinic_id)
            .bind(share)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ev = AuditEvent::new("update", "photo_sharing", Some(clinic_id))
            .detail(json!({ "share_photos": share }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }
}
