//! Billing: what was done becomes invoice lines (signed sessions priced
//! from the plan's accepted quote, fees already recorded), money is taken
//! and given back, a plan's course is sold as a package, and the day's
//! takings are counted. The rules live here once, for pages, API and tests;
//! the store keeps every entry and sums them.

use crate::{access, Actor, Context, Error, Result};
use jiff::civil::Date;
use needlepoint_domain::billing::{self, LineInput, Method};
use needlepoint_domain::clinic::{format_money, parse_amount};
use needlepoint_domain::plan::PlanStatus;
use needlepoint_domain::{FieldError, Invalid};
use needlepoint_store::{
    BillingSettings, Invoice, NewInvoice, NewPayment, Package, Patient, PatientAccount, Payment,
    Unbilled,
};

/// An amount typed by a person: more than nothing, at most two decimals.
pub fn parse_money(field: &str, text: &str) -> Result<i64, FieldError> {
    if text.trim().starts_with('-') {
        return Err(FieldError::new(field, "An amount cannot be negative."));
    }
    let v = parse_amount(field, text).map_err(|e| {
        if text.trim().is_empty() {
            e
        } else {
            FieldError::new(
                field,
                "Enter an amount like 40 or 40.50 (at most two decimals).",
            )
        }
    })?;
    if v == 0 {
        return Err(FieldError::new(field, "Enter an amount more than 0."));
    }
    Ok(v)
}

/// A patient's account, for staff of her clinic.
pub async fn account(
    cx: &Context,
    actor: &Actor,
    patient_id: i64,
) -> Result<(Patient, PatientAccount)> {
    let p = access::patient(cx, actor, patient_id).await?;
    Ok((p.clone(), cx.store.patient_account(p.id).await?))
}

/// One thing not yet billed, priced, with the source key that stops it
/// being billed twice.
#[derive(Debug, Clone)]
pub struct Billable {
    pub line: LineInput,
    pub when: jiff::Timestamp,
    /// A fee (a deposit may pay it, by the clinic's rule).
    pub is_fee: bool,
}

/// What the patient has had and not paid for by package or invoice.
pub async fn billable(cx: &Context, p: &Patient) -> Result<Vec<Billable>> {
    let zone = cx.store.clinic(p.clinic_id).await?.details.time_zone;
    let day = |t: jiff::Timestamp| {
        let tz = jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC);
        needlepoint_domain::dates::long_date(t.to_zoned(tz).date())
    };
    let mut out = vec![];
    for u in cx.store.unbilled(p.id).await? {
        match u {
            Unbilled::Session {
                chart_id,
                plan_id,
                areas,
                starts_at,
                ..
            } => {
                let Some(plan_id) = plan_id else { continue };
                let plan = cx.store.plan(plan_id).await?;
                let Some(quote) = plan.quote else { continue };
                // The session's price: each track it treats, at the
                // accepted quote's price per session.
                let unit: i64 = quote
                    .tracks
                    .iter()
                    .filter(|t| {
                        areas
                            .as_ref()
                            .is_none_or(|a| t.areas.iter().any(|x| a.contains(x)))
                    })
                    .map(|t| t.per_session)
                    .sum();
                out.push(Billable {
                    line: LineInput {
                        label: format!("Microneedling session, {}", day(starts_at)),
                        quantity: 1,
                        unit_minor: unit,
                        source: Some(format!("chart:{chart_id}")),
                    },
                    when: starts_at,
                    is_fee: false,
                });
            }
            Unbilled::Fee {
                appointment_id,
                status,
                fee_minor,
                starts_at,
            } => {
                let what = match status.as_str() {
                    "cancelled" => "Late cancellation fee",
                    "no_show" => "Missed appointment fee",
                    _ => "Late change fee",
                };
                out.push(Billable {
                    line: LineInput {
                        label: format!("{what}, appointment of {}", day(starts_at)),
                        quantity: 1,
                        unit_minor: fee_minor,
                        source: Some(format!("fee:{appointment_id}")),
                    },
                    when: starts_at,
                    is_fee: true,
                });
            }
        }
    }
    Ok(out)
}

/// A line typed at the desk (a product over the counter, an add-on).
#[derive(Debug, Clone, Default)]
pub struct DeskLine {
    pub label: String,
    pub quantity: String,
    pub unit: String,
}

