//! Money over JSON: a patient's account, invoices and credit notes,
//! payments and refunds, packages, and a clinic's takings for a day. The
//! same services as the pages; amounts are integer minor units.

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use needlepoint_domain::billing::Method;
use needlepoint_domain::Invalid;
use needlepoint_practice::access;
use needlepoint_practice::billing::{self, DeskLine, PaymentInput};
use needlepoint_store::{Invoice, Package, Payment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Minor units as the services read typed amounts ("12.50"), so the API
/// and the pages refuse the same amounts with the same words.
fn typed(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let a = minor.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineOut {
    pub label: String,
    pub quantity: u32,
    pub unit_minor: i64,
    pub amount_minor: i64,
    pub tax_minor: i64,
}

/// An invoice or a credit note, with what was credited and paid since.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceOut {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    /// "INV-000042" or "CN-000007"; numbers run without gaps per clinic.
    pub number: String,
    pub credit_note: bool,
    pub credits_invoice_id: Option<i64>,
    pub reason: Option<String>,
    pub issued_on: String,
    pub currency: String,
    /// Basis points: 2000 is 20 %.
    pub tax_rate_bp: u32,
    pub tax_included: bool,
    pub lines: Vec<LineOut>,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub credited_minor: i64,
    pub paid_minor: i64,
    pub due_minor: i64,
}

impl From<Invoice> for InvoiceOut {
    fn from(i: Invoice) -> Self {
        InvoiceOut {
            number: i.label(),
            due_minor: i.due_minor(),
            id: i.id,
            clinic_id: i.clinic_id,
            patient_id: i.patient_id,
            credit_note: i.credit_note,
            credits_invoice_id: i.credits_invoice_id,
            reason: i.reason,
            issued_on: i.issued_on.to_string(),
            currency: i.currency,
            tax_rate_bp: i.tax_rate_bp,
            tax_included: i.tax_included,
            lines: i
                .lines
                .into_iter()
                .map(|l| LineOut {
                    label: l.label,
                    quantity: l.quantity,
                    unit_minor: l.unit_minor,
                    amount_minor: l.amount_minor,
                    tax_minor: l.tax_minor,
                })
                .collect(),
            tax_minor: i.totals.tax,
            total_minor: i.totals.total,
            credited_minor: i.credited_minor,
            paid_minor: i.paid_minor,
        }
    }
}

/// A payment, or a refund of one (to the same method).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: i64,
    pub patient_id: i64,
    pub refund_of: Option<i64>,
    pub method: Method,
    pub amount_minor: i64,
    pub reference: Option<String>,
    pub deposit: bool,
    pub package_id: Option<i64>,
    pub received_on: String,
    pub received_at: String,
    /// Set against invoices.
    pub allocated_minor: i64,
    pub refunded_minor: i64,
    /// Neither set against an invoice nor refunded: on account.
    pub on_account_minor: i64,
}

