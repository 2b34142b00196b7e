// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.
// Money: invoices, credit notes, payments, refunds, packages, the till.
//
// Every money write first locks the patient's row (PostgreSQL; SQLite's
// BEGIN IMMEDIATE already lets one writer in at a time), so two payments,
// refunds or package draws for one patient never interleave their
// read-then-write; the clinic's number row serialises its numbering.

use needlepoint_domain::billing::{Line, Method, Totals};

const INVOICE_SELECT: &str = "SELECT i.id, i.clinic_id, i.patient_id, i.number, i.credit_note, \
     i.credits_invoice_id, i.reason, i.issued_on, i.issued_at, i.issued_by, i.currency, \
     i.tax_rate_bp, i.tax_included, i.lines, i.lines_minor, i.tax_minor, i.total_minor, \
     CAST(COALESCE((SELECT SUM(c.total_minor) FROM invoices c WHERE c.credits_invoice_id = i.id), 0) AS BIGINT) AS credited, \
     CAST(COALESCE((SELECT SUM(a.amount_minor) FROM allocations a WHERE a.invoice_id = i.id), 0) AS BIGINT) AS paid \
     FROM invoices i";

const PAYMENT_SELECT: &str = "SELECT p.id, p.clinic_id, p.patient_id, p.refund_of, p.method, \
     p.amount_minor, p.reference, p.deposit, p.package_id, p.received_on, p.received_at, p.received_by, \
     CAST(COALESCE((SELECT SUM(a.amount_minor) FROM allocations a WHERE a.payment_id = p.id), 0) AS BIGINT) AS allocated, \
     CAST(COALESCE((SELECT SUM(r.amount_minor) FROM payments r WHERE r.refund_of = p.id), 0) AS BIGINT) AS refunded \
     FROM payments p";

const PACKAGE_SELECT: &str = "SELECT k.id, k.clinic_id, k.patient_id, k.plan_id, k.sessions, \
     k.invoice_id, k.sold_at, k.closed_at, k.closed_reason, \
     (SELECT COUNT(*) FROM package_draws d WHERE d.package_id = k.id) AS used \
     FROM packages k";

const CASH_UP_COLS: &str =
    "id, clinic_id, day, expected_minor, counted_minor, note, recorded_at, recorded_by";

impl SqlStore<Db> {
    fn invoice_from(r: &DbRow) -> Result<Invoice> {
        let lines: String = r.try_get("lines")?;
        let rate: i64 = r.try_get("tax_rate_bp")?;
        Ok(Invoice {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            number: r.try_get("number")?,
            credit_note: r.try_get("credit_note")?,
            credits_invoice_id: r.try_get("credits_invoice_id")?,
            reason: r.try_get("reason")?,
            issued_on: r.try_get::<Day, _>("issued_on")?.0,
            issued_at: r.try_get::<Ts, _>("issued_at")?.0,
            issued_by: r.try_get("issued_by")?,
            currency: r.try_get("currency")?,
            tax_rate_bp: u32::try_from(rate).map_err(|e| decode_err("tax_rate_bp", e))?,
            tax_included: r.try_get("tax_included")?,
            lines: serde_json::from_str::<Vec<Line>>(&lines).map_err(|e| decode_err("lines", e))?,
            totals: Totals {
                lines: r.try_get("lines_minor")?,
                tax: r.try_get("tax_minor")?,
                total: r.try_get("total_minor")?,
            },
            credited_minor: r.try_get("credited")?,
            paid_minor: r.try_get("paid")?,
        })
    }

    fn payment_from(r: &DbRow) -> Result<Payment> {
        let method: String = r.try_get("method")?;
        Ok(Payment {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            refund_of: r.try_get("refund_of")?,
            method: Method::parse(&method).ok_or_else(|| decode_err("method", &method))?,
            amount_minor: r.try_get("amount_minor")?,
            reference: r.try_get("reference")?,
            deposit: r.try_get("deposit")?,
            package_id: r.try_get("package_id")?,
            received_on: r.try_get::<Day, _>("received_on")?.0,
            received_at: r.try_get::<Ts, _>("received_at")?.0,
            received_by: r.try_get("received_by")?,
            allocated_minor: r.try_get("allocated")?,
            refunded_minor: r.try_get("refunded")?,
        })
    }

