// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.

const LOT_COLS: &str = "l.id, l.item_id, l.clinic_id, i.name AS item_name, i.kind, i.intradermal, i.supplier, \
     l.lot_number, l.expires_on, l.quantity, l.received_at, l.recalled_at, l.recall_reason, l.recall_notified_at";
const CHART_COLS: &str = "c.id, c.clinic_id, c.patient_id, c.plan_id, c.appointment_id, c.session_number, c.status, \
     c.checklist, c.started_checks, c.started_at, c.started_by, c.zones, c.signed_at, c.signed_by, \
     s1.name AS signed_by_name, c.needs_cosign, c.cosigned_at, c.cosigned_by, s2.name AS cosigned_by_name, \
     c.version, c.created_at, c.updated_at, c.off_day_reason";
const CHART_FROM: &str = "charts c LEFT JOIN staff s1 ON s1.id = c.signed_by LEFT JOIN staff s2 ON s2.id = c.cosigned_by";
const PHOTO_COLS: &str = "id, clinic_id, patient_id, chart_id, view, sha256, width, height, bytes, created_at, created_by";

fn kind_from(s: &str) -> Result<needlepoint_domain::charting::SupplyKind> {
    needlepoint_domain::charting::SupplyKind::parse(s).map_err(|e| decode_err("kind", e.message))
}

impl SqlStore<Db> {
    fn lot_from(r: &DbRow) -> Result<Lot> {
        Ok(Lot {
            id: r.try_get("id")?,
            item_id: r.try_get("item_id")?,
            clinic_id: r.try_get("clinic_id")?,
            item_name: r.try_get("item_name")?,
            kind: kind_from(&r.try_get::<String, _>("kind")?)?,
            intradermal: r.try_get("intradermal")?,
            supplier: r.try_get("supplier")?,
            lot_number: r.try_get("lot_number")?,
            expires_on: r.try_get::<Day, _>("expires_on")?.0,
            quantity: r.try_get("quantity")?,
            received_at: r.try_get::<Ts, _>("received_at")?.0,
            recalled_at: r.try_get::<Option<Ts>, _>("recalled_at")?.map(|t| t.0),
            recall_reason: r.try_get("recall_reason")?,
            recall_notified_at: r
                .try_get::<Option<Ts>, _>("recall_notified_at")?
                .map(|t| t.0),
        })
    }

    fn photo_from(r: &DbRow) -> Result<Photo> {
        Ok(Photo {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            chart_id: r.try_get("chart_id")?,
            view: r.try_get("view")?,
            sha256: r.try_get("sha256")?,
            width: r.try_get("width")?,
            height: r.try_get("height")?,
            bytes: r.try_get("bytes")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            created_by: r.try_get("created_by")?,
        })
    }