/// Issues an invoice for the chosen unbilled items (by source key) and the
/// lines typed at the desk. A fee is paid from a deposit on account when
/// the clinic's rule says so.
pub async fn invoice(
    cx: &Context,
    actor: &Actor,
    patient_id: i64,
    sources: &[String],
    desk: &[DeskLine],
) -> Result<Invoice> {
    let p = access::patient(cx, actor, patient_id).await?;
    invoice_for(cx, &actor.audit, &p, sources, desk).await
}

async fn invoice_for(
    cx: &Context,
    who: &needlepoint_store::Actor,
    p: &Patient,
    sources: &[String],
    desk: &[DeskLine],
) -> Result<Invoice> {
    let items = billable(cx, p).await?;
    let mut inv = Invalid::default();
    let mut lines = vec![];
    let mut has_fee = false;
    for s in sources {
        match items
            .iter()
            .find(|b| b.line.source.as_deref() == Some(s.as_str()))
        {
            Some(b) => {
                has_fee |= b.is_fee;
                lines.push(b.line.clone());
            }
            None => inv.push(
                "items",
                "That item is invoiced already or is not this patient's.",
            ),
        }
    }
    for (i, d) in desk.iter().enumerate() {
        if d.label.trim().is_empty() && d.unit.trim().is_empty() {
            continue;
        }
        let q = d.quantity.trim();
        let quantity = if q.is_empty() {
            Some(1)
        } else {
            match q.parse::<u32>() {
                Ok(n) if (1..=999).contains(&n) => Some(n),
                _ => {
                    inv.push(
                        format!("lines.{i}.quantity"),
                        "A quantity is a whole number from 1 to 999.",
                    );
                    None
                }
            }
        };
        if d.label.trim().is_empty() {
            inv.push(format!("lines.{i}.label"), "Say what the line is for.");
        } else if d.label.trim().chars().count() > 200 {
            inv.push(
                format!("lines.{i}.label"),
                "A line's description is at most 200 characters.",
            );
        }
        let unit = inv.check(parse_money(&format!("lines.{i}.unit"), &d.unit));
        if let (Some(quantity), Some(unit)) = (quantity, unit) {
            lines.push(LineInput {
                label: d.label.trim().to_string(),
                quantity,
                unit_minor: unit,
                source: None,
            });
        }
    }
    if lines.is_empty() && inv.is_empty() {
        inv.push("items", "Choose something to invoice, or type a line.");
    }
    inv.into_result()?;
    let settings = cx.store.billing_settings(p.clinic_id).await?;
    let settle_from = if has_fee && settings.fee_from_deposit {
        deposits_on_account(cx, p.id).await?
    } else {
        vec![]
    };
    issue(cx, who, p, lines, None, None, settle_from).await
}

/// Payments on account that were taken as deposits, oldest first.
async fn deposits_on_account(cx: &Context, patient_id: i64) -> Result<Vec<i64>> {
    Ok(cx
        .store
        .patient_account(patient_id)
        .await?
        .payments
        .iter()
        .filter(|p| p.deposit && p.free_minor() > 0)
        .map(|p| p.id)
        .collect())
}

async fn issue(
    cx: &Context,
    who: &needlepoint_store::Actor,
    p: &Patient,
    lines: Vec<LineInput>,
    credits: Option<(i64, String)>,
    package: Option<(i64, u32)>,
    settle_from: Vec<i64>,
) -> Result<Invoice> {
    let pricing = cx.store.clinic_pricing(p.clinic_id).await?;
    let (lines, totals) = billing::price_lines(&lines, pricing.tax_rate_bp, pricing.tax_included)?;
    let new = NewInvoice {
        clinic_id: p.clinic_id,
        patient_id: p.id,
        issued_on: cx.clinic_today(p.clinic_id).await?,
        currency: pricing.currency,
        tax_rate_bp: pricing.tax_rate_bp,
        tax_included: pricing.tax_included,
        lines,
        totals,
        credits,
        package,
        settle_from,
    };
    Ok(cx.store.issue_invoice(&new, who, cx.now()).await?)
}