impl From<Payment> for PaymentOut {
    fn from(p: Payment) -> Self {
        PaymentOut {
            on_account_minor: p.free_minor(),
            id: p.id,
            patient_id: p.patient_id,
            refund_of: p.refund_of,
            method: p.method,
            amount_minor: p.amount_minor,
            reference: p.reference,
            deposit: p.deposit,
            package_id: p.package_id,
            received_on: p.received_on.to_string(),
            received_at: p.received_at.to_string(),
            allocated_minor: p.allocated_minor,
            refunded_minor: p.refunded_minor,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageOut {
    pub id: i64,
    pub plan_id: i64,
    pub invoice_id: i64,
    pub sessions: u32,
    pub used: u32,
    pub left: u32,
    pub closed_at: Option<String>,
    pub closed_reason: Option<String>,
}

impl From<Package> for PackageOut {
    fn from(k: Package) -> Self {
        PackageOut {
            left: k.left(),
            id: k.id,
            plan_id: k.plan_id,
            invoice_id: k.invoice_id,
            sessions: k.sessions,
            used: k.used,
            closed_at: k.closed_at.map(|t| t.to_string()),
            closed_reason: k.closed_reason,
        }
    }
}

/// Something done and not yet invoiced.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillableOut {
    /// Name it in `items` to invoice it ("chart:12", "fee:40").
    pub source: String,
    pub label: String,
    pub amount_minor: i64,
}

/// A patient's money.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub patient_id: i64,
    pub currency: String,
    /// Payments less refunds less invoiced (credit notes count back):
    /// negative is owed, positive is on account.
    pub balance_minor: i64,
    pub invoices: Vec<InvoiceOut>,
    pub payments: Vec<PaymentOut>,
    pub packages: Vec<PackageOut>,
    pub to_invoice: Vec<BillableOut>,
}

#[utoipa::path(get, path = "/api/v1/patients/{id}/account", tag = "money", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AccountOut), (status = 404, body = ErrorBody)))]
pub async fn get_account(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<AccountOut>, ApiError> {
    let (p, acc) = billing::account(&st, &caller, id).await?;
    let to_invoice = billing::billable(&st, &p)
        .await?
        .into_iter()
        .filter_map(|b| {
            b.line.source.map(|source| BillableOut {
                source,
                label: b.line.label,
                amount_minor: b.line.unit_minor,
            })
        })
        .collect();
    Ok(Json(AccountOut {
        patient_id: p.id,
        currency: st.store.clinic_pricing(p.clinic_id).await?.currency,
        balance_minor: acc.balance_minor,
        invoices: acc.invoices.into_iter().map(InvoiceOut::from).collect(),
        payments: acc.payments.into_iter().map(PaymentOut::from).collect(),
        packages: acc.packages.into_iter().map(PackageOut::from).collect(),
        to_invoice,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    pub label: String,
    #[serde(default = "one")]
    pub quantity: u32,
    pub unit_minor: i64,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceIn {
    /// Sources from the account's `to_invoice`.
    #[serde(default)]
    pub items: Vec<String>,
    /// Lines of your own (a product over the counter).
    #[serde(default)]
    pub lines: Vec<LineIn>,
}

#[utoipa::path(post, path = "/api/v1/patients/{id}/invoices", tag = "money", params(("id" = i64, Path)),
    request_body = InvoiceIn, security(("bearer" = [])),
    responses((status = 201, body = InvoiceOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_invoice(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<InvoiceIn>,
) -> Result<(StatusCode, Json<InvoiceOut>), ApiError> {
    if b.lines.len() > 50 || b.items.len() > 200 {
        return Err(Invalid::one("lines", "At most 50 lines and 200 items.").into());
    }
    let desk: Vec<DeskLine> = b
        .lines
        .iter()
        .map(|l| DeskLine {
            label: l.label.clone(),
            quantity: l.quantity.to_string(),
            unit: typed(l.unit_minor),
        })
        .collect();
    let inv = billing::invoice(&st, &caller, id, &b.items, &desk).await?;
    Ok((StatusCode::CREATED, Json(inv.into())))
}

async fn invoice_of(st: &AppState, caller: &Caller, id: i64) -> Result<Invoice, ApiError> {
    let i = st.store.invoice(id).await?;
    access::clinic(caller, i.clinic_id)?;
    Ok(i)
}

#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "money", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = InvoiceOut), (status = 404, body = ErrorBody)))]
pub async fn get_invoice(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<InvoiceOut>, ApiError> {
    Ok(Json(invoice_of(&st, &caller, id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditIn {
    /// What the credit note gives back, tax included.
    pub amount_minor: i64,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/invoices/{id}/credit-notes", tag = "money", params(("id" = i64, Path)),
    request_body = CreditIn, security(("bearer" = [])),
    responses((status = 201, body = InvoiceOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_credit_note(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CreditIn>,
) -> Result<(StatusCode, Json<InvoiceOut>), ApiError> {
    invoice_of(&st, &caller, id).await?;
    let cn = billing::credit_note(&st, &caller, id, &typed(b.amount_minor), &b.reason).await?;
    Ok((StatusCode::CREATED, Json(cn.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// cash, card, transfer or voucher (package credit and online
    /// payments have their own ways in).
    pub method: String,
    pub amount_minor: i64,
    /// The card terminal's reference or the voucher's code (required for
    /// those methods).
    #[serde(default)]
    pub reference: String,
    /// Set against this invoice; none puts the money on account.
    #[serde(default)]
    pub invoice_id: Option<i64>,
    #[serde(default)]
    pub deposit: bool,
}

#[utoipa::path(post, path = "/api/v1/patients/{id}/payments", tag = "money", params(("id" = i64, Path)),
    request_body = PaymentIn, security(("bearer" = [])),
    responses((status = 201, body = PaymentOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_payment(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PaymentIn>,
) -> Result<(StatusCode, Json<PaymentOut>), ApiError> {
    let input = PaymentInput {
        method: b.method,
        amount: typed(b.amount_minor),
        reference: b.reference,
        invoice_id: b.invoice_id,
        deposit: b.deposit,
    };
    let p = billing::take_payment(&st, &caller, id, &input).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    pub amount_minor: i64,
    #[serde(default)]
    pub reference: String,
}

#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "money", params(("id" = i64, Path)),
    request_body = RefundIn, security(("bearer" = [])),
    responses((status = 201, body = PaymentOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_refund(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RefundIn>,
) -> Result<(StatusCode, Json<PaymentOut>), ApiError> {
    let r = billing::refund(&st, &caller, id, &typed(b.amount_minor), &b.reference).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[utoipa::path(post, path = "/api/v1/plans/{id}/package", tag = "money", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 201, body = InvoiceOut, description = "The package's invoice"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn sell_package(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<InvoiceOut>), ApiError> {
    let plan = st.store.plan(id).await?;
    access::clinic(&caller, plan.clinic_id)?;
    let inv = billing::sell_package(&st, &caller, id).await?;
    Ok((StatusCode::CREATED, Json(inv.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackagePaymentIn {
    pub package_id: i64,
}

#[utoipa::path(post, path = "/api/v1/invoices/{id}/package-payment", tag = "money", params(("id" = i64, Path)),
    request_body = PackagePaymentIn, security(("bearer" = [])),
    responses((status = 201, body = PaymentOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "No session left, or nothing due")))]
pub async fn pay_with_package(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PackagePaymentIn>,
) -> Result<(StatusCode, Json<PaymentOut>), ApiError> {
    let p = billing::pay_with_package(&st, &caller, id, b.package_id).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// YYYY-MM-DD in the clinic's zone; today when left out.
    pub day: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MethodTakingsOut {
    pub method: Method,
    pub received_minor: i64,
    pub refunded_minor: i64,
    pub net_minor: i64,
    /// False for package credit: paid for when the package was sold.
    pub money: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TakingsOut {
    pub clinic_id: i64,
    pub day: String,
    pub currency: String,
    pub methods: Vec<MethodTakingsOut>,
    /// Money taken: received less refunded, package credit left out.
    pub net_minor: i64,
    pub cash_expected_minor: i64,
    pub payments: Vec<PaymentOut>,
}

#[utoipa::path(get, path = "/api/v1/clinics/{id}/takings", tag = "money", params(("id" = i64, Path), DayQuery),
    security(("bearer" = [])),
    responses((status = 200, body = TakingsOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_takings(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DayQuery>,
) -> Result<Json<TakingsOut>, ApiError> {
    access::clinic(&caller, id)?;
    let day = match q.day.as_deref() {
        Some(d) => d
            .parse()
            .map_err(|_| Invalid::one("day", "Write the day as YYYY-MM-DD."))?,
        None => st.clinic_today(id).await?,
    };
    let t = billing::takings(&st, &caller, id, day).await?;
    Ok(Json(TakingsOut {
        clinic_id: t.clinic_id,
        day: t.day.to_string(),
        currency: t.currency,
        methods: t
            .methods
            .iter()
            .map(|m| MethodTakingsOut {
                method: m.method,
                received_minor: m.received_minor,
                refunded_minor: m.refunded_minor,
                net_minor: m.net_minor,
                money: m.method.is_money(),
            })
            .collect(),
        net_minor: t.net_minor,
        cash_expected_minor: t.cash_expected_minor,
        payments: t.payments.into_iter().map(PaymentOut::from).collect(),
    }))
}