    async fn chart_from(&self, r: &DbRow) -> Result<Chart> {
        let id: i64 = r.try_get("id")?;
        let checklist: String = r.try_get("checklist")?;
        let started: Option<String> = r.try_get("started_checks")?;
        let zones: String = r.try_get("zones")?;
        let lots = sqlx::query(
            "SELECT cl.lot_id, i.name AS item_name, i.kind, l.lot_number, l.expires_on, cl.quantity, cl.warning \
             FROM chart_lots cl JOIN lots l ON l.id = cl.lot_id JOIN supply_items i ON i.id = l.item_id \
             WHERE cl.chart_id = $1 ORDER BY cl.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ChartLot {
                lot_id: r.try_get("lot_id")?,
                item_name: r.try_get("item_name")?,
                kind: kind_from(&r.try_get::<String, _>("kind")?)?,
                lot_number: r.try_get("lot_number")?,
                expires_on: r.try_get::<Day, _>("expires_on")?.0,
                quantity: r.try_get("quantity")?,
                warning: r.try_get("warning")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let amendments = sqlx::query(
            "SELECT a.id, a.zone, a.text, a.reason, a.created_at, a.created_by, s.name \
             FROM chart_amendments a JOIN staff s ON s.id = a.created_by WHERE a.chart_id = $1 ORDER BY a.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Amendment {
                id: r.try_get("id")?,
                zone: r.try_get("zone")?,
                text: r.try_get("text")?,
                reason: r.try_get("reason")?,
                created_at: r.try_get::<Ts, _>("created_at")?.0,
                created_by: r.try_get("created_by")?,
                created_by_name: r.try_get("name")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Chart {
            id,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            plan_id: r.try_get("plan_id")?,
            appointment_id: r.try_get("appointment_id")?,
            session_number: r.try_get("session_number")?,
            status: {
                let s: String = r.try_get("status")?;
                needlepoint_domain::charting::ChartStatus::parse(&s)
                    .ok_or_else(|| decode_err("status", s))?
            },
            checklist: serde_json::from_str(&checklist).map_err(|e| decode_err("checklist", e))?,
            started_checks: started
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|e| decode_err("started_checks", e))?,
            started_at: r.try_get::<Option<Ts>, _>("started_at")?.map(|t| t.0),
            started_by: r.try_get("started_by")?,
            zones: serde_json::from_str(&zones).map_err(|e| decode_err("zones", e))?,
            lots,
            signed_at: r.try_get::<Option<Ts>, _>("signed_at")?.map(|t| t.0),
            signed_by: r.try_get("signed_by")?,
            signed_by_name: r.try_get("signed_by_name")?,
            needs_cosign: r.try_get("needs_cosign")?,
            cosigned_at: r.try_get::<Option<Ts>, _>("cosigned_at")?.map(|t| t.0),
            cosigned_by: r.try_get("cosigned_by")?,
            cosigned_by_name: r.try_get("cosigned_by_name")?,
            off_day_reason: r.try_get("off_day_reason")?,
            amendments,
            version: r.try_get("version")?,
            created_at: r.try_get::<Ts, _>("created_at")?.0,
            updated_at: r.try_get::<Ts, _>("updated_at")?.0,
        })
    }