    fn package_from(r: &DbRow) -> Result<Package> {
        let sessions: i64 = r.try_get("sessions")?;
        let used: i64 = r.try_get("used")?;
        Ok(Package {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            patient_id: r.try_get("patient_id")?,
            plan_id: r.try_get("plan_id")?,
            sessions: u32::try_from(sessions).map_err(|e| decode_err("sessions", e))?,
            used: u32::try_from(used).map_err(|e| decode_err("used", e))?,
            invoice_id: r.try_get("invoice_id")?,
            sold_at: r.try_get::<Ts, _>("sold_at")?.0,
            closed_at: r.try_get::<Option<Ts>, _>("closed_at")?.map(|t| t.0),
            closed_reason: r.try_get("closed_reason")?,
        })
    }

    fn cash_up_from(r: &DbRow) -> Result<CashUp> {
        Ok(CashUp {
            id: r.try_get("id")?,
            clinic_id: r.try_get("clinic_id")?,
            day: r.try_get::<Day, _>("day")?.0,
            expected_minor: r.try_get("expected_minor")?,
            counted_minor: r.try_get("counted_minor")?,
            note: r.try_get("note")?,
            recorded_at: r.try_get::<Ts, _>("recorded_at")?.0,
            recorded_by: r.try_get("recorded_by")?,
        })
    }

    /// Holds the patient's row until the transaction ends (PostgreSQL), so
    /// money writes for one patient take turns.
    async fn lock_patient(conn: &mut Conn, patient_id: i64) -> Result<Patient> {
        if BACKEND == Backend::Postgres {
            sqlx::query("SELECT id FROM patients WHERE id = $1 FOR UPDATE")
                .bind(patient_id)
                .execute(&mut *conn)
                .await?;
        }
        Self::patient_in(conn, patient_id).await
    }

