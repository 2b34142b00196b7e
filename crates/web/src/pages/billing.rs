//! Money at the desk: a patient's account (what to invoice, invoices and
//! credit notes, payments and refunds, packages), the printable invoice
//! and receipt, the day's takings with the cash-up and balances by age,
//! and the clinic's billing settings.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, long_date, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::billing::{Method, AGE_BUCKETS};
use needlepoint_domain::clinic::format_money;
use needlepoint_domain::plan::PlanStatus;
use needlepoint_domain::Invalid;
use needlepoint_practice::billing::{self, DeskLine, PaymentInput};
use needlepoint_practice::{access, Error};
use needlepoint_store::{Invoice, Patient, Payment};
use serde::Deserialize;

pub struct PackageRow {
    id: i64,
    what: String,
    used: u32,
    sessions: u32,
    left: u32,
    invoice_id: i64,
    invoice: String,
    closed: Option<String>,
}

pub struct InvoiceRow {
    id: i64,
    label: String,
    date: String,
    total: String,
    credited: String,
    paid: String,
    due: String,
    credit_note: bool,
    owing: bool,
    /// What is left to credit, for the credit-note form.
    creditable: String,
    /// A package session may pay it (it did not sell a package itself).
    package_payable: bool,
}

pub struct PaymentRow {
    id: i64,
    date: String,
    method: &'static str,
    amount: String,
    reference: String,
    notes: Vec<String>,
    is_refund: bool,
    refundable: Option<String>,
}

#[derive(Template)]
#[template(path = "money.html")]
struct AccountPage {
    shell: Shell,
    id: i64,
    name: String,
    balance: String,
    balance_tone: &'static str,
    packages: Vec<PackageRow>,
    /// Open packages with sessions left: (id, label).
    usable_packages: Vec<(i64, String)>,
    /// Money on account (free of invoices and refunds), if any.
    on_account: Option<String>,
    sellable: Vec<(i64, String)>,
    billable: Vec<(String, String, String)>,
    invoices: Vec<InvoiceRow>,
    open_invoices: Vec<(i64, String)>,
    payments: Vec<PaymentRow>,
    methods: Vec<(&'static str, &'static str)>,
    deposit_hint: Option<String>,
    form: FormValues,
    errors: Invalid,
    /// Which form the errors belong to ("invoice", "payment", "refund:7"…).
    which: String,
    notice: Option<String>,
}

impl AccountPage {
    fn err(&self, which: &str, field: &str) -> Option<&str> {
        (self.which == which)
            .then(|| self.errors.message_for(field))
            .flatten()
    }
    fn val(&self, which: &str, field: &str) -> &str {
        if self.which == which {
            self.form.get(field)
        } else {
            ""
        }
    }
    fn is(&self, which: &str, field: &str, value: &str) -> bool {
        self.which == which && self.form.has(field, value)
    }
    fn failed(&self, which: &str) -> bool {
        self.which == which && !self.errors.is_empty()
    }
    /// A billable item is ticked unless the form came back without it.
    fn ticked(&self, source: &str) -> bool {
        self.which != "invoice" || self.form.has("item", source)
    }
}

fn method_label(m: Method) -> &'static str {
    m.label()
}