/// Sells an accepted plan's course as a package: one invoice for the
/// quote's course (with its package discount), and a package of the
/// course's sessions that each signed session draws from.
pub async fn sell_package(cx: &Context, actor: &Actor, plan_id: i64) -> Result<Invoice> {
    let plan = cx.store.plan(plan_id).await?;
    let p = access::patient(cx, actor, plan.patient_id).await?;
    if !matches!(plan.status, PlanStatus::Accepted | PlanStatus::InProgress) {
        return Err(Error::refused(
            "Only an accepted plan's course can be sold as a package.",
        ));
    }
    let Some(quote) = plan.quote else {
        return Err(Error::refused("The plan has no accepted quote to sell."));
    };
    let course = quote.tracks.iter().map(|t| t.sessions).max().unwrap_or(0);
    // Sessions signed before the sale were had already: the package holds
    // the rest, at their share of the course's price.
    let appointments = cx.store.patient_appointments(p.id).await?;
    let signed = cx
        .store
        .patient_charts(p.id)
        .await?
        .iter()
        .filter(|c| c.status == needlepoint_domain::charting::ChartStatus::Signed)
        .filter(|c| {
            appointments
                .iter()
                .any(|a| a.id == c.appointment_id && a.plan_id == Some(plan_id))
        })
        .count() as u32;
    let sessions = course.saturating_sub(signed);
    if sessions == 0 {
        return Err(Error::refused(
            "Every session of this course is signed already; there is nothing left to sell.",
        ));
    }
    let unit = needlepoint_domain::pricing::mul_div_round(
        quote.net,
        i64::from(sessions),
        i64::from(course),
    );
    let terms = quote
        .package
        .as_ref()
        .map(|d| format!(" ({})", d.label))
        .unwrap_or_default();
    let label = if sessions == course {
        format!("Course of {course} sessions, sold as a package{terms}")
    } else {
        format!(
            "The remaining {sessions} of a course of {course} sessions, sold as a package{terms}"
        )
    };
    let line = LineInput {
        label,
        quantity: 1,
        unit_minor: unit,
        source: Some(format!("package:plan:{plan_id}")),
    };
    issue(
        cx,
        &actor.audit,
        &p,
        vec![line],
        None,
        Some((plan_id, sessions)),
        vec![],
    )
    .await
}

/// Money in at the desk, as typed.
#[derive(Debug, Clone, Default)]
pub struct PaymentInput {
    pub method: String,
    pub amount: String,
    pub reference: String,
    /// Set against this invoice; none puts it on account.
    pub invoice_id: Option<i64>,
    pub deposit: bool,
}

pub async fn take_payment(
    cx: &Context,
    actor: &Actor,
    patient_id: i64,
    input: &PaymentInput,
) -> Result<Payment> {
    let p = access::patient(cx, actor, patient_id).await?;
    let mut inv = Invalid::default();
    let method = match Method::parse(input.method.trim()) {
        Some(m) if Method::AT_DESK.contains(&m) => Some(m),
        _ => {
            inv.push("method", "Choose how the patient paid.");
            None
        }
    };
    let amount = inv.check(parse_money("amount", &input.amount));
    let reference = input.reference.trim();
    if reference.chars().count() > 100 {
        inv.push("reference", "A reference is at most 100 characters.");
    }
    if matches!(method, Some(Method::Card) | Some(Method::Voucher)) && reference.is_empty() {
        inv.push(
            "reference",
            if method == Some(Method::Card) {
                "Type the card terminal's reference from the slip."
            } else {
                "Type the voucher's code."
            },
        );
    }
    if let Some(i) = input.invoice_id {
        let invoice = cx.store.invoice(i).await.map_err(|_| Error::NotFound)?;
        if invoice.patient_id != p.id || !actor.sees_clinic(invoice.clinic_id) {
            return Err(Error::NotFound);
        }
        if invoice.credit_note {
            inv.push("invoice", "A credit note is not paid; it is refunded.");
        } else if let Some(a) = amount {
            if a > invoice.due_minor() && !input.deposit {
                inv.push(
                    "amount",
                    format!(
                        "Only {} is due on {}; take that, or leave the invoice unchosen to put money on account.",
                        format_money(invoice.due_minor(), &invoice.currency),
                        invoice.label()
                    ),
                );
            }
        }
    }
    inv.into_result()?;
    let new = NewPayment {
        clinic_id: p.clinic_id,
        patient_id: p.id,
        method: method.expect("checked"),
        amount_minor: amount.expect("checked"),
        reference: (!reference.is_empty()).then(|| reference.to_string()),
        deposit: input.deposit,
        invoice_id: input.invoice_id,
        received_on: cx.clinic_today(p.clinic_id).await?,
        provider_event: None,
    };
    Ok(cx
        .store
        .record_payment(&new, &actor.audit, cx.now())
        .await?)
}