    async fn invoice_in(conn: &mut Conn, id: i64) -> Result<Invoice> {
        let row = sqlx::query(&format!("{INVOICE_SELECT} WHERE i.id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        Self::invoice_from(&row)
    }

    async fn payment_in(conn: &mut Conn, id: i64) -> Result<Payment> {
        let row = sqlx::query(&format!("{PAYMENT_SELECT} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        Self::payment_from(&row)
    }

    async fn package_in(conn: &mut Conn, id: i64) -> Result<Package> {
        let row = sqlx::query(&format!("{PACKAGE_SELECT} WHERE k.id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        Self::package_from(&row)
    }

    async fn allocate(
        conn: &mut Conn,
        payment_id: i64,
        invoice_id: i64,
        amount: i64,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO allocations (payment_id, invoice_id, amount_minor, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(payment_id)
        .bind(invoice_id)
        .bind(amount)
        .bind(Ts(now))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Issues inside a transaction that holds the patient's lock.
    async fn issue_in(
        conn: &mut Conn,
        new: &NewInvoice,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Invoice> {
        let p = Self::patient_in(conn, new.patient_id).await?;
        if p.clinic_id != new.clinic_id {
            return Err(StoreError::Conflict(
                "That patient is another clinic's.".into(),
            ));
        }
        // The number first: on PostgreSQL its row lock makes the clinic's
        // issues take turns, so the checks below see every earlier issue.
        let number: i64 = sqlx::query_scalar(
            "INSERT INTO invoice_numbers (clinic_id, last_number) VALUES ($1, 1) \
             ON CONFLICT (clinic_id) DO UPDATE SET last_number = invoice_numbers.last_number + 1 \
             RETURNING last_number",
        )
        .bind(new.clinic_id)
        .fetch_one(&mut *conn)
        .await?;
        let lines = serde_json::to_string(&new.lines).map_err(|e| decode_err("lines", e))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (clinic_id, patient_id, number, credit_note, credits_invoice_id, reason, \
             issued_on, issued_at, issued_by, currency, tax_rate_bp, tax_included, lines, lines_minor, tax_minor, total_minor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(new.clinic_id)
        .bind(new.patient_id)
        .bind(number)
        .bind(new.credits.is_some())
        .bind(new.credits.as_ref().map(|c| c.0))
        .bind(new.credits.as_ref().map(|c| c.1.clone()))
        .bind(Day(new.issued_on))
        .bind(Ts(now))
        .bind(actor.staff_id)
        .bind(&new.currency)
        .bind(i64::from(new.tax_rate_bp))
        .bind(new.tax_included)
        .bind(lines)
        .bind(new.totals.lines)
        .bind(new.totals.tax)
        .bind(new.totals.total)
        .fetch_one(&mut *conn)
        .await?;
        for l in &new.lines {
            if let Some(source) = &l.source {
                sqlx::query(
                    "INSERT INTO billed_sources (clinic_id, source, invoice_id) VALUES ($1, $2, $3)",
                )
                .bind(new.clinic_id)
                .bind(source)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(|e| {
                    conflict(
                        e,
                        &format!("“{}” is on an invoice already.", l.label),
                    )
                })?;
            }
        }
        if let Some((target_id, _)) = &new.credits {
            let target = Self::invoice_in(conn, *target_id).await?;
            if target.clinic_id != new.clinic_id || target.patient_id != new.patient_id {
                return Err(StoreError::Conflict(
                    "A credit note credits an invoice of the same patient.".into(),
                ));
            }
            if target.credit_note {
                return Err(StoreError::Conflict(
                    "A credit note credits an invoice, not another credit note.".into(),
                ));
            }
            // `credited` now counts this note too.
            let creditable = target.totals.total - target.credited_minor;
            if creditable < 0 {
                return Err(StoreError::Conflict(
                    "That is more than is left to credit on the invoice.".into(),
                ));
            }
            // Money set against the invoice beyond what it now asks goes
            // back on account, newest payment first.
            let mut excess = target.paid_minor - creditable;
            if excess > 0 {
                let rows = sqlx::query(
                    "SELECT payment_id, CAST(SUM(amount_minor) AS BIGINT) AS s FROM allocations \
                     WHERE invoice_id = $1 GROUP BY payment_id ORDER BY payment_id DESC",
                )
                .bind(target.id)
                .fetch_all(&mut *conn)
                .await?;
                for r in rows {
                    let (pid, s): (i64, i64) = (r.try_get("payment_id")?, r.try_get("s")?);
                    let back = s.min(excess);
                    if back > 0 {
                        Self::allocate(conn, pid, target.id, -back, now).await?;
                        excess -= back;
                    }
                }
            }
        }
        if let Some((plan_id, sessions)) = new.package {
            let plan_patient: Option<i64> =
                sqlx::query_scalar("SELECT patient_id FROM plans WHERE id = $1")
                    .bind(plan_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if plan_patient != Some(new.patient_id) {
                return Err(StoreError::Conflict(
                    "That plan is not this patient's.".into(),
                ));
            }
            sqlx::query(
                "INSERT INTO packages (clinic_id, patient_id, plan_id, sessions, invoice_id, sold_at, sold_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new.clinic_id)
            .bind(new.patient_id)
            .bind(plan_id)
            .bind(i64::from(sessions))
            .bind(id)
            .bind(Ts(now))
            .bind(actor.staff_id)
            .execute(&mut *conn)
            .await
            .map_err(|e| conflict(e, "This plan's course is sold as a package already."))?;
        }
        for pid in &new.settle_from {
            let pay = Self::payment_in(conn, *pid).await?;
            let due = Self::invoice_in(conn, id).await?.due_minor();
            let take = pay.free_minor().min(due);
            if pay.patient_id == new.patient_id && take > 0 {
                Self::allocate(conn, pay.id, id, take, now).await?;
            }
        }
        let inv = Self::invoice_in(conn, id).await?;
        let ev = AuditEvent::new(
            if inv.credit_note { "credit" } else { "issue" },
            "invoice",
            Some(id),
        )
        .patient(new.patient_id)
        .detail(json!({
            "number": inv.label(),
            "total_minor": inv.totals.total,
            "credits": new.credits.as_ref().map(|c| c.0),
            "package": new.package.map(|p| p.0),
        }));
        Self::audit(conn, actor, &ev, now).await?;
        Ok(inv)
    }

    async fn insert_payment(
        conn: &mut Conn,
        p: &NewPayment,
        refund_of: Option<i64>,
        package_id: Option<i64>,
        actor: &Actor,
        now: Timestamp,
    ) -> std::result::Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO payments (clinic_id, patient_id, refund_of, method, amount_minor, reference, deposit, \
             package_id, provider_event, received_on, received_at, received_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(p.clinic_id)
        .bind(p.patient_id)
        .bind(refund_of)
        .bind(p.method.as_str())
        .bind(p.amount_minor)
        .bind(&p.reference)
        .bind(p.deposit)
        .bind(package_id)
        .bind(&p.provider_event)
        .bind(Day(p.received_on))
        .bind(Ts(now))
        .bind(actor.staff_id)
        .fetch_one(&mut *conn)
        .await
    }

    /// At a signature: draws the session from its plan's open package, if
    /// there is one with a session left (inside the signing transaction).
    pub(super) async fn draw_for_chart(
        conn: &mut Conn,
        chart_id: i64,
        patient_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        Self::lock_patient(conn, patient_id).await?;
        let row = sqlx::query(&format!(
            "{PACKAGE_SELECT} JOIN appointments a ON a.plan_id = k.plan_id \
             JOIN charts c ON c.appointment_id = a.id WHERE c.id = $1 AND k.closed_at IS NULL"
        ))
        .bind(chart_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(k) = row.map(|r| Self::package_from(&r)).transpose()? else {
            return Ok(());
        };
        if k.left() == 0 {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO package_draws (package_id, seq, chart_id, drawn_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(k.id)
        .bind(i64::from(k.used + 1))
        .bind(chart_id)
        .bind(Ts(now))
        .execute(&mut *conn)
        .await?;
        let ev = AuditEvent::new("draw", "package", Some(k.id))
            .patient(patient_id)
            .detail(json!({ "chart": chart_id, "session": k.used + 1, "of": k.sessions }));
        Self::audit(conn, actor, &ev, now).await
    }
}

#[async_trait]
impl BillingRecords for SqlStore<Db> {
    async fn billing_settings(&self, clinic_id: i64) -> Result<BillingSettings> {
        let row = sqlx::query(
            "SELECT tax_number, deposit_minor, fee_from_deposit, package_keep_bp FROM billing_settings WHERE clinic_id = $1",
        )
        .bind(clinic_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(BillingSettings {
                fee_from_deposit: true,
                ..Default::default()
            });
        };
        let keep: i64 = r.try_get("package_keep_bp")?;
        Ok(BillingSettings {
            tax_number: r.try_get("tax_number")?,
            deposit_minor: r.try_get("deposit_minor")?,
            fee_from_deposit: r.try_get("fee_from_deposit")?,
            package_keep_bp: u32::try_from(keep).map_err(|e| decode_err("package_keep_bp", e))?,
        })
    }

    async fn set_billing_settings(
        &self,
        clinic_id: i64,
        s: &BillingSettings,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        sqlx::query(
            "INSERT INTO billing_settings (clinic_id, tax_number, deposit_minor, fee_from_deposit, package_keep_bp, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (clinic_id) DO UPDATE SET tax_number = $2, \
             deposit_minor = $3, fee_from_deposit = $4, package_keep_bp = $5, updated_at = $6, updated_by = $7",
        )
        .bind(clinic_id)
        .bind(&s.tax_number)
        .bind(s.deposit_minor)
        .bind(s.fee_from_deposit)
        .bind(i64::from(s.package_keep_bp))
        .bind(Ts(now))
        .bind(actor.staff_id)
        .execute(&mut *tx)
        .await?;
        let ev = AuditEvent::new("update", "billing_settings", Some(clinic_id))
            .detail(serde_json::to_value(s).unwrap_or_default());
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn issue_invoice(
        &self,
        new: &NewInvoice,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Invoice> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        Self::lock_patient(&mut tx, new.patient_id).await?;
        let inv = Self::issue_in(&mut tx, new, actor, now).await?;
        tx.commit().await?;
        Ok(inv)
    }

    async fn invoice(&self, id: i64) -> Result<Invoice> {
        let mut conn = self.pool.acquire().await?;
        Self::invoice_in(&mut conn, id).await
    }

    async fn record_payment(
        &self,
        new: &NewPayment,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Payment> {
        if new.amount_minor <= 0 {
            return Err(StoreError::Conflict(
                "A payment is more than nothing.".into(),
            ));
        }
        if let Some(ev) = &new.provider_event {
            let seen: Option<i64> =
                sqlx::query_scalar("SELECT id FROM payments WHERE provider_event = $1")
                    .bind(ev)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(id) = seen {
                return self.payment(id).await;
            }
        }
        let mut tx = self.pool.begin_with(self.begin).await?;
        let p = Self::lock_patient(&mut tx, new.patient_id).await?;
        if p.clinic_id != new.clinic_id {
            return Err(StoreError::Conflict(
                "That patient is another clinic's.".into(),
            ));
        }
        let invoice = match new.invoice_id {
            Some(i) => {
                let inv = Self::invoice_in(&mut tx, i).await?;
                if inv.clinic_id != new.clinic_id || inv.patient_id != new.patient_id {
                    return Err(StoreError::Conflict(
                        "That invoice is not this patient's at this clinic.".into(),
                    ));
                }
                if inv.credit_note {
                    return Err(StoreError::Conflict(
                        "A credit note is not paid; it is refunded.".into(),
                    ));
                }
                Some(inv)
            }
            None => None,
        };
        let id = match Self::insert_payment(&mut tx, new, None, None, actor, now).await {
            Ok(id) => id,
            // The same provider event delivered twice at once: the other
            // delivery recorded it.
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                drop(tx);
                let ev = new.provider_event.as_deref().unwrap_or_default();
                let id: i64 =
                    sqlx::query_scalar("SELECT id FROM payments WHERE provider_event = $1")
                        .bind(ev)
                        .fetch_one(&self.pool)
                        .await?;
                return self.payment(id).await;
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(inv) = &invoice {
            let take = new.amount_minor.min(inv.due_minor());
            if take > 0 {
                Self::allocate(&mut tx, id, inv.id, take, now).await?;
            }
        }
        let ev = AuditEvent::new("pay", "payment", Some(id))
            .patient(new.patient_id)
            .detail(json!({
                "method": new.method.as_str(),
                "amount_minor": new.amount_minor,
                "invoice": new.invoice_id,
                "deposit": new.deposit,
                "provider_event": new.provider_event,
            }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let pay = Self::payment_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(pay)
    }

    async fn pay_with_package(
        &self,
        invoice_id: i64,
        package_id: i64,
        on: jiff::civil::Date,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Payment> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let k = Self::package_in(&mut tx, package_id).await?;
        Self::lock_patient(&mut tx, k.patient_id).await?;
        // Read again under the lock: a racing draw has committed by now.
        let k = Self::package_in(&mut tx, package_id).await?;
        let inv = Self::invoice_in(&mut tx, invoice_id).await?;
        if inv.patient_id != k.patient_id || inv.clinic_id != k.clinic_id || inv.credit_note {
            return Err(StoreError::Conflict(
                "The package and the invoice must be the same patient's.".into(),
            ));
        }
        if k.closed_at.is_some() {
            return Err(StoreError::Conflict("That package is closed.".into()));
        }
        let sells_a_package: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM packages WHERE invoice_id = $1)")
                .bind(invoice_id)
                .fetch_one(&mut *tx)
                .await?;
        if sells_a_package {
            return Err(StoreError::Conflict(
                "A package is paid with money, not with its own sessions.".into(),
            ));
        }
        if k.left() == 0 {
            return Err(StoreError::Conflict(
                "No sessions are left in that package.".into(),
            ));
        }
        let due = inv.due_minor();
        if due <= 0 {
            return Err(StoreError::Conflict(
                "Nothing is due on that invoice.".into(),
            ));
        }
        let new = NewPayment {
            clinic_id: k.clinic_id,
            patient_id: k.patient_id,
            method: Method::Package,
            amount_minor: due,
            reference: None,
            deposit: false,
            invoice_id: Some(invoice_id),
            received_on: on,
            provider_event: None,
        };
        let id = Self::insert_payment(&mut tx, &new, None, Some(k.id), actor, now).await?;
        sqlx::query(
            "INSERT INTO package_draws (package_id, seq, payment_id, drawn_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(k.id)
        .bind(i64::from(k.used + 1))
        .bind(id)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "No sessions are left in that package."))?;
        Self::allocate(&mut tx, id, invoice_id, due, now).await?;
        let ev = AuditEvent::new("pay", "payment", Some(id))
            .patient(k.patient_id)
            .detail(json!({ "method": "package", "package": k.id, "session": k.used + 1, "invoice": invoice_id, "amount_minor": due }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let pay = Self::payment_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(pay)
    }

    async fn refund(
        &self,
        payment_id: i64,
        amount_minor: i64,
        reference: Option<&str>,
        on: jiff::civil::Date,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Payment> {
        if amount_minor <= 0 {
            return Err(StoreError::Conflict(
                "A refund is more than nothing.".into(),
            ));
        }
        let mut tx = self.pool.begin_with(self.begin).await?;
        let first = Self::payment_in(&mut tx, payment_id).await?;
        Self::lock_patient(&mut tx, first.patient_id).await?;
        let p = Self::payment_in(&mut tx, payment_id).await?;
        if p.refund_of.is_some() {
            return Err(StoreError::Conflict("A refund is not refunded.".into()));
        }
        if p.method == Method::Package {
            return Err(StoreError::Conflict(
                "Package credit goes back with a credit note on the invoice it paid.".into(),
            ));
        }
        if amount_minor > p.free_minor() {
            return Err(StoreError::Conflict(
                "That is more than can be refunded of this payment: money set against an invoice is freed by a credit note first.".into(),
            ));
        }
        let new = NewPayment {
            clinic_id: p.clinic_id,
            patient_id: p.patient_id,
            method: p.method,
            amount_minor,
            reference: reference.map(str::to_string),
            deposit: false,
            invoice_id: None,
            received_on: on,
            provider_event: None,
        };
        let id = Self::insert_payment(&mut tx, &new, Some(p.id), None, actor, now).await?;
        let ev = AuditEvent::new("refund", "payment", Some(id))
            .patient(p.patient_id)
            .detail(
                json!({ "of": p.id, "method": p.method.as_str(), "amount_minor": amount_minor }),
            );
        Self::audit(&mut tx, actor, &ev, now).await?;
        let r = Self::payment_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(r)
    }

    async fn settle_from(
        &self,
        invoice_id: i64,
        payment_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<i64> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let first = Self::invoice_in(&mut tx, invoice_id).await?;
        Self::lock_patient(&mut tx, first.patient_id).await?;
        let inv = Self::invoice_in(&mut tx, invoice_id).await?;
        let p = Self::payment_in(&mut tx, payment_id).await?;
        if p.patient_id != inv.patient_id || p.clinic_id != inv.clinic_id || inv.credit_note {
            return Err(StoreError::Conflict(
                "The payment and the invoice must be the same patient's.".into(),
            ));
        }
        let take = p.free_minor().min(inv.due_minor());
        if take <= 0 {
            return Err(StoreError::Conflict(
                "Nothing to settle: the invoice is paid or the payment has nothing left.".into(),
            ));
        }
        Self::allocate(&mut tx, p.id, inv.id, take, now).await?;
        let ev = AuditEvent::new("settle", "invoice", Some(inv.id))
            .patient(inv.patient_id)
            .detail(json!({ "payment": p.id, "amount_minor": take }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(take)
    }

    async fn payment(&self, id: i64) -> Result<Payment> {
        let mut conn = self.pool.acquire().await?;
        Self::payment_in(&mut conn, id).await
    }

    async fn close_package(
        &self,
        package_id: i64,
        reason: &str,
        credit: Option<&NewInvoice>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Package> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let k = Self::package_in(&mut tx, package_id).await?;
        Self::lock_patient(&mut tx, k.patient_id).await?;
        let n = sqlx::query(
            "UPDATE packages SET closed_at = $2, closed_reason = $3 WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(package_id)
        .bind(Ts(now))
        .bind(reason)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(
                "That package is closed already.".into(),
            ));
        }
        let credited = match credit {
            Some(c) => Some(Self::issue_in(&mut tx, c, actor, now).await?.id),
            None => None,
        };
        let ev = AuditEvent::new("close", "package", Some(package_id))
            .patient(k.patient_id)
            .detail(json!({ "reason": reason, "unused": k.left(), "credit_note": credited }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        let k = Self::package_in(&mut tx, package_id).await?;
        tx.commit().await?;
        Ok(k)
    }

    async fn package(&self, id: i64) -> Result<Package> {
        let mut conn = self.pool.acquire().await?;
        Self::package_in(&mut conn, id).await
    }

    async fn patient_account(&self, patient_id: i64) -> Result<PatientAccount> {
        let invoices = sqlx::query(&format!(
            "{INVOICE_SELECT} WHERE i.patient_id = $1 ORDER BY i.id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::invoice_from)
        .collect::<Result<Vec<_>>>()?;
        let payments = sqlx::query(&format!(
            "{PAYMENT_SELECT} WHERE p.patient_id = $1 ORDER BY p.id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::payment_from)
        .collect::<Result<Vec<_>>>()?;
        let packages = sqlx::query(&format!(
            "{PACKAGE_SELECT} WHERE k.patient_id = $1 ORDER BY k.id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::package_from)
        .collect::<Result<Vec<_>>>()?;
        let balance_minor = payments
            .iter()
            .map(|p| {
                if p.refund_of.is_some() {
                    -p.amount_minor
                } else {
                    p.amount_minor
                }
            })
            .sum::<i64>()
            - invoices
                .iter()
                .map(|i| {
                    if i.credit_note {
                        -i.totals.total
                    } else {
                        i.totals.total
                    }
                })
                .sum::<i64>();
        Ok(PatientAccount {
            invoices,
            payments,
            packages,
            balance_minor,
        })
    }

    async fn unbilled(&self, patient_id: i64) -> Result<Vec<Unbilled>> {
        let mut out = vec![];
        let sessions = sqlx::query(
            "SELECT c.id AS chart_id, a.id AS appointment_id, a.plan_id, a.areas, a.starts_at \
             FROM charts c JOIN appointments a ON a.id = c.appointment_id \
             WHERE a.patient_id = $1 AND c.status = 'signed' \
             AND NOT EXISTS (SELECT 1 FROM package_draws d WHERE d.chart_id = c.id) \
             AND NOT EXISTS (SELECT 1 FROM billed_sources b WHERE b.clinic_id = a.clinic_id AND b.source = 'chart:' || c.id) \
             ORDER BY a.starts_at",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        for r in sessions {
            let areas: Option<String> = r.try_get("areas")?;
            out.push(Unbilled::Session {
                chart_id: r.try_get("chart_id")?,
                appointment_id: r.try_get("appointment_id")?,
                plan_id: r.try_get("plan_id")?,
                areas: areas
                    .map(|t| serde_json::from_str(&t).map_err(|e| decode_err("areas", e)))
                    .transpose()?,
                starts_at: r.try_get::<Ts, _>("starts_at")?.0,
            });
        }
        let fees = sqlx::query(
            "SELECT a.id, a.status, a.fee_minor, a.starts_at FROM appointments a \
             WHERE a.patient_id = $1 AND a.fee_minor > 0 \
             AND NOT EXISTS (SELECT 1 FROM billed_sources b WHERE b.clinic_id = a.clinic_id AND b.source = 'fee:' || a.id) \
             ORDER BY a.starts_at",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        for r in fees {
            out.push(Unbilled::Fee {
                appointment_id: r.try_get("id")?,
                status: r.try_get("status")?,
                fee_minor: r.try_get("fee_minor")?,
                starts_at: r.try_get::<Ts, _>("starts_at")?.0,
            });
        }
        Ok(out)
    }

    async fn clinic_payments(
        &self,
        clinic_id: i64,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<Payment>> {
        sqlx::query(&format!(
            "{PAYMENT_SELECT} WHERE p.clinic_id = $1 AND p.received_on >= $2 AND p.received_on <= $3 \
             ORDER BY p.received_at, p.id"
        ))
        .bind(clinic_id)
        .bind(Day(from))
        .bind(Day(to))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::payment_from)
        .collect()
    }

    async fn clinic_balances(
        &self,
        clinic_id: i64,
    ) -> Result<Vec<(i64, Vec<(jiff::civil::Date, i64)>, i64)>> {
        let mut by: std::collections::BTreeMap<i64, (Vec<(jiff::civil::Date, i64)>, i64)> =
            Default::default();
        let rows = sqlx::query(
            "SELECT i.patient_id, i.issued_on, i.total_minor - \
             CAST(COALESCE((SELECT SUM(c.total_minor) FROM invoices c WHERE c.credits_invoice_id = i.id), 0) AS BIGINT) AS owed \
             FROM invoices i WHERE i.clinic_id = $1 AND NOT i.credit_note",
        )
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            by.entry(r.try_get("patient_id")?)
                .or_default()
                .0
                .push((r.try_get::<Day, _>("issued_on")?.0, r.try_get("owed")?));
        }
        let rows = sqlx::query(
            "SELECT patient_id, CAST(SUM(CASE WHEN refund_of IS NULL THEN amount_minor ELSE -amount_minor END) AS BIGINT) AS paid \
             FROM payments WHERE clinic_id = $1 GROUP BY patient_id",
        )
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            by.entry(r.try_get("patient_id")?).or_default().1 = r.try_get("paid")?;
        }
        Ok(by.into_iter().map(|(p, (i, paid))| (p, i, paid)).collect())
    }

    async fn record_cash_up(
        &self,
        clinic_id: i64,
        day: jiff::civil::Date,
        expected_minor: i64,
        counted_minor: i64,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<CashUp> {
        let mut tx = self.pool.begin_with(self.begin).await?;
        let row = sqlx::query(&format!(
            "INSERT INTO cash_ups (clinic_id, day, expected_minor, counted_minor, note, recorded_at, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {CASH_UP_COLS}"
        ))
        .bind(clinic_id)
        .bind(Day(day))
        .bind(expected_minor)
        .bind(counted_minor)
        .bind(note)
        .bind(Ts(now))
        .bind(actor.staff_id)
        .fetch_one(&mut *tx)
        .await?;
        let c = Self::cash_up_from(&row)?;
        let ev = AuditEvent::new("cash_up", "clinic", Some(clinic_id)).detail(json!({
            "day": day.to_string(),
            "expected_minor": expected_minor,
            "counted_minor": counted_minor,
        }));
        Self::audit(&mut tx, actor, &ev, now).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn cash_ups(&self, clinic_id: i64, day: jiff::civil::Date) -> Result<Vec<CashUp>> {
        sqlx::query(&format!(
            "SELECT {CASH_UP_COLS} FROM cash_ups WHERE clinic_id = $1 AND day = $2 ORDER BY id"
        ))
        .bind(clinic_id)
        .bind(Day(day))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(Self::cash_up_from)
        .collect()
    }
}