#[allow(clippy::too_many_arguments)]
async fn account_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    form: FormValues,
    errors: Invalid,
    which: &str,
    notice: Option<String>,
) -> Result<AccountPage, PageError> {
    let (_, acc) = billing::account(st, caller, p.id).await?;
    let clinic = st.store.clinic(p.clinic_id).await?;
    let zone = clinic.details.time_zone.clone();
    let currency = st.store.clinic_pricing(p.clinic_id).await?.currency;
    let money = |m: i64| format_money(m, &currency);
    let label_of = |id: i64| {
        acc.invoices
            .iter()
            .find(|i| i.id == id)
            .map(Invoice::label)
            .unwrap_or_default()
    };
    let plans = st.store.plans(p.id).await?;
    let plan_title = |id: i64| {
        plans
            .iter()
            .find(|r| r.id == id)
            .map(|r| super::patients::plan_title(&st.kb, r))
            .unwrap_or_else(|| format!("Plan {id}"))
    };
    let packages: Vec<PackageRow> = acc
        .packages
        .iter()
        .map(|k| PackageRow {
            id: k.id,
            what: plan_title(k.plan_id),
            used: k.used,
            sessions: k.sessions,
            left: k.left(),
            invoice_id: k.invoice_id,
            invoice: label_of(k.invoice_id),
            closed: k.closed_at.map(|t| {
                format!(
                    "Closed {}: {}",
                    local_time(t, &zone),
                    k.closed_reason.clone().unwrap_or_default()
                )
            }),
        })
        .collect();
    let usable_packages = acc
        .packages
        .iter()
        .filter(|k| k.closed_at.is_none() && k.left() > 0)
        .map(|k| {
            (
                k.id,
                format!(
                    "{} ({} of {} left)",
                    plan_title(k.plan_id),
                    k.left(),
                    k.sessions
                ),
            )
        })
        .collect();
    let sellable = plans
        .iter()
        .filter(|r| matches!(r.status, PlanStatus::Accepted | PlanStatus::InProgress))
        .filter(|r| {
            !acc.packages
                .iter()
                .any(|k| k.plan_id == r.id && k.closed_at.is_none())
        })
        .filter_map(|r| {
            r.quote
                .as_ref()
                .map(|q| (r.id, format!("{}: {}", plan_title(r.id), money(q.total))))
        })
        .collect();
    let billable = billing::billable(st, p)
        .await?
        .into_iter()
        .filter_map(|b| {
            b.line
                .source
                .clone()
                .map(|s| (s, b.line.label.clone(), money(b.line.unit_minor)))
        })
        .collect();
    let invoices: Vec<InvoiceRow> = acc
        .invoices
        .iter()
        .rev()
        .map(|i| InvoiceRow {
            id: i.id,
            label: i.label(),
            date: long_date(i.issued_on),
            total: money(i.totals.total),
            credited: money(i.credited_minor),
            paid: money(i.paid_minor),
            due: money(i.due_minor()),
            credit_note: i.credit_note,
            owing: i.due_minor() > 0,
            package_payable: !acc.packages.iter().any(|k| k.invoice_id == i.id),
            creditable: if i.credit_note || i.totals.total - i.credited_minor <= 0 {
                String::new()
            } else {
                money(i.totals.total - i.credited_minor)
            },
        })
        .collect();
    let open_invoices = acc
        .invoices
        .iter()
        .filter(|i| i.due_minor() > 0)
        .map(|i| {
            (
                i.id,
                format!("{} ({} due)", i.label(), money(i.due_minor())),
            )
        })
        .collect();
    let payments = acc
        .payments
        .iter()
        .rev()
        .map(|x| {
            let mut notes = vec![];
            if let Some(of) = x.refund_of {
                notes.push(format!("Refund of payment {of}"));
            } else {
                if x.deposit {
                    notes.push("Deposit".into());
                }
                if x.allocated_minor > 0 {
                    notes.push(format!("{} against invoices", money(x.allocated_minor)));
                }
                if x.refunded_minor > 0 {
                    notes.push(format!("{} refunded", money(x.refunded_minor)));
                }
                if x.free_minor() > 0 {
                    notes.push(format!("{} on account", money(x.free_minor())));
                }
            }
            PaymentRow {
                id: x.id,
                date: local_time(x.received_at, &zone),
                method: method_label(x.method),
                amount: money(if x.refund_of.is_some() {
                    -x.amount_minor
                } else {
                    x.amount_minor
                }),
                reference: x.reference.clone().unwrap_or_default(),
                notes,
                is_refund: x.refund_of.is_some(),
                refundable: (x.free_minor() > 0 && x.method != Method::Package)
                    .then(|| money(x.free_minor())),
            }
        })
        .collect();
    let settings = st.store.billing_settings(p.clinic_id).await?;
    let (balance, balance_tone) = match acc.balance_minor {
        0 => (
            "Settled: nothing owed, nothing on account.".to_string(),
            "ok",
        ),
        b if b < 0 => (format!("Owes {}", money(-b)), "warn"),
        b => (format!("{} on account", money(b)), "ok"),
    };
    Ok(AccountPage {
        shell: Shell::new(caller, csrf, "patients"),
        id: p.id,
        name: p.details.full_name(),
        balance,
        balance_tone,
        packages,
        usable_packages,
        on_account: {
            let free: i64 = acc.payments.iter().map(|x| x.free_minor()).sum();
            (free > 0).then(|| money(free))
        },
        sellable,
        billable,
        invoices,
        open_invoices,
        payments,
        methods: Method::AT_DESK
            .iter()
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        deposit_hint: (settings.deposit_minor > 0).then(|| {
            format!(
                "The clinic asks a deposit of {} when a course is booked.",
                money(settings.deposit_minor)
            )
        }),
        form,
        errors,
        which: which.to_string(),
        notice,
    })
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    done: Option<String>,
}