/// Pays what is due on an invoice with a session of the patient's package.
pub async fn pay_with_package(
    cx: &Context,
    actor: &Actor,
    invoice_id: i64,
    package_id: i64,
) -> Result<Payment> {
    let invoice = cx.store.invoice(invoice_id).await?;
    access::clinic(actor, invoice.clinic_id)?;
    let k = cx.store.package(package_id).await?;
    access::clinic(actor, k.clinic_id)?;
    let on = cx.clinic_today(invoice.clinic_id).await?;
    Ok(cx
        .store
        .pay_with_package(invoice_id, package_id, on, &actor.audit, cx.now())
        .await?)
}

/// Pays what is due on an invoice from the patient's money on account
/// (a deposit, a credit freed by a credit note), oldest payment first.
/// Gives what was settled.
pub async fn settle_from_account(cx: &Context, actor: &Actor, invoice_id: i64) -> Result<i64> {
    let inv = cx.store.invoice(invoice_id).await?;
    access::clinic(actor, inv.clinic_id)?;
    let free: Vec<i64> = cx
        .store
        .patient_account(inv.patient_id)
        .await?
        .payments
        .iter()
        .filter(|p| p.free_minor() > 0 && p.method != Method::Package)
        .map(|p| p.id)
        .collect();
    if free.is_empty() || inv.due_minor() <= 0 {
        return Err(Error::refused(
            "Nothing to settle: no money is on account, or nothing is due.",
        ));
    }
    let mut settled = 0;
    for pid in free {
        if cx.store.invoice(invoice_id).await?.due_minor() <= 0 {
            break;
        }
        settled += cx
            .store
            .settle_from(invoice_id, pid, &actor.audit, cx.now())
            .await?;
    }
    Ok(settled)
}

/// Gives money back to the method it came by.
pub async fn refund(
    cx: &Context,
    actor: &Actor,
    payment_id: i64,
    amount: &str,
    reference: &str,
) -> Result<Payment> {
    let pay = cx.store.payment(payment_id).await?;
    access::clinic(actor, pay.clinic_id)?;
    let currency = cx.store.clinic_pricing(pay.clinic_id).await?.currency;
    let amount =
        parse_money("amount", amount).map_err(|e| Error::Invalid(Invalid { errors: vec![e] }))?;
    if amount > pay.free_minor() {
        let why = if pay.allocated_minor > 0 {
            format!(
                "At most {} of this payment can be refunded; the rest pays an invoice, which a credit note frees first.",
                format_money(pay.free_minor(), &currency)
            )
        } else {
            format!(
                "At most {} of this payment can be refunded.",
                format_money(pay.free_minor(), &currency)
            )
        };
        return Err(Error::invalid("amount", why));
    }
    let on = cx.clinic_today(pay.clinic_id).await?;
    let reference = reference.trim();
    Ok(cx
        .store
        .refund(
            payment_id,
            amount,
            (!reference.is_empty()).then_some(reference),
            on,
            &actor.audit,
            cx.now(),
        )
        .await?)
}