    /// Locks a chart for a change inside `tx`: its status, patient and
    /// zones; refused once signed.
    async fn chart_for_change(
        tx: &mut sqlx::Transaction<'_, Db>,
        id: i64,
    ) -> Result<(String, i64, Vec<needlepoint_domain::charting::ZoneRecord>)> {
        let row = sqlx::query("SELECT status, patient_id, zones FROM charts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let status: String = row.try_get("status")?;
        if status == "signed" {
            return Err(StoreError::Conflict(crate::charting_sql::SIGNED.into()));
        }
        let zones: String = row.try_get("zones")?;
        let zones = serde_json::from_str(&zones).map_err(|e| decode_err("zones", e))?;
        Ok((status, row.try_get("patient_id")?, zones))
    }

    async fn touch_chart(
        tx: &mut sqlx::Transaction<'_, Db>,
        id: i64,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE charts SET version = version + 1, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(Ts(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn set_zones(
        &self,
        id: i64,
        change: impl FnOnce(
            &mut Vec<needlepoint_domain::charting::ZoneRecord>,
        ) -> Result<serde_json::Value>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let (status, patient_id, mut zones) = Self::chart_for_change(&mut tx, id).await?;
        if status != "in_progress" {
            return Err(StoreError::Conflict(
                "Complete the checklist and start the session before charting zones.".into(),
            ));
        }
        let detail = change(&mut zones)?;
        sqlx::query("UPDATE charts SET zones = $2 WHERE id = $1")
            .bind(id)
            .bind(json("zones", &zones)?)
            .execute(&mut *tx)
            .await?;
        Self::touch_chart(&mut tx, id, now).await?;
        let ev = AuditEvent::new("zone", "chart", Some(id))
            .patient(patient_id)
            .detail(detail);
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn add_movement(
        tx: &mut sqlx::Transaction<'_, Db>,
        lot_id: i64,
        delta: i64,
        reason: &str,
        chart_id: Option<i64>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE lots SET quantity = quantity + $2 WHERE id = $1")
            .bind(lot_id)
            .bind(delta)
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO stock_movements (lot_id, delta, reason, chart_id, at, by_id) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(lot_id)
            .bind(delta)
            .bind(reason)
            .bind(chart_id)
            .bind(Ts(now))
            .bind(actor.staff_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl StockRecords for SqlStore<Db> {
    async fn create_supply_item(
        &self,
        clinic_id: i64,
        item: &NewSupplyItem,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<SupplyItem> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO supply_items (clinic_id, kind, name, supplier, intradermal, reorder_at, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (clinic_id, name) DO NOTHING RETURNING id",
        )
        .bind(clinic_id)
        .bind(item.kind.as_str())
        .bind(&item.name)
        .bind(&item.supplier)
        .bind(item.intradermal)
        .bind(item.reorder_at)
        .bind(true)
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("The clinic already stocks an item called {:?}.", item.name)))?;
        let ev = AuditEvent::new("create", "supply_item", Some(id))
            .detail(serde_json::json!({ "clinic_id": clinic_id, "name": item.name, "kind": item.kind.as_str() }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(SupplyItem {
            id,
            clinic_id,
            kind: item.kind,
            name: item.name.clone(),
            supplier: item.supplier.clone(),
            intradermal: item.intradermal,
            reorder_at: item.reorder_at,
            active: true,
            usable: 0,
        })
    }

    async fn supply_items(
        &self,
        clinic_id: i64,
        today: jiff::civil::Date,
    ) -> Result<Vec<SupplyItem>> {
        let rows = sqlx::query(
            "SELECT i.id, i.clinic_id, i.kind, i.name, i.supplier, i.intradermal, i.reorder_at, i.active, \
             (SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM lots l WHERE l.item_id = i.id AND l.recalled_at IS NULL \
              AND l.expires_on >= $2 AND l.quantity > 0) AS usable \
             FROM supply_items i WHERE i.clinic_id = $1 ORDER BY i.name",
        )
        .bind(clinic_id)
        .bind(Day(today))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SupplyItem {
                    id: r.try_get("id")?,
                    clinic_id: r.try_get("clinic_id")?,
                    kind: kind_from(&r.try_get::<String, _>("kind")?)?,
                    name: r.try_get("name")?,
                    supplier: r.try_get("supplier")?,
                    intradermal: r.try_get("intradermal")?,
                    reorder_at: r.try_get("reorder_at")?,
                    active: r.try_get("active")?,
                    usable: r.try_get("usable")?,
                })
            })
            .collect()
    }

    async fn receive_lot(&self, lot: &NewLot, actor: &Actor, now: Timestamp) -> Result<Lot> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let clinic_id: i64 = sqlx::query_scalar("SELECT clinic_id FROM supply_items WHERE id = $1")
            .bind(lot.item_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        // A lot the maker has recalled never goes into stock, wherever
        // in the organisation the recall was recorded.
        if let Some(r) = sqlx::query(crate::charting_sql::RECALLED_ELSEWHERE)
            .bind(lot.item_id)
            .bind(&lot.lot_number)
            .fetch_optional(&mut *tx)
            .await?
        {
            let at: Ts = r.try_get("recalled_at")?;
            let reason: Option<String> = r.try_get("recall_reason")?;
            return Err(StoreError::Conflict(format!(
                "Lot {} of this item was recalled on {}{}: do not take it into stock.",
                lot.lot_number,
                at.0.strftime("%-d %B %Y"),
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO lots (item_id, clinic_id, lot_number, expires_on, quantity, received_at) \
             VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (item_id, lot_number) DO NOTHING RETURNING id",
        )
        .bind(lot.item_id)
        .bind(clinic_id)
        .bind(&lot.lot_number)
        .bind(Day(lot.expires_on))
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::Conflict(format!(
                "Lot {} of this item is already in stock: count it instead of receiving it again.",
                lot.lot_number
            ))
        })?;
        Self::add_movement(&mut tx, id, lot.quantity, "received", None, actor, now).await?;
        let ev = AuditEvent::new("receive", "lot", Some(id)).detail(serde_json::json!({
            "item_id": lot.item_id, "lot": lot.lot_number, "expires_on": lot.expires_on.to_string(), "quantity": lot.quantity,
        }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.lot(id).await
    }

    async fn lot(&self, id: i64) -> Result<Lot> {
        let row = sqlx::query(&format!(
            "SELECT {LOT_COLS} FROM lots l JOIN supply_items i ON i.id = l.item_id WHERE l.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Self::lot_from(&row)
    }

    async fn lots(&self, clinic_id: i64) -> Result<Vec<Lot>> {
        let rows = sqlx::query(&format!(
            "SELECT {LOT_COLS} FROM lots l JOIN supply_items i ON i.id = l.item_id WHERE l.clinic_id = $1 \
             ORDER BY l.expires_on, i.name, l.lot_number"
        ))
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::lot_from).collect()
    }

    async fn count_lot(
        &self,
        lot_id: i64,
        quantity: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Lot> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let before: i64 = sqlx::query_scalar("SELECT quantity FROM lots WHERE id = $1")
            .bind(lot_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if quantity != before {
            Self::add_movement(
                &mut tx,
                lot_id,
                quantity - before,
                "count",
                None,
                actor,
                now,
            )
            .await?;
        }
        let ev = AuditEvent::new("count", "lot", Some(lot_id))
            .detail(serde_json::json!({ "from": before, "to": quantity }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.lot(lot_id).await
    }

    async fn stock_movements(&self, lot_id: i64) -> Result<Vec<StockMovement>> {
        let rows = sqlx::query(
            "SELECT id, lot_id, delta, reason, chart_id, at, by_id FROM stock_movements WHERE lot_id = $1 ORDER BY id",
        )
        .bind(lot_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StockMovement {
                    id: r.try_get("id")?,
                    lot_id: r.try_get("lot_id")?,
                    delta: r.try_get("delta")?,
                    reason: r.try_get("reason")?,
                    chart_id: r.try_get("chart_id")?,
                    at: r.try_get::<Ts, _>("at")?.0,
                    by_id: r.try_get("by_id")?,
                })
            })
            .collect()
    }

    async fn recall_lot(
        &self,
        lot_id: i64,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Lot> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let ids: Vec<i64> = sqlx::query_scalar(crate::charting_sql::SIBLINGS)
            .bind(lot_id)
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            return Err(StoreError::NotFound);
        }
        let mut marked = 0;
        for id in &ids {
            let n = sqlx::query("UPDATE lots SET recalled_at = $2, recall_reason = $3 WHERE id = $1 AND recalled_at IS NULL")
                .bind(id)
                .bind(Ts(now))
                .bind(reason)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                marked += 1;
                let ev = AuditEvent::new("recall", "lot", Some(*id))
                    .detail(serde_json::json!({ "reason": reason, "recalled_from_lot": lot_id }));
                Self::audit(&mut tx, actor, &ev, now).await?;
            }
        }
        if marked == 0 {
            return Err(StoreError::Conflict("This lot is already recalled.".into()));
        }
        tx.commit().await?;
        self.lot(lot_id).await
    }

    async fn lot_siblings(&self, lot_id: i64) -> Result<Vec<Lot>> {
        let ids: Vec<i64> = sqlx::query_scalar(crate::charting_sql::SIBLINGS)
            .bind(lot_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = vec![];
        for id in ids {
            out.push(self.lot(id).await?);
        }
        Ok(out)
    }

    async fn lot_uses(&self, lot_id: i64) -> Result<Vec<LotUse>> {
        let rows = sqlx::query(
            "SELECT cl.chart_id, c.appointment_id, cl.patient_id, p.given_name, p.family_name, p.email, p.phone, \
             cl.clinic_id, cl.used_at, cl.quantity \
             FROM chart_lots cl JOIN charts c ON c.id = cl.chart_id JOIN patients p ON p.id = cl.patient_id \
             WHERE cl.lot_id = $1 ORDER BY cl.used_at, cl.id",
        )
        .bind(lot_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LotUse {
                    chart_id: r.try_get("chart_id")?,
                    appointment_id: r.try_get("appointment_id")?,
                    patient_id: r.try_get("patient_id")?,
                    patient_name: format!(
                        "{} {}",
                        r.try_get::<String, _>("given_name")?,
                        r.try_get::<String, _>("family_name")?
                    ),
                    email: r.try_get("email")?,
                    phone: r.try_get("phone")?,
                    clinic_id: r.try_get("clinic_id")?,
                    used_at: r.try_get::<Ts, _>("used_at")?.0,
                    quantity: r.try_get("quantity")?,
                })
            })
            .collect()
    }

    async fn notify_recall(
        &self,
        lot_ids: &[i64],
        messages: &[NewMessage],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        for id in lot_ids {
            let n = sqlx::query(
                "UPDATE lots SET recall_notified_at = $2 WHERE id = $1 AND recalled_at IS NOT NULL AND recall_notified_at IS NULL",
            )
            .bind(id)
            .bind(Ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict(
                    "Mark the lot recalled first; patients are messaged once per recall.".into(),
                ));
            }
        }
        if lot_ids.is_empty() {
            return Err(StoreError::Conflict(
                "Mark the lot recalled first; patients are messaged once per recall.".into(),
            ));
        }
        for m in messages {
            sqlx::query(
                "INSERT INTO messages (clinic_id, patient_id, appointment_id, kind, channel, to_address, subject, body, \
                 attachment, due_at, status, attempts, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11)",
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
            .execute(&mut *tx)
            .await?;
        }
        for id in lot_ids {
            let ev = AuditEvent::new("recall_notify", "lot", Some(*id))
                .detail(serde_json::json!({ "messages": messages.len(), "lots": lot_ids }));
            Self::audit(&mut tx, actor, &ev, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl ChartRecords for SqlStore<Db> {
    async fn open_chart(
        &self,
        a: &Appointment,
        off_day_reason: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        if let Some(c) = self.chart_for_appointment(a.id).await? {
            return Ok(c);
        }
        let mut tx = self.pool.begin_with(self.begin).await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO charts (clinic_id, patient_id, plan_id, appointment_id, session_number, status, checklist, zones, \
             created_at, updated_at, off_day_reason) VALUES ($1, $2, $3, $4, $5, 'checklist', $6, '[]', $7, $7, $8) \
             ON CONFLICT (appointment_id) DO NOTHING RETURNING id",
        )
        .bind(a.clinic_id)
        .bind(a.patient_id)
        .bind(a.plan_id)
        .bind(a.id)
        .bind(a.session_number)
        .bind(json("checklist", &ChecklistRecord::default())?)
        .bind(Ts(now))
        .bind(off_day_reason)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            let ev = AuditEvent::new("create", "chart", Some(id))
                .patient(a.patient_id)
                .detail(
                    serde_json::json!({ "appointment_id": a.id, "off_day_reason": off_day_reason }),
                );
            Self::audit(&mut tx, actor, &ev, now).await?;
        }
        tx.commit().await?;
        // Someone else opened it at the same moment: theirs is the one.
        self.chart_for_appointment(a.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn chart(&self, id: i64) -> Result<Chart> {
        let row = sqlx::query(&format!(
            "SELECT {CHART_COLS} FROM {CHART_FROM} WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        self.chart_from(&row).await
    }

    async fn chart_for_appointment(&self, appointment_id: i64) -> Result<Option<Chart>> {
        let row = sqlx::query(&format!(
            "SELECT {CHART_COLS} FROM {CHART_FROM} WHERE c.appointment_id = $1"
        ))
        .bind(appointment_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.chart_from(&r).await?)),
            None => Ok(None),
        }
    }

    async fn patient_charts(&self, patient_id: i64) -> Result<Vec<Chart>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHART_COLS} FROM {CHART_FROM} WHERE c.patient_id = $1 ORDER BY c.id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = vec![];
        for r in &rows {
            out.push(self.chart_from(r).await?);
        }
        Ok(out)
    }

    async fn save_checklist(
        &self,
        id: i64,
        checklist: &ChecklistRecord,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let (_, patient_id, _) = Self::chart_for_change(&mut tx, id).await?;
        sqlx::query("UPDATE charts SET checklist = $2 WHERE id = $1")
            .bind(id)
            .bind(json("checklist", checklist)?)
            .execute(&mut *tx)
            .await?;
        Self::touch_chart(&mut tx, id, now).await?;
        let ev = AuditEvent::new("checklist", "chart", Some(id))
            .patient(patient_id)
            .detail(serde_json::to_value(checklist).unwrap_or_default());
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn start_chart(
        &self,
        id: i64,
        checks: &[needlepoint_domain::charting::Check],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let (status, patient_id, _) = Self::chart_for_change(&mut tx, id).await?;
        if status != "checklist" {
            return Err(StoreError::Conflict(
                "This session has already started.".into(),
            ));
        }
        sqlx::query("UPDATE charts SET status = 'in_progress', started_checks = $2, started_at = $3, started_by = $4 WHERE id = $1")
            .bind(id)
            .bind(json("started_checks", &checks)?)
            .bind(Ts(now))
            .bind(actor.staff_id)
            .execute(&mut *tx)
            .await?;
        Self::touch_chart(&mut tx, id, now).await?;
        let ev = AuditEvent::new("start", "chart", Some(id)).patient(patient_id);
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn save_zone(
        &self,
        id: i64,
        zone: &needlepoint_domain::charting::ZoneRecord,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        self.set_zones(
            id,
            |zones| {
                match zones.iter_mut().find(|z| z.zone == zone.zone) {
                    Some(z) => *z = zone.clone(),
                    None => zones.push(zone.clone()),
                }
                Ok(serde_json::to_value(zone).unwrap_or_default())
            },
            actor,
            now,
        )
        .await
    }

    async fn remove_zone(
        &self,
        id: i64,
        zone: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        self.set_zones(
            id,
            |zones| {
                let before = zones.len();
                zones.retain(|z| z.zone != zone);
                if zones.len() == before {
                    return Err(StoreError::NotFound);
                }
                Ok(serde_json::json!({ "removed": zone }))
            },
            actor,
            now,
        )
        .await
    }

    async fn add_chart_lot(
        &self,
        id: i64,
        lot_id: i64,
        quantity: i64,
        warning: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let (_, patient_id, _) = Self::chart_for_change(&mut tx, id).await?;
        let clinic_id: i64 = sqlx::query_scalar("SELECT clinic_id FROM charts WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let r = sqlx::query(
            "INSERT INTO chart_lots (chart_id, lot_id, patient_id, clinic_id, quantity, warning, used_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(lot_id)
        .bind(patient_id)
        .bind(clinic_id)
        .bind(quantity)
        .bind(warning)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .execute(&mut *tx)
        .await;
        if let Err(sqlx::Error::Database(d)) = &r {
            if d.is_unique_violation() {
                return Err(StoreError::Conflict(
                    "This lot is already recorded on the session.".into(),
                ));
            }
        }
        r?;
        Self::touch_chart(&mut tx, id, now).await?;
        let ev = AuditEvent::new("lot", "chart", Some(id))
            .patient(patient_id)
            .detail(
                serde_json::json!({ "lot_id": lot_id, "quantity": quantity, "warning": warning }),
            );
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn remove_chart_lot(
        &self,
        id: i64,
        lot_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let (_, patient_id, _) = Self::chart_for_change(&mut tx, id).await?;
        let n = sqlx::query("DELETE FROM chart_lots WHERE chart_id = $1 AND lot_id = $2")
            .bind(id)
            .bind(lot_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Self::touch_chart(&mut tx, id, now).await?;
        let ev = AuditEvent::new("lot_removed", "chart", Some(id))
            .patient(patient_id)
            .detail(serde_json::json!({ "lot_id": lot_id }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn sign_chart(
        &self,
        id: i64,
        expected_version: i64,
        needs_cosign: bool,
        messages: &[NewMessage],
        checkins: &[NewCheckin],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let (status, patient_id, _) = Self::chart_for_change(&mut tx, id).await?;
        if status != "in_progress" {
            return Err(StoreError::Conflict(
                "Start the session before signing it.".into(),
            ));
        }
        let n = sqlx::query(
            "UPDATE charts SET status = 'signed', signed_at = $3, signed_by = $4, needs_cosign = $5, \
             version = version + 1, updated_at = $3 WHERE id = $1 AND version = $2",
        )
        .bind(id)
        .bind(expected_version)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .bind(needs_cosign)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(
                "The session changed while you were signing; check it again and sign.".into(),
            ));
        }
        let used: Vec<(i64, i64)> =
            sqlx::query("SELECT lot_id, quantity FROM chart_lots WHERE chart_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("lot_id")?, r.try_get("quantity")?)))
                .collect::<Result<_>>()?;
        for (lot_id, q) in &used {
            Self::add_movement(&mut tx, *lot_id, -q, "used", Some(id), actor, now).await?;
        }
        // The session is done: its appointment completes with the
        // signature, in the same transaction, or neither happens.
        let appt = sqlx::query("SELECT a.id, a.status FROM appointments a JOIN charts c ON c.appointment_id = a.id WHERE c.id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let (appointment_id, before): (i64, String) =
            (appt.try_get("id")?, appt.try_get("status")?);
        let from = AppointmentStatus::parse(&before)
            .ok_or_else(|| decode_err("status", before.clone()))?;
        if from.next().contains(&AppointmentStatus::Completed) {
            sqlx::query("UPDATE appointments SET status = $2 WHERE id = $1")
                .bind(appointment_id)
                .bind(AppointmentStatus::Completed.as_str())
                .execute(&mut *tx)
                .await?;
            let ev = AuditEvent::new("status", "appointment", Some(appointment_id))
                .patient(patient_id)
                .detail(serde_json::json!({ "from": before, "to": AppointmentStatus::Completed.as_str(), "chart": id }));
            Self::audit(&mut tx, actor, &ev, now).await?;
        }
        let ev = AuditEvent::new("sign", "chart", Some(id))
            .patient(patient_id)
            .detail(
                serde_json::json!({ "version": expected_version, "needs_cosign": needs_cosign }),
            );
        Self::audit(&mut tx, actor, &ev, now).await?;
        Self::insert_messages(&mut tx, messages, now).await?;
        Self::insert_checkins(&mut tx, id, checkins).await?;
        // A course sold as a package pays for the session with one of its own.
        Self::draw_for_chart(&mut tx, id, patient_id, actor, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn cosign_chart(&self, id: i64, actor: &Actor, now: Timestamp) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let n = sqlx::query(
            "UPDATE charts SET cosigned_at = $2, cosigned_by = $3, version = version + 1 \
             WHERE id = $1 AND status = 'signed' AND needs_cosign = $4 AND cosigned_at IS NULL",
        )
        .bind(id)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .bind(true)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(
                "This session is not waiting for a second sign-off.".into(),
            ));
        }
        let patient_id: i64 = sqlx::query_scalar("SELECT patient_id FROM charts WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let ev = AuditEvent::new("cosign", "chart", Some(id)).patient(patient_id);
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn amend_chart(
        &self,
        id: i64,
        a: &needlepoint_domain::charting::AmendmentInput,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Chart> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query("SELECT status, patient_id FROM charts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if row.try_get::<String, _>("status")? != "signed" {
            return Err(StoreError::Conflict(
                "Until it is signed, correct the session itself.".into(),
            ));
        }
        let patient_id: i64 = row.try_get("patient_id")?;
        let zone = Some(a.zone.trim()).filter(|z| !z.is_empty());
        let aid: i64 = sqlx::query_scalar(
            "INSERT INTO chart_amendments (chart_id, zone, text, reason, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(id)
        .bind(zone)
        .bind(a.recorded_text())
        .bind(a.reason.trim())
        .bind(Ts(now))
        .bind(actor.staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let ev = AuditEvent::new("amend", "chart", Some(id))
            .patient(patient_id)
            .detail(
                serde_json::json!({ "amendment_id": aid, "zone": zone, "reason": a.reason.trim() }),
            );
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.chart(id).await
    }

    async fn add_photo(&self, p: &NewPhoto, actor: &Actor, now: Timestamp) -> Result<Photo> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO photos (clinic_id, patient_id, chart_id, view, sha256, width, height, bytes, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
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
        .bind(actor.staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let ev = AuditEvent::new("create", "photo", Some(id))
            .patient(p.patient_id)
            .detail(
                serde_json::json!({ "view": p.view, "chart_id": p.chart_id, "sha256": p.sha256 }),
            );
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        self.photo(id).await
    }

    async fn photo(&self, id: i64) -> Result<Photo> {
        let row = sqlx::query(&format!("SELECT {PHOTO_COLS} FROM photos WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Self::photo_from(&row)
    }

    async fn patient_photos(&self, patient_id: i64) -> Result<Vec<Photo>> {
        let rows = sqlx::query(&format!(
            "SELECT {PHOTO_COLS} FROM photos WHERE patient_id = $1 ORDER BY id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::photo_from).collect()
    }
}