fn notice_for(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "invoice" => "Invoice issued.",
            "payment" => "Payment recorded.",
            "refund" => "Refund recorded.",
            "credit" => "Credit note issued.",
            "package" => "The course is sold as a package; each signed session draws one.",
            "package-payment" => "Paid with a session of the package.",
            "settled" => "Paid from the money on account.",
            "cancelled" => "Package closed; its unused sessions are credited to the account.",
            _ => return None,
        }
        .to_string(),
    )
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let page = account_page(
        &st,
        &caller,
        &csrf,
        &p,
        FormValues::default(),
        Invalid::default(),
        "",
        notice_for(q.done.as_deref()),
    )
    .await?;
    Ok(render(&page))
}

/// Redirects back to the account with a notice, or shows the page again
/// with the errors beside the form that was sent.
#[allow(clippy::too_many_arguments)]
async fn answer<T>(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    result: Result<T, Error>,
    which: &str,
    done: &str,
    form: FormValues,
) -> Result<Response, PageError> {
    let errors = match result {
        Ok(_) => {
            return Ok(
                Redirect::to(&format!("/patients/{}/account?done={done}", p.id)).into_response(),
            )
        }
        Err(Error::Invalid(inv)) => inv,
        Err(e @ (Error::Conflict(_) | Error::Refused(_))) => {
            let mut inv = Invalid::default();
            for l in e.lines() {
                inv.push("form", l);
            }
            inv
        }
        Err(e) => return Err(e.into()),
    };
    let page = account_page(st, caller, csrf, p, form, errors, which, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

pub async fn issue_invoice(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let v = FormValues(f);
    let sources: Vec<String> = v.all("item").iter().map(|s| s.to_string()).collect();
    let desk = [DeskLine {
        label: v.get("line_label").to_string(),
        quantity: v.get("line_quantity").to_string(),
        unit: v.get("line_unit").to_string(),
    }];
    let r = billing::invoice(&st, &caller, p.id, &sources, &desk).await;
    // The desk line's errors carry its index; the form names them plainly.
    let r = r.map_err(|e| match e {
        Error::Invalid(mut inv) => {
            for e in &mut inv.errors {
                e.field = e.field.replace("lines.0.", "line_");
            }
            Error::Invalid(inv)
        }
        e => e,
    });
    answer(&st, &caller, &csrf, &p, r, "invoice", "invoice", v).await
}

pub async fn take_payment(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let v = FormValues(f);
    let invoice_id = match v.get("invoice") {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(i) => Some(i),
            Err(_) => return Err(PageError::BadRequest("invoice".into())),
        },
    };
    let input = PaymentInput {
        method: v.get("method").to_string(),
        amount: v.get("amount").to_string(),
        reference: v.get("reference").to_string(),
        invoice_id,
        deposit: v.get("deposit") == "yes",
    };
    let r = billing::take_payment(&st, &caller, p.id, &input).await;
    answer(&st, &caller, &csrf, &p, r, "payment", "payment", v).await
}

pub async fn sell_package(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let v = FormValues(f);
    let plan_id: i64 = v
        .get("plan")
        .parse()
        .map_err(|_| PageError::BadRequest("plan".into()))?;
    let plan = st.store.plan(plan_id).await?;
    if plan.patient_id != p.id {
        return Err(PageError::NotFound);
    }
    let r = billing::sell_package(&st, &caller, plan_id).await;
    answer(&st, &caller, &csrf, &p, r, "package", "package", v).await
}

pub async fn refund(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let pay = st.store.payment(id).await?;
    let p = access::patient(&st, &caller, pay.patient_id).await?;
    let v = FormValues(f);
    let r = billing::refund(&st, &caller, id, v.get("amount"), v.get("reference")).await;
    answer(
        &st,
        &caller,
        &csrf,
        &p,
        r,
        &format!("refund:{id}"),
        "refund",
        v,
    )
    .await
}

pub async fn credit(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let inv = st.store.invoice(id).await?;
    let p = access::patient(&st, &caller, inv.patient_id).await?;
    let v = FormValues(f);
    let r = billing::credit_note(&st, &caller, id, v.get("amount"), v.get("reason")).await;
    answer(
        &st,
        &caller,
        &csrf,
        &p,
        r,
        &format!("credit:{id}"),
        "credit",
        v,
    )
    .await
}

pub async fn pay_with_package(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let inv = st.store.invoice(id).await?;
    let p = access::patient(&st, &caller, inv.patient_id).await?;
    let v = FormValues(f);
    let package: i64 = v
        .get("package")
        .parse()
        .map_err(|_| PageError::BadRequest("package".into()))?;
    let r = billing::pay_with_package(&st, &caller, id, package).await;
    answer(
        &st,
        &caller,
        &csrf,
        &p,
        r,
        &format!("credit:{id}"),
        "package-payment",
        v,
    )
    .await
}

pub async fn settle(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let inv = st.store.invoice(id).await?;
    let p = access::patient(&st, &caller, inv.patient_id).await?;
    let r = billing::settle_from_account(&st, &caller, id).await;
    answer(
        &st,
        &caller,
        &csrf,
        &p,
        r,
        &format!("credit:{id}"),
        "settled",
        FormValues(f),
    )
    .await
}

pub async fn cancel_package(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let k = st.store.package(id).await?;
    let p = access::patient(&st, &caller, k.patient_id).await?;
    let v = FormValues(f);
    let r = billing::cancel_package(&st, &caller, id, v.get("reason")).await;
    answer(
        &st,
        &caller,
        &csrf,
        &p,
        r,
        &format!("package:{id}"),
        "cancelled",
        v,
    )
    .await
}

/// The clinic's letterhead on a printed document.
pub struct Letterhead {
    name: String,
    address: Vec<String>,
    phone: String,
    tax_number: String,
}

async fn letterhead(st: &AppState, clinic_id: i64) -> Result<Letterhead, PageError> {
    let c = st.store.clinic(clinic_id).await?;
    let s = st.store.billing_settings(clinic_id).await?;
    Ok(Letterhead {
        name: c.details.name,
        address: c
            .details
            .address
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
        phone: c.details.phone.unwrap_or_default(),
        tax_number: s.tax_number.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
pub struct PaperQuery {
    #[serde(default)]
    paper: Option<String>,
}

/// "a4" or "letter": the printed page's size (A4 unless Letter is asked).
fn paper(q: &PaperQuery) -> &'static str {
    match q.paper.as_deref() {
        Some("letter") => "letter",
        _ => "a4",
    }
}

#[derive(Template)]
#[template(path = "invoice_print.html")]
struct InvoicePrint {
    paper: &'static str,
    clinic: Letterhead,
    title: &'static str,
    label: String,
    /// Where the toolbar's "back" leads.
    back: String,
    date: String,
    patient: String,
    patient_address: Vec<String>,
    credits: Option<String>,
    reason: Option<String>,
    /// (label, quantity, unit, amount)
    lines: Vec<(String, u32, String, String)>,
    tax_note: String,
    tax: String,
    total: String,
    credited: Option<String>,
    paid: Option<String>,
    due: Option<String>,
}

pub async fn print_invoice(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<PaperQuery>,
) -> Result<Response, PageError> {
    let i = st.store.invoice(id).await?;
    let p = access::patient(&st, &caller, i.patient_id).await?;
    let back = format!("/patients/{}/account", p.id);
    invoice_document(&st, &i, &p, paper(&q), &back).await
}

/// An invoice or credit note as printed, for staff and for the patient
/// on her own page (`back` is where its toolbar leads).
pub(super) async fn invoice_document(
    st: &AppState,
    i: &Invoice,
    p: &Patient,
    paper: &'static str,
    back: &str,
) -> Result<Response, PageError> {
    let money = |m: i64| format_money(m, &i.currency);
    let rate =
        format!("{}.{:02} %", i.tax_rate_bp / 100, i.tax_rate_bp % 100).replace(".00 %", " %");
    let credits = match i.credits_invoice_id {
        Some(c) => Some(st.store.invoice(c).await?.label()),
        None => None,
    };
    let page = InvoicePrint {
        paper,
        clinic: letterhead(st, i.clinic_id).await?,
        title: if i.credit_note {
            "Credit note"
        } else {
            "Invoice"
        },
        label: i.label(),
        back: back.to_string(),
        date: long_date(i.issued_on),
        patient: p.details.full_name(),
        patient_address: p
            .details
            .address
            .clone()
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
        credits,
        reason: i.reason.clone(),
        lines: i
            .lines
            .iter()
            .map(|l| {
                (
                    l.label.clone(),
                    l.quantity,
                    money(l.unit_minor),
                    money(l.amount_minor),
                )
            })
            .collect(),
        tax_note: if i.tax_included {
            format!("Of which tax at {rate}")
        } else {
            format!("Tax at {rate}")
        },
        tax: money(i.totals.tax),
        total: money(i.totals.total),
        credited: (i.credited_minor > 0).then(|| money(i.credited_minor)),
        paid: (!i.credit_note).then(|| money(i.paid_minor)),
        due: (!i.credit_note).then(|| money(i.due_minor())),
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "receipt_print.html")]
struct ReceiptPrint {
    paper: &'static str,
    clinic: Letterhead,
    title: &'static str,
    id: i64,
    patient_id: i64,
    patient: String,
    when: String,
    method: &'static str,
    reference: String,
    amount: String,
    against: Vec<String>,
}

pub async fn print_receipt(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<PaperQuery>,
) -> Result<Response, PageError> {
    let x: Payment = st.store.payment(id).await?;
    let p = access::patient(&st, &caller, x.patient_id).await?;
    let clinic = st.store.clinic(x.clinic_id).await?;
    let currency = st.store.clinic_pricing(x.clinic_id).await?.currency;
    let mut against = vec![];
    if x.allocated_minor > 0 {
        against.push(format!(
            "{} paid against invoices",
            format_money(x.allocated_minor, &currency)
        ));
    }
    if x.free_minor() > 0 {
        against.push(format!(
            "{} held on account{}",
            format_money(x.free_minor(), &currency),
            if x.deposit { " as a deposit" } else { "" }
        ));
    }
    let page = ReceiptPrint {
        paper: paper(&q),
        clinic: letterhead(&st, x.clinic_id).await?,
        title: if x.refund_of.is_some() {
            "Refund"
        } else {
            "Receipt"
        },
        id: x.id,
        patient_id: p.id,
        patient: p.details.full_name(),
        when: local_time(x.received_at, &clinic.details.time_zone),
        method: x.method.label(),
        reference: x.reference.clone().unwrap_or_default(),
        amount: format_money(x.amount_minor, &currency),
        against,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct TakingsQuery {
    #[serde(default)]
    clinic: Option<i64>,
    #[serde(default)]
    day: Option<String>,
}

pub struct TakingsRow {
    time: String,
    patient_id: i64,
    patient: String,
    method: &'static str,
    amount: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "takings.html")]
struct TakingsPage {
    shell: Shell,
    clinics: Vec<(i64, String)>,
    clinic_id: i64,
    day: String,
    day_label: String,
    methods: Vec<(&'static str, String, String, String, bool)>,
    net: String,
    cash_expected: String,
    rows: Vec<TakingsRow>,
    cash_ups: Vec<(String, String, String, String, String)>,
    buckets: [&'static str; 4],
    aged: Vec<(i64, String, Vec<String>, String)>,
    aged_totals: Vec<String>,
    form: FormValues,
    errors: Invalid,
}

impl TakingsPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }
}

/// The clinic and day asked for: the caller's first clinic and its today
/// unless named; a day that is not a date is refused beside the field.
async fn clinic_and_day(
    st: &AppState,
    caller: &Caller,
    q: &TakingsQuery,
) -> Result<(i64, jiff::civil::Date), PageError> {
    let clinic_id = match q.clinic {
        Some(c) => access::clinic(caller, c)?,
        None => *caller.clinic_ids.first().ok_or(PageError::NotFound)?,
    };
    let day = match q.day.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse()
            .map_err(|_| PageError::BadRequest("Give the day as YYYY-MM-DD.".into()))?,
        None => st.clinic_today(clinic_id).await?,
    };
    Ok((clinic_id, day))
}

async fn takings_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    clinic_id: i64,
    day: jiff::civil::Date,
    form: FormValues,
    errors: Invalid,
) -> Result<TakingsPage, PageError> {
    let t = billing::takings(st, caller, clinic_id, day).await?;
    let zone = st.store.clinic(clinic_id).await?.details.time_zone;
    let money = |m: i64| format_money(m, &t.currency);
    let names = st
        .patient_names(&t.payments.iter().map(|x| x.patient_id).collect::<Vec<_>>())
        .await?;
    let aged = billing::aged_balances(st, caller, clinic_id).await?;
    let mut totals = [0i64; 4];
    for a in &aged {
        for (t, b) in totals.iter_mut().zip(a.buckets) {
            *t += b;
        }
    }
    let mut clinics = vec![];
    for c in st.store.clinics_for_staff(caller.staff.id).await? {
        clinics.push((c.id, c.details.name));
    }
    Ok(TakingsPage {
        shell: Shell::new(caller, csrf, "takings"),
        clinics,
        clinic_id,
        day: day.to_string(),
        day_label: long_date(day),
        methods: t
            .methods
            .iter()
            .map(|m| {
                (
                    m.method.label(),
                    money(m.received_minor),
                    money(m.refunded_minor),
                    money(m.net_minor),
                    m.method.is_money(),
                )
            })
            .collect(),
        net: money(t.net_minor),
        cash_expected: money(t.cash_expected_minor),
        rows: t
            .payments
            .iter()
            .map(|x| TakingsRow {
                time: local_time(x.received_at, &zone),
                patient_id: x.patient_id,
                patient: names.get(&x.patient_id).cloned().unwrap_or_default(),
                method: x.method.label(),
                amount: money(if x.refund_of.is_some() {
                    -x.amount_minor
                } else {
                    x.amount_minor
                }),
                reference: x.reference.clone().unwrap_or_default(),
            })
            .collect(),
        cash_ups: st
            .store
            .cash_ups(clinic_id, day)
            .await?
            .iter()
            .map(|c| {
                (
                    local_time(c.recorded_at, &zone),
                    money(c.expected_minor),
                    money(c.counted_minor),
                    money(billing_difference(c.expected_minor, c.counted_minor)),
                    c.note.clone().unwrap_or_default(),
                )
            })
            .collect(),
        buckets: AGE_BUCKETS,
        aged: aged
            .iter()
            .map(|a| {
                (
                    a.patient_id,
                    a.name.clone(),
                    a.buckets.iter().map(|b| money(*b)).collect(),
                    money(a.total_minor),
                )
            })
            .collect(),
        aged_totals: totals.iter().map(|b| money(*b)).collect(),
        form,
        errors,
    })
}

fn billing_difference(expected: i64, counted: i64) -> i64 {
    needlepoint_domain::billing::cash_difference(expected, counted)
}

pub async fn takings(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<TakingsQuery>,
) -> Result<Response, PageError> {
    let (clinic_id, day) = clinic_and_day(&st, &caller, &q).await?;
    let page = takings_page(
        &st,
        &caller,
        &csrf,
        clinic_id,
        day,
        FormValues::default(),
        Invalid::default(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn takings_csv(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<TakingsQuery>,
) -> Result<Response, PageError> {
    let (clinic_id, day) = clinic_and_day(&st, &caller, &q).await?;
    let t = billing::takings(&st, &caller, clinic_id, day).await?;
    let names = st
        .patient_names(&t.payments.iter().map(|x| x.patient_id).collect::<Vec<_>>())
        .await?;
    let csv = billing::takings_csv(&t, &names);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"takings-{day}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

pub async fn cash_up(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let q = TakingsQuery {
        clinic: v.get("clinic").parse().ok(),
        day: Some(v.get("day").to_string()),
    };
    let (clinic_id, day) = clinic_and_day(&st, &caller, &q).await?;
    match billing::cash_up(
        &st,
        &caller,
        clinic_id,
        day,
        v.get("counted"),
        v.get("note"),
    )
    .await
    {
        Ok(_) => {
            Ok(Redirect::to(&format!("/takings?clinic={clinic_id}&day={day}")).into_response())
        }
        Err(Error::Invalid(inv)) => {
            let page = takings_page(&st, &caller, &csrf, clinic_id, day, v, inv).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "billing_settings.html")]
struct SettingsPage {
    shell: Shell,
    clinic_id: i64,
    clinic: String,
    form: FormValues,
    errors: Invalid,
    saved: bool,
}

impl SettingsPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }
}

#[derive(Deserialize)]
pub struct SettingsQuery {
    #[serde(default)]
    clinic: Option<i64>,
    #[serde(default)]
    saved: Option<String>,
}

pub async fn settings(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let clinic_id = match q.clinic {
        Some(c) => access::clinic(&caller, c)?,
        None => *caller.clinic_ids.first().ok_or(PageError::NotFound)?,
    };
    let s = billing::settings(&st, &caller, clinic_id).await?;
    let money = |m: i64| format!("{}.{:02}", m / 100, m % 100);
    let form = FormValues(vec![
        ("tax_number".into(), s.tax_number.unwrap_or_default()),
        ("deposit".into(), money(s.deposit_minor)),
        (
            "fee_from_deposit".into(),
            if s.fee_from_deposit { "yes" } else { "no" }.into(),
        ),
        (
            "keep_percent".into(),
            format!("{}", f64::from(s.package_keep_bp) / 100.0),
        ),
    ]);
    let page = SettingsPage {
        shell: Shell::new(&caller, &csrf, "settings"),
        clinic_id,
        clinic: st.store.clinic(clinic_id).await?.details.name,
        form,
        errors: Invalid::default(),
        saved: q.saved.is_some(),
    };
    Ok(render(&page))
}

pub async fn save_settings(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let clinic_id = access::clinic(&caller, v.get("clinic").parse().unwrap_or(-1))?;
    match billing::save_settings(
        &st,
        &caller,
        clinic_id,
        v.get("tax_number"),
        v.get("deposit"),
        v.get("fee_from_deposit") == "yes",
        v.get("keep_percent"),
    )
    .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("/settings/billing?clinic={clinic_id}&saved=1")).into_response(),
        ),
        Err(Error::Invalid(errors)) => {
            let page = SettingsPage {
                shell: Shell::new(&caller, &csrf, "settings"),
                clinic_id,
                clinic: st.store.clinic(clinic_id).await?.details.name,
                form: v,
                errors,
                saved: false,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The payment provider's webhook: the signature is checked against the
/// raw body, and a paid checkout is recorded once however often it comes.
pub async fn stripe_webhook(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(provider) = st.config.payments.clone() else {
        return (StatusCode::NOT_FOUND, "online payment is not set up").into_response();
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match needlepoint_practice::payments::apply_webhook(&st, provider.0.as_ref(), signature, &body)
        .await
    {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(Error::Forbidden(why)) => (StatusCode::BAD_REQUEST, why).into_response(),
        Err(Error::Invalid(inv)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            inv.errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
        )
            .into_response(),
        Err(e) => {
            tracing::error!("webhook not applied: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "not applied; send it again",
            )
                .into_response()
        }
    }
}