/// Credits part or all of an invoice, with the reason.
pub async fn credit_note(
    cx: &Context,
    actor: &Actor,
    invoice_id: i64,
    amount: &str,
    reason: &str,
) -> Result<Invoice> {
    let target = cx.store.invoice(invoice_id).await?;
    access::clinic(actor, target.clinic_id)?;
    let p = cx.store.patient(target.patient_id).await?;
    let mut inv = Invalid::default();
    let amount = inv.check(parse_money("amount", amount));
    let reason = reason.trim();
    if reason.is_empty() {
        inv.push("reason", "Say why the invoice is credited.");
    } else if reason.chars().count() > 300 {
        inv.push("reason", "A reason is at most 300 characters.");
    }
    if target.credit_note {
        inv.push("amount", "A credit note cannot itself be credited.");
    }
    let creditable = target.totals.total - target.credited_minor;
    if let Some(a) = amount {
        if a > creditable {
            inv.push(
                "amount",
                format!(
                    "At most {} is left to credit on {}.",
                    format_money(creditable, &target.currency),
                    target.label()
                ),
            );
        }
    }
    inv.into_result()?;
    let amount = amount.expect("checked");
    // The credit note gives back its share of the invoice's tax: one line
    // at the invoice's total, so tax added is unwound to the penny.
    let unit = if target.tax_included {
        amount
    } else {
        needlepoint_domain::pricing::mul_div_round(
            amount,
            10_000,
            10_000 + i64::from(target.tax_rate_bp),
        )
    };
    let line = LineInput {
        label: format!("Credit on {}: {}", target.label(), reason),
        quantity: 1,
        unit_minor: unit,
        source: None,
    };
    issue(
        cx,
        &actor.audit,
        &p,
        vec![line],
        Some((target.id, reason.to_string())),
        None,
        vec![],
    )
    .await
}

/// Closes a package whose plan was cancelled: its unused sessions are
/// credited by the clinic's rule, leaving the money on account to refund.
pub async fn cancel_package(
    cx: &Context,
    actor: &Actor,
    package_id: i64,
    reason: &str,
) -> Result<Package> {
    let k = cx.store.package(package_id).await?;
    access::clinic(actor, k.clinic_id)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid(
            "reason",
            "Say why the package is cancelled.",
        ));
    }
    if reason.chars().count() > 300 {
        return Err(Error::invalid(
            "reason",
            "A reason is at most 300 characters.",
        ));
    }
    if k.closed_at.is_some() {
        return Err(Error::Conflict("That package is closed already.".into()));
    }
    let invoice = cx.store.invoice(k.invoice_id).await?;
    let settings = cx.store.billing_settings(k.clinic_id).await?;
    let paid_for = invoice.totals.total - invoice.credited_minor;
    let back = billing::package_refund(paid_for, k.sessions, k.left(), settings.package_keep_bp);
    let credit = if back > 0 {
        let p = cx.store.patient(k.patient_id).await?;
        let pricing = cx.store.clinic_pricing(k.clinic_id).await?;
        let unit = if invoice.tax_included {
            back
        } else {
            needlepoint_domain::pricing::mul_div_round(
                back,
                10_000,
                10_000 + i64::from(invoice.tax_rate_bp),
            )
        };
        let (lines, totals) = billing::price_lines(
            &[LineInput {
                label: format!(
                    "{} unused sessions of {} in the package",
                    k.left(),
                    k.sessions
                ),
                quantity: 1,
                unit_minor: unit,
                source: None,
            }],
            invoice.tax_rate_bp,
            invoice.tax_included,
        )?;
        Some(NewInvoice {
            clinic_id: k.clinic_id,
            patient_id: p.id,
            issued_on: cx.clinic_today(k.clinic_id).await?,
            currency: pricing.currency,
            tax_rate_bp: invoice.tax_rate_bp,
            tax_included: invoice.tax_included,
            lines,
            totals: needlepoint_domain::billing::Totals {
                total: totals.total.min(paid_for),
                ..totals
            },
            credits: Some((invoice.id, reason.to_string())),
            package: None,
            settle_from: vec![],
        })
    } else {
        None
    };
    Ok(cx
        .store
        .close_package(package_id, reason, credit.as_ref(), &actor.audit, cx.now())
        .await?)
}

/// A late-cancellation or no-show fee just recorded: invoiced at once and
/// paid from the deposit, when the clinic's rule takes fees from deposits
/// and the patient has one on account. Otherwise it waits to be invoiced.
/// The caller has access to the appointment (staff, or the patient herself).
pub async fn take_fee_from_deposit(
    cx: &Context,
    who: &needlepoint_store::Actor,
    a: &needlepoint_store::Appointment,
) -> Result<Option<Invoice>> {
    let settings = cx.store.billing_settings(a.clinic_id).await?;
    if !settings.fee_from_deposit || a.fee_minor.unwrap_or(0) <= 0 {
        return Ok(None);
    }
    if deposits_on_account(cx, a.patient_id).await?.is_empty() {
        return Ok(None);
    }
    let source = format!("fee:{}", a.id);
    let p = cx.store.patient(a.patient_id).await?;
    if !billable(cx, &p)
        .await?
        .iter()
        .any(|b| b.line.source.as_deref() == Some(source.as_str()))
    {
        return Ok(None);
    }
    invoice_for(cx, who, &p, &[source], &[]).await.map(Some)
}

