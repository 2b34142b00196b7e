// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.

const APPOINTMENT_COLS: &str = "id, clinic_id, patient_id, plan_id, session_number, kind, practitioner_id, room_id, \
     device_id, starts_at, ends_at, local_start, time_zone, status, cancel_reason, created_at, window_override, moved_from, \
     cancelled_by, fee_minor, areas";

const MESSAGE_COLS: &str =
    "id, clinic_id, patient_id, appointment_id, kind, channel, to_address, subject, body, \
     attachment, due_at, status, attempts, last_error, sent_at";

impl SqlStore<Db> {
    /// Queues messages inside a change's transaction; a second one of
    /// the same kind for the same appointment is ignored.
    pub(super) async fn insert_messages(
        conn: &mut Conn,
        list: &[NewMessage],
        now: Timestamp,
    ) -> Result<()> {
        for m in list {
            sqlx::query(
                "INSERT INTO messages (clinic_id, patient_id, appointment_id, kind, channel, to_address, subject, body, \
                 attachment, due_at, status, attempts, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(m.clinic_id)
            .bind(m.patient_id)
            .bind(m.appointment_id)
            .bind(&m.kind)
            .bind(m.channel.as_str())
            .bind(&m.to_address)
            .bind(&m.subject)
            .bind(&m.body)
            .bind(&m.attachment)
            .bind(Ts(m.due_at))
            .bind(Ts(now))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Stops an appointment's unsent messages inside a transaction.
    async fn stop_messages(conn: &mut Conn, appointment_id: i64) -> Result<()> {
        sqlx::query("UPDATE messages SET status = 'cancelled' WHERE appointment_id = $1 AND status IN ('pending', 'failed')")
            .bind(appointment_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Appointments as a transaction sees them, in the order asked.
    async fn appointments_in(conn: &mut Conn, ids: &[i64]) -> Result<Vec<Appointment>> {
        let mut out = vec![];
        for id in ids {
            let row = sqlx::query(&format!(
                "SELECT {APPOINTMENT_COLS} FROM appointments WHERE id = $1"
            ))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            out.push(Self::appointment_from(&row)?);
        }
        Ok(out)
    }

    fn message_from(r: &DbRow) -> Result<Message> {
        Ok(Message {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            appointment_id: r.try_get("appointment_id")?,
            kind: r.try_get("kind")?,
            channel: needlepoint_domain::message::MessageChannel::parse(
                &r.try_get::<String, _>("channel")?,
            )
            .map_err(|e| decode_err("channel", e.message))?,
            to_address: r.try_get("to_address")?,
            subject: r.try_get("subject")?,
            body: r.try_get("body")?,
            attachment: r.try_get("attachment")?,
            due_at: r.try_get::<Ts, _>("due_at")?.0,
            status: needlepoint_domain::message::MessageStatus::parse(
                &r.try_get::<String, _>("status")?,
            )
            .map_err(|e| decode_err("status", e.message))?,
            attempts: r.try_get("attempts")?,
            last_error: r.try_get("last_error")?,
            sent_at: r.try_get::<Option<Ts>, _>("sent_at")?.map(|t| t.0),
        })
    }

    fn appointment_from(r: &DbRow) -> Result<Appointment> {
        Ok(Appointment {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            plan_id: r.try_get("plan_id")?,
            session_number: r.try_get("session_number")?,
            kind: needlepoint_domain::appointment::AppointmentKind::parse(
                &r.try_get::<String, _>("kind")?,
            )
            .map_err(|e| decode_err("kind", e.message))?,
            practitioner_id: r.try_get("practitioner_id")?,
            room_id: r.try_get("room_id")?,
            device_id: r.try_get("device_id")?,
            starts_at: r.try_get::<Ts, _>("starts_at")?.0,
            ends_at: r.try_get::<Ts, _>("ends_at")?.0,
            local_start: r.try_get("local_start")?,
            time_zone: r.try_get("time_zone")?,
            status: {
                let s: String = r.try_get("status")?;
                AppointmentStatus::parse(&s).ok_or_else(|| decode_err("status", s))?
            },
            cancel_reason: r.try_get("cancel_reason")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            window_override: r.try_get("window_override")?,
            moved_from: r.try_get("moved_from")?,
            cancelled_by: r.try_get("cancelled_by")?,
            fee_minor: r.try_get("fee_minor")?,
            areas: match r.try_get::<Option<String>, _>("areas")? {
                Some(t) => {
                    Some(serde_json::from_str(&t).map_err(|e| decode_err("areas", e.to_string()))?)
                }
                None => None,
            },
        })
    }

    fn claims(p: Option<i64>, r: Option<i64>, d: Option<i64>) -> Vec<(&'static str, i64)> {
        [("practitioner", p), ("room", r), ("device", d)]
            .into_iter()
            .filter_map(|(k, id)| id.map(|id| (k, id)))
            .collect()
    }

    /// Claims every slot of [start, end) for each resource, inside
    /// the caller's transaction; `Ok(false)` when one is taken.
    async fn claim(
        tx: &mut sqlx::Transaction<'_, Db>,
        id: i64,
        claims: &[(&'static str, i64)],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<bool> {
        for (kind, rid) in claims {
            for slot in crate::schedule_sql::slots(start, end) {
                let r = sqlx::query(
                    "INSERT INTO booked_slots (resource, resource_id, slot, appointment_id) VALUES ($1, $2, $3, $4)",
                )
                .bind(*kind)
                .bind(*rid)
                .bind(slot)
                .bind(id)
                .execute(&mut **tx)
                .await;
                if let Err(sqlx::Error::Database(d)) = &r {
                    if d.is_unique_violation() {
                        return Ok(false);
                    }
                }
                r?;
            }
        }
        Ok(true)
    }

    /// Which resource is taken at a time, for the refusal's message.
    async fn taken(
        &self,
        claims: &[(&'static str, i64)],
        start: Timestamp,
        end: Timestamp,
        local: &str,
    ) -> Result<String> {
        let range = crate::schedule_sql::slots(start, end);
        for &(kind, id) in claims {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM booked_slots WHERE resource = $1 AND resource_id = $2 AND slot >= $3 AND slot < $4",
            )
            .bind(kind)
            .bind(id)
            .bind(range.start)
            .bind(range.end)
            .fetch_one(&self.pool)
            .await?;
            if n > 0 {
                return Ok(format!("The {kind} is already booked at {local}."));
            }
        }
        Ok(format!("That time ({local}) was just taken."))
    }
}

#[async_trait]
impl ScheduleRecords for SqlStore<Db> {
    async fn book_and_message(
        &self,
        list: &[NewAppointment],
        messages: &Compose<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<Appointment>> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let mut ids = vec![];
        for a in list {
            if a.ends_at <= a.starts_at {
                return Err(StoreError::Invalid(needlepoint_domain::Invalid::one(
                    "ends_at",
                    "An appointment ends after it starts.",
                )));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO appointments (clinic_id, patient_id, plan_id, session_number, kind, practitioner_id, room_id, \
                 device_id, starts_at, ends_at, local_start, time_zone, status, created_at, created_by, window_override, areas) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'booked', $13, $14, $15, $16) RETURNING id",
            )
            .bind(a.clinic_id)
            .bind(a.patient_id)
            .bind(a.plan_id)
            .bind(a.session_number)
            .bind(a.kind.as_str())
            .bind(a.practitioner_id)
            .bind(a.room_id)
            .bind(a.device_id)
            .bind(Ts(a.starts_at))
            .bind(Ts(a.ends_at))
            .bind(&a.local_start)
            .bind(&a.time_zone)
            .bind(Ts(now))
            .bind(actor.staff_id)
            .bind(&a.window_override)
            .bind(a.areas.as_ref().map(|x| serde_json::Value::from(x.clone()).to_string()))
            .fetch_one(&mut *tx)
            .await?;
            let claims = Self::claims(a.practitioner_id, a.room_id, a.device_id);
            if !Self::claim(&mut tx, id, &claims, a.starts_at, a.ends_at).await? {
                drop(tx);
                return Err(StoreError::Conflict(
                    self.taken(&claims, a.starts_at, a.ends_at, &a.local_start)
                        .await?,
                ));
            }
            let ev = AuditEvent::new("create", "appointment", Some(id))
                .patient(a.patient_id)
                .detail(json!({ "start": a.local_start, "zone": a.time_zone, "plan_id": a.plan_id, "session": a.session_number,
                                "areas": a.areas, "window_override": a.window_override }));
            Self::audit(&mut tx, actor, &ev, now).await?;
            ids.push(id);
        }
        let booked = Self::appointments_in(&mut tx, &ids).await?;
        Self::insert_messages(&mut tx, &messages(&booked), now).await?;
        tx.commit().await?;
        Ok(booked)
    }

    async fn appointment(&self, id: i64) -> Result<Appointment> {
        let row = sqlx::query(&format!(
            "SELECT {APPOINTMENT_COLS} FROM appointments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Self::appointment_from(&row)
    }

    async fn appointments(
        &self,
        clinic_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Appointment>> {
        let rows = sqlx::query(&format!(
            "SELECT {APPOINTMENT_COLS} FROM appointments WHERE clinic_id = $1 AND starts_at >= $2 AND starts_at < $3 \
             ORDER BY starts_at, id"
        ))
        .bind(clinic_id)
        .bind(Ts(from))
        .bind(Ts(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::appointment_from).collect()
    }

    async fn appointment_counts(
        &self,
        clinic_ids: &[i64],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(i64, AppointmentStatus, i64)>> {
        if clinic_ids.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT clinic_id, status, COUNT(*) FROM appointments \
             WHERE clinic_id IN ({}) AND starts_at >= $1 AND starts_at < $2 \
             GROUP BY clinic_id, status",
            placeholders(3, clinic_ids.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String, i64)>(&sql)
            .bind(Ts(from))
            .bind(Ts(to));
        for id in clinic_ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(clinic, status, n)| {
                AppointmentStatus::parse(&status)
                    .map(|s| (clinic, s, n))
                    .ok_or_else(|| decode_err("status", status))
            })
            .collect()
    }

    async fn patient_appointments(&self, patient_id: i64) -> Result<Vec<Appointment>> {
        let rows = sqlx::query(&format!(
            "SELECT {APPOINTMENT_COLS} FROM appointments WHERE patient_id = $1 ORDER BY starts_at, id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::appointment_from).collect()
    }

    async fn clinic_hours(&self, clinic_id: i64) -> Result<Option<WeeklyHours>> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT hours FROM clinic_hours WHERE clinic_id = $1")
                .bind(clinic_id)
                .fetch_optional(&self.pool)
                .await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| decode_err("hours", e)))
            .transpose()
    }

    async fn set_clinic_hours(
        &self,
        clinic_id: i64,
        hours: &WeeklyHours,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let json = serde_json::to_string(hours).map_err(|e| decode_err("hours", e))?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        sqlx::query(
            "INSERT INTO clinic_hours (clinic_id, hours, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (clinic_id) DO UPDATE SET hours = excluded.hours, updated_at = excluded.updated_at",
        )
        .bind(clinic_id)
        .bind(&json)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await?;
        Self::audit(
            &mut tx,
            actor,
            &AuditEvent::new("update", "clinic_hours", Some(clinic_id))
                .detail(json!({ "hours": hours })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn staff_hours(&self, staff_id: i64, clinic_id: i64) -> Result<Option<WeeklyHours>> {
        let text: Option<String> = sqlx::query_scalar(
            "SELECT hours FROM staff_hours WHERE staff_id = $1 AND clinic_id = $2",
        )
        .bind(staff_id)
        .bind(clinic_id)
        .fetch_optional(&self.pool)
        .await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| decode_err("hours", e)))
            .transpose()
    }

    async fn set_staff_hours(
        &self,
        staff_id: i64,
        clinic_id: i64,
        hours: &WeeklyHours,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let json = serde_json::to_string(hours).map_err(|e| decode_err("hours", e))?;
        let mut tx = self.pool.begin_with(self.begin).await?;
        sqlx::query(
            "INSERT INTO staff_hours (staff_id, clinic_id, hours, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (staff_id, clinic_id) DO UPDATE SET hours = excluded.hours, updated_at = excluded.updated_at",
        )
        .bind(staff_id)
        .bind(clinic_id)
        .bind(&json)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await?;
        let ev = AuditEvent::new("update", "staff_hours", Some(staff_id))
            .detail(json!({ "clinic_id": clinic_id, "hours": hours }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn closures(&self, clinic_id: i64) -> Result<Vec<(jiff::civil::Date, String)>> {
        let rows =
            sqlx::query("SELECT day, reason FROM closures WHERE clinic_id = $1 ORDER BY day")
                .bind(clinic_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<Day, _>("day")?.0, r.try_get("reason")?)))
            .collect()
    }

    async fn add_closure(
        &self,
        clinic_id: i64,
        day: jiff::civil::Date,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        sqlx::query("INSERT INTO closures (clinic_id, day, reason) VALUES ($1, $2, $3)")
            .bind(clinic_id)
            .bind(Day(day))
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "The clinic is already closed that day."))?;
        let ev = AuditEvent::new("create", "closure", Some(clinic_id))
            .detail(json!({ "day": day.to_string(), "reason": reason }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_calendar_feed(
        &self,
        staff_id: i64,
        token_hash: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        sqlx::query(
            "UPDATE calendar_feeds SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL",
        )
        .bind(staff_id)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO calendar_feeds (staff_id, token_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(staff_id)
        .bind(token_hash)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await?;
        Self::audit(
            &mut tx,
            actor,
            &AuditEvent::new("create", "calendar_feed", Some(staff_id)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_calendar_feeds(
        &self,
        staff_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        sqlx::query(
            "UPDATE calendar_feeds SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL",
        )
        .bind(staff_id)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await?;
        Self::audit(
            &mut tx,
            actor,
            &AuditEvent::new("revoke", "calendar_feed", Some(staff_id)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn calendar_feed_owner(&self, token_hash: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT staff_id FROM calendar_feeds WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn practitioner_appointments(
        &self,
        staff_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Appointment>> {
        let rows = sqlx::query(&format!(
            "SELECT {APPOINTMENT_COLS} FROM appointments WHERE practitioner_id = $1 AND starts_at >= $2 AND starts_at < $3 \
             ORDER BY starts_at, id"
        ))
        .bind(staff_id)
        .bind(Ts(from))
        .bind(Ts(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::appointment_from).collect()
    }

    async fn enqueue_messages(&self, list: &[NewMessage]) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        Self::insert_messages(&mut tx, list, crate::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn due_messages(&self, now: Timestamp, limit: i64) -> Result<Vec<Message>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE status IN ('pending', 'failed') AND due_at <= $1 \
             ORDER BY due_at, id LIMIT $2"
        ))
        .bind(Ts(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::message_from).collect()
    }

    async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE messages SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1")
            .bind(id)
            .bind(Ts(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_failed(&self, id: i64, error: &str, retry_at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE messages SET status = 'failed', attempts = attempts + 1, last_error = $2, due_at = $3 WHERE id = $1")
            .bind(id)
            .bind(error)
            .bind(Ts(retry_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn cancel_messages(&self, appointment_id: i64) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        Self::stop_messages(&mut conn, appointment_id).await
    }

    async fn messages(&self, clinic_id: i64, limit: i64) -> Result<Vec<Message>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE clinic_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(clinic_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::message_from).collect()
    }

    async fn patient_messages(&self, patient_id: i64, limit: i64) -> Result<Vec<Message>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE patient_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(patient_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::message_from).collect()
    }

    async fn find_messages(
        &self,
        staff_id: i64,
        f: &MessageFilter,
        limit: i64,
    ) -> Result<Vec<Message>> {
        // Each condition is there or not; the binds follow in the same order.
        let mut sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE clinic_id IN \
             (SELECT clinic_id FROM staff_clinics WHERE staff_id = $1)"
        );
        let mut n = 1;
        let mut next = || {
            n += 1;
            n
        };
        if f.clinic_id.is_some() {
            sql.push_str(&format!(" AND clinic_id = ${}", next()));
        }
        if f.patient_id.is_some() {
            sql.push_str(&format!(" AND patient_id = ${}", next()));
        }
        if f.kind.is_some() {
            sql.push_str(&format!(" AND kind = ${}", next()));
        }
        let status = f.state.map(|s| match s {
            MessageState::Scheduled => "pending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Cancelled => "cancelled",
        });
        if status.is_some() {
            sql.push_str(&format!(" AND status = ${}", next()));
        }
        sql.push_str(match f.state {
            Some(MessageState::Scheduled) => " ORDER BY due_at, id",
            _ => " ORDER BY id DESC",
        });
        sql.push_str(&format!(" LIMIT ${}", next()));
        let mut q = sqlx::query(&sql).bind(staff_id);
        if let Some(c) = f.clinic_id {
            q = q.bind(c);
        }
        if let Some(p) = f.patient_id {
            q = q.bind(p);
        }
        if let Some(k) = &f.kind {
            q = q.bind(k.clone());
        }
        if let Some(s) = status {
            q = q.bind(s);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(Self::message_from).collect()
    }

    async fn message(&self, id: i64) -> Result<Message> {
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Self::message_from(&row)
    }

    async fn retry_message(&self, id: i64, actor: &Actor, now: Timestamp) -> Result<Message> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(&format!(
            "UPDATE messages SET status = 'pending', due_at = $2 WHERE id = $1 AND status = 'failed' \
             RETURNING {MESSAGE_COLS}"
        ))
        .bind(id)
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Conflict("Only a message that failed is sent again.".into()))?;
        let m = Self::message_from(&row)?;
        let mut ev = AuditEvent::new("retry", "message", Some(id))
            .detail(json!({ "kind": m.kind, "to": m.to_address }));
        ev.patient_id = m.patient_id;
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(m)
    }

    async fn staff_messages(&self, staff_id: i64, limit: i64) -> Result<Vec<Message>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE clinic_id IN \
             (SELECT clinic_id FROM staff_clinics WHERE staff_id = $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(staff_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::message_from).collect()
    }

    async fn set_appointment_status_and_message(
        &self,
        id: i64,
        change: &StatusChange<'_>,
        messages: &Compose<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Appointment> {
        let StatusChange {
            status,
            reason,
            cancelled_by,
            fee_minor,
        } = *change;
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query("SELECT status, starts_at FROM appointments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let before: String = row.try_get("status")?;
        let from = AppointmentStatus::parse(&before)
            .ok_or_else(|| decode_err("status", before.clone()))?;
        // The one state machine, checked inside the transaction so
        // two clicks racing cannot both move it.
        check_move(from, status, row.try_get::<Ts, _>("starts_at")?.0, now).map_err(|e| {
            StoreError::Conflict(
                e.errors
                    .into_iter()
                    .map(|x| x.message)
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })?;
        sqlx::query("UPDATE appointments SET status = $2, cancel_reason = $3, cancelled_by = $4, fee_minor = $5 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .bind(reason)
            .bind(cancelled_by)
            .bind(fee_minor.filter(|f| *f > 0))
            .execute(&mut *tx)
            .await?;
        if !status.holds_time() {
            // Its reminders stop with it.
            Self::stop_messages(&mut tx, id).await?;
            sqlx::query("DELETE FROM booked_slots WHERE appointment_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let patient_id: i64 =
            sqlx::query_scalar("SELECT patient_id FROM appointments WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let ev = AuditEvent::new("status", "appointment", Some(id))
            .patient(patient_id)
            .detail(json!({ "from": before, "to": status.as_str(), "reason": reason, "cancelled_by": cancelled_by, "fee_minor": fee_minor }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let done = Self::appointments_in(&mut tx, &[id]).await?;
        Self::insert_messages(&mut tx, &messages(&done), now).await?;
        tx.commit().await?;
        Ok(done
            .into_iter()
            .next()
            .expect("the appointment just changed"))
    }

    async fn reschedule_and_message(
        &self,
        moves: &[Move],
        messages: &Compose<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<Appointment>> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        // Free every moving appointment's time first: a course moved
        // along may take a time another of its sessions had.
        let mut before = vec![];
        for m in moves {
            if m.ends_at <= m.starts_at {
                return Err(StoreError::Invalid(needlepoint_domain::Invalid::one(
                    "ends_at",
                    "An appointment ends after it starts.",
                )));
            }
            let row = sqlx::query(
                "SELECT status, local_start, patient_id FROM appointments WHERE id = $1",
            )
            .bind(m.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let status: String = row.try_get("status")?;
            if status != AppointmentStatus::Booked.as_str() {
                return Err(StoreError::Conflict(format!(
                    "Only a booked appointment can be moved; this one is {status}."
                )));
            }
            before.push((
                row.try_get::<String, _>("local_start")?,
                row.try_get::<i64, _>("patient_id")?,
            ));
            sqlx::query("DELETE FROM booked_slots WHERE appointment_id = $1")
                .bind(m.id)
                .execute(&mut *tx)
                .await?;
        }
        for (m, (from, patient_id)) in moves.iter().zip(&before) {
            sqlx::query(
                "UPDATE appointments SET practitioner_id = $2, room_id = $3, device_id = $4, starts_at = $5, ends_at = $6, \
                 local_start = $7, window_override = $8, moved_from = $9, fee_minor = COALESCE($10, fee_minor) WHERE id = $1",
            )
            .bind(m.id)
            .bind(m.practitioner_id)
            .bind(m.room_id)
            .bind(m.device_id)
            .bind(Ts(m.starts_at))
            .bind(Ts(m.ends_at))
            .bind(&m.local_start)
            .bind(&m.window_override)
            .bind(from)
            .bind(m.fee_minor)
            .execute(&mut *tx)
            .await?;
            let claims = Self::claims(m.practitioner_id, m.room_id, m.device_id);
            if !Self::claim(&mut tx, m.id, &claims, m.starts_at, m.ends_at).await? {
                drop(tx);
                return Err(StoreError::Conflict(
                    self.taken(&claims, m.starts_at, m.ends_at, &m.local_start)
                        .await?,
                ));
            }
            let ev = AuditEvent::new("reschedule", "appointment", Some(m.id))
                .patient(*patient_id)
                .detail(json!({ "from": from, "to": m.local_start, "window_override": m.window_override, "fee_minor": m.fee_minor }));
            Self::audit(&mut tx, actor, &ev, now).await?;
            // The old time's reminders stop; the new ones come below.
            Self::stop_messages(&mut tx, m.id).await?;
        }
        let ids: Vec<i64> = moves.iter().map(|m| m.id).collect();
        let moved = Self::appointments_in(&mut tx, &ids).await?;
        Self::insert_messages(&mut tx, &messages(&moved), now).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn cancellation_policy(&self, clinic_id: i64) -> Result<CancellationPolicy> {
        let row = sqlx::query(
            "SELECT cancel_notice_hours, late_cancel_fee_minor FROM clinics WHERE id = $1",
        )
        .bind(clinic_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let hours: i64 = row.try_get("cancel_notice_hours")?;
        Ok(CancellationPolicy {
            notice_hours: u32::try_from(hours).map_err(|e| decode_err("cancel_notice_hours", e))?,
            fee_minor: row.try_get("late_cancel_fee_minor")?,
        })
    }

    async fn set_cancellation_policy(
        &self,
        clinic_id: i64,
        p: &CancellationPolicy,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let done = sqlx::query(
            "UPDATE clinics SET cancel_notice_hours = $2, late_cancel_fee_minor = $3 WHERE id = $1",
        )
        .bind(clinic_id)
        .bind(i64::from(p.notice_hours))
        .bind(p.fee_minor)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ev = AuditEvent::new("update", "cancellation_policy", Some(clinic_id))
            .detail(json!({ "notice_hours": p.notice_hours, "fee_minor": p.fee_minor }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn message_templates(&self, clinic_id: i64) -> Result<Vec<(String, MessageTemplate)>> {
        let rows = sqlx::query(
            "SELECT kind, subject, body FROM message_templates WHERE clinic_id = $1 ORDER BY kind",
        )
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kind")?,
                    MessageTemplate {
                        subject: r.try_get("subject")?,
                        body: r.try_get("body")?,
                    },
                ))
            })
            .collect()
    }

    async fn set_message_template(
        &self,
        clinic_id: i64,
        kind: &str,
        t: &MessageTemplate,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        if MessageTemplate::shipped(kind).is_none() {
            return Err(StoreError::Invalid(needlepoint_domain::Invalid::one(
                "kind",
                "No such message.",
            )));
        }
        let mut tx = self.pool.begin_with(self.begin).await?;
        sqlx::query(
            "INSERT INTO message_templates (clinic_id, kind, subject, body, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (clinic_id, kind) DO UPDATE SET subject = excluded.subject, body = excluded.body, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(clinic_id)
        .bind(kind)
        .bind(&t.subject)
        .bind(&t.body)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .execute(&mut *tx)
        .await?;
        let ev = AuditEvent::new("update", "message_template", Some(clinic_id))
            .detail(json!({ "kind": kind, "subject": t.subject, "body": t.body }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }
}