/// After a fee is recorded: takes it from the deposit, or leaves it to be
/// invoiced (logged) when that fails; the cancellation itself stands.
pub async fn after_fee(
    cx: &Context,
    who: &needlepoint_store::Actor,
    a: &needlepoint_store::Appointment,
) {
    if a.fee_minor.unwrap_or(0) > 0 {
        if let Err(e) = take_fee_from_deposit(cx, who, a).await {
            tracing::warn!(appointment = a.id, "fee not taken from the deposit: {e}");
        }
    }
}

pub async fn settings(cx: &Context, actor: &Actor, clinic_id: i64) -> Result<BillingSettings> {
    access::clinic(actor, clinic_id)?;
    Ok(cx.store.billing_settings(clinic_id).await?)
}

/// Saves a clinic's billing details and rules, as typed by the owner.
pub async fn save_settings(
    cx: &Context,
    actor: &Actor,
    clinic_id: i64,
    tax_number: &str,
    deposit: &str,
    fee_from_deposit: bool,
    keep_percent: &str,
) -> Result<()> {
    access::clinic(actor, clinic_id)?;
    let mut inv = Invalid::default();
    let tax_number = tax_number.trim();
    if tax_number.chars().count() > 40 {
        inv.push("tax_number", "A tax number is at most 40 characters.");
    }
    let deposit = match deposit.trim() {
        "" | "0" => Some(0),
        d => inv.check(parse_money("deposit", d)),
    };
    let keep = keep_percent.trim();
    let keep_bp = if keep.is_empty() {
        Some(0)
    } else {
        match parse_amount("keep_percent", keep) {
            Ok(v) if v <= 10_000 => Some(v as u32),
            _ => {
                inv.push("keep_percent", "A share from 0 to 100, e.g. 10 or 12.5.");
                None
            }
        }
    };
    inv.into_result()?;
    let s = BillingSettings {
        tax_number: (!tax_number.is_empty()).then(|| tax_number.to_string()),
        deposit_minor: deposit.expect("checked"),
        fee_from_deposit,
        package_keep_bp: keep_bp.expect("checked"),
    };
    Ok(cx
        .store
        .set_billing_settings(clinic_id, &s, &actor.audit, cx.now())
        .await?)
}

/// The day's takings of a clinic by method: money received, refunded and
/// net; package credit is listed but is not money taken that day.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Takings {
    pub clinic_id: i64,
    pub day: Date,
    pub currency: String,
    pub methods: Vec<MethodTakings>,
    /// Money only (package credit left out): received less refunded.
    pub net_minor: i64,
    /// What the till should hold from the day: cash in less cash out.
    pub cash_expected_minor: i64,
    pub payments: Vec<Payment>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MethodTakings {
    pub method: Method,
    pub received_minor: i64,
    pub refunded_minor: i64,
    pub net_minor: i64,
}

pub async fn takings(cx: &Context, actor: &Actor, clinic_id: i64, day: Date) -> Result<Takings> {
    access::clinic(actor, clinic_id)?;
    let currency = cx.store.clinic_pricing(clinic_id).await?.currency;
    let payments = cx.store.clinic_payments(clinic_id, day, day).await?;
    let mut methods = vec![];
    for m in Method::ALL {
        let (mut received, mut refunded) = (0, 0);
        for p in payments.iter().filter(|p| p.method == m) {
            if p.refund_of.is_some() {
                refunded += p.amount_minor;
            } else {
                received += p.amount_minor;
            }
        }
        if received != 0 || refunded != 0 {
            methods.push(MethodTakings {
                method: m,
                received_minor: received,
                refunded_minor: refunded,
                net_minor: received - refunded,
            });
        }
    }
    let net_minor = methods
        .iter()
        .filter(|m| m.method.is_money())
        .map(|m| m.net_minor)
        .sum();
    let cash_expected_minor = methods
        .iter()
        .find(|m| m.method == Method::Cash)
        .map_or(0, |m| m.net_minor);
    Ok(Takings {
        clinic_id,
        day,
        currency,
        methods,
        net_minor,
        cash_expected_minor,
        payments,
    })
}

/// One patient's balance owed, by age.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgedBalance {
    pub patient_id: i64,
    pub name: String,
    /// 0–30, 31–60, 61–90, over 90 days.
    pub buckets: [i64; 4],
    pub total_minor: i64,
}

/// Who owes the clinic what, by age of the invoice (payments settle the
/// oldest first).
pub async fn aged_balances(
    cx: &Context,
    actor: &Actor,
    clinic_id: i64,
) -> Result<Vec<AgedBalance>> {
    access::clinic(actor, clinic_id)?;
    let today = cx.clinic_today(clinic_id).await?;
    let mut rows = vec![];
    for (patient_id, invoices, paid) in cx.store.clinic_balances(clinic_id).await? {
        let owed = billing::outstanding(&invoices, paid);
        if owed.is_empty() {
            continue;
        }
        let mut buckets = [0i64; 4];
        for (d, a) in &owed {
            buckets[billing::age_bucket(*d, today)] += a;
        }
        rows.push((patient_id, buckets));
    }
    let names = cx
        .patient_names(&rows.iter().map(|r| r.0).collect::<Vec<_>>())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(patient_id, buckets)| AgedBalance {
            patient_id,
            name: names.get(&patient_id).cloned().unwrap_or_default(),
            buckets,
            total_minor: buckets.iter().sum(),
        })
        .collect())
}

/// Records a counted till against the day's expected cash.
pub async fn cash_up(
    cx: &Context,
    actor: &Actor,
    clinic_id: i64,
    day: Date,
    counted: &str,
    note: &str,
) -> Result<needlepoint_store::CashUp> {
    access::clinic(actor, clinic_id)?;
    let counted = if counted.trim() == "0" {
        0
    } else {
        parse_money("counted", counted).map_err(|e| Error::Invalid(Invalid { errors: vec![e] }))?
    };
    let note = note.trim();
    if note.chars().count() > 300 {
        return Err(Error::invalid("note", "A note is at most 300 characters."));
    }
    let expected = takings(cx, actor, clinic_id, day)
        .await?
        .cash_expected_minor;
    if counted != expected && note.is_empty() {
        return Err(Error::invalid(
            "note",
            "The till differs from what was expected: say why.",
        ));
    }
    Ok(cx
        .store
        .record_cash_up(
            clinic_id,
            day,
            expected,
            counted,
            (!note.is_empty()).then_some(note),
            &actor.audit,
            cx.now(),
        )
        .await?)
}

/// The day's payments as CSV, one row each, amounts in minor units and
/// in the clinic's currency (refunds negative).
pub fn takings_csv(t: &Takings, names: &std::collections::HashMap<i64, String>) -> String {
    let mut out = String::from(
        "received_at,patient_id,patient,method,kind,amount_minor,amount,currency,reference\n",
    );
    for p in &t.payments {
        let signed = if p.refund_of.is_some() {
            -p.amount_minor
        } else {
            p.amount_minor
        };
        let row = [
            p.received_at.to_string(),
            p.patient_id.to_string(),
            names.get(&p.patient_id).cloned().unwrap_or_default(),
            p.method.as_str().to_string(),
            if p.refund_of.is_some() {
                "refund"
            } else {
                "payment"
            }
            .to_string(),
            signed.to_string(),
            format!(
                "{}{}.{:02}",
                if signed < 0 { "-" } else { "" },
                signed.abs() / 100,
                signed.abs() % 100
            ),
            t.currency.clone(),
            p.reference.clone().unwrap_or_default(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// Quotes a CSV field when it needs it, and defuses a leading formula
/// character so a spreadsheet shows the text instead of running it.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_amounts_are_exact_and_positive() {
        assert_eq!(parse_money("a", "40").unwrap(), 4000);
        assert_eq!(parse_money("a", "40.5").unwrap(), 4050);
        assert!(parse_money("a", "-5")
            .unwrap_err()
            .message
            .contains("negative"));
        assert!(parse_money("a", "1.234")
            .unwrap_err()
            .message
            .contains("two decimals"));
        assert!(parse_money("a", "0").is_err());
        assert!(parse_money("a", "").is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-40.00"), "-40.00");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
