//! Inventory: each clinic's devices, needle cartridges, rollers and
//! products with their lots; receiving and counting stock; a lot's page with
//! every session that used it, and its recall.

use super::forms::FormValues;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jiff::civil::Date;
use needlepoint_domain::charting::SupplyKind;
use needlepoint_domain::Invalid;
use needlepoint_store::{Device, Lot, NewLot, NewSupplyItem, StoreError, SupplyItem};
use std::collections::HashMap;

pub struct LotRow {
    id: i64,
    item: String,
    lot_number: String,
    expires_on: String,
    quantity: i64,
    state: &'static str,
}

pub struct ClinicStock {
    id: i64,
    name: String,
    devices: Vec<Device>,
    items: Vec<SupplyItem>,
    lots: Vec<LotRow>,
}

#[derive(Template)]
#[template(path = "inventory.html")]
struct InventoryPage {
    shell: Shell,
    clinics: Vec<ClinicStock>,
    kinds: Vec<(&'static str, &'static str)>,
    problem: Option<String>,
    /// The clinic whose form failed, and what was typed.
    form_clinic: i64,
    v: FormValues,
    errors: HashMap<String, String>,
}

impl InventoryPage {
    fn err(&self, field: &str) -> &str {
        self.errors.get(field).map(String::as_str).unwrap_or("")
    }
}

/// A lot's state in words, for the table.
fn lot_state(l: &Lot, today: Date) -> &'static str {
    if l.recalled_at.is_some() {
        "recalled"
    } else if l.expires_on < today {
        "expired"
    } else if l.quantity <= 0 {
        "used up"
    } else if (l.expires_on - today).get_days() <= 30 {
        "expires soon"
    } else {
        "in stock"
    }
}

/// Items at or below their reorder level, for the Today page.
pub async fn low_stock(
    st: &AppState,
    clinic_id: i64,
    today: Date,
) -> Result<Vec<SupplyItem>, StoreError> {
    Ok(st
        .store
        .supply_items(clinic_id, today)
        .await?
        .into_iter()
        .filter(|i| i.active && i.usable <= i.reorder_at)
        .collect())
}

async fn inventory_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    form_clinic: i64,
    v: FormValues,
    problem: Option<Invalid>,
) -> Result<Response, PageError> {
    let mut clinics = vec![];
    for c in st.store.clinics_for_staff(caller.staff.id).await? {
        let today = crate::clinical::clinic_today(st, c.id).await?;
        clinics.push(ClinicStock {
            id: c.id,
            name: c.details.name,
            devices: st.store.devices(c.id).await?,
            items: st.store.supply_items(c.id, today).await?,
            lots: st
                .store
                .lots(c.id)
                .await?
                .iter()
                .map(|l| LotRow {
                    id: l.id,
                    item: l.item_name.clone(),
                    lot_number: l.lot_number.clone(),
                    expires_on: l.expires_on.to_string(),
                    quantity: l.quantity,
                    state: lot_state(l, today),
                })
                .collect(),
        });
    }
    let failed = problem.is_some();
    let errors: HashMap<String, String> = problem
        .map(|i| i.errors.into_iter().map(|e| (e.field, e.message)).collect())
        .unwrap_or_default();
    let page = InventoryPage {
        shell: Shell::new(caller, csrf, "inventory"),
        clinics,
        kinds: SupplyKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        problem: failed.then(|| "Nothing was saved: see the messages below.".to_string()),
        form_clinic,
        v,
        errors,
    };
    let code = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((code, render(&page)).into_response())
}

pub async fn page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    inventory_page(&st, &caller, &csrf, 0, FormValues::default(), None).await
}

fn clinic_of(caller: &Caller, v: &FormValues) -> Result<i64, PageError> {
    v.get("clinic_id")
        .parse()
        .ok()
        .filter(|c| caller.sees_clinic(*c))
        .ok_or(PageError::NotFound)
}

fn whole(field: &str, s: &str, range: std::ops::RangeInclusive<i64>) -> Result<i64, Invalid> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Invalid::one(
                field,
                format!(
                    "Enter a whole number from {} to {}.",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// Checks the new-item form.
pub fn parse_item(v: &FormValues) -> Result<NewSupplyItem, Invalid> {
    let mut inv = Invalid::default();
    let kind = inv.check(SupplyKind::parse(v.get("kind")));
    let name = v.get("name").trim().to_string();
    if name.is_empty() || name.chars().count() > 120 {
        inv.push("name", "Name the item (up to 120 characters).");
    }
    let supplier = v.get("supplier").trim().to_string();
    if supplier.is_empty() || supplier.chars().count() > 120 {
        inv.push("supplier", "Name the supplier (up to 120 characters).");
    }
    let reorder_at = match v.get("reorder_at").trim() {
        "" => Some(0),
        s => inv.check(whole("reorder_at", s, 0..=100_000).map_err(|i| i.errors[0].clone())),
    };
    inv.into_result()?;
    Ok(NewSupplyItem {
        kind: kind.unwrap(),
        name,
        supplier,
        intradermal: v.get("intradermal") == "1",
        reorder_at: reorder_at.unwrap(),
    })
}

/// Checks the receive-a-lot form.
pub fn parse_lot(v: &FormValues, today: Date) -> Result<NewLot, Invalid> {
    let mut inv = Invalid::default();
    let item_id = v.get("item_id").parse::<i64>().ok();
    if item_id.is_none() {
        inv.push("item_id", "Choose the item received.");
    }
    let lot_number = v.get("lot_number").trim().to_string();
    if lot_number.is_empty() || lot_number.chars().count() > 60 {
        inv.push(
            "lot_number",
            "Copy the lot number from the box (up to 60 characters).",
        );
    }
    let expires_on = match v.get("expires_on").trim().parse::<Date>() {
        Ok(d) if d < today => {
            inv.push(
                "expires_on",
                format!("This lot expired on {d}: do not take it into stock."),
            );
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            inv.push("expires_on", "Enter the expiry date from the box.");
            None
        }
    };
    let quantity = inv
        .check(whole("quantity", v.get("quantity"), 1..=100_000).map_err(|i| i.errors[0].clone()));
    inv.into_result()?;
    Ok(NewLot {
        item_id: item_id.unwrap(),
        lot_number,
        expires_on: expires_on.unwrap(),
        quantity: quantity.unwrap(),
    })
}

pub async fn add_item(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let clinic = clinic_of(&caller, &v)?;
    let result = match parse_item(&v) {
        Ok(item) => st
            .store
            .create_supply_item(clinic, &item, &caller.actor(), needlepoint_store::now())
            .await
            .map(|_| ())
            .map_err(|e| match e {
                StoreError::Conflict(m) => Ok(Invalid::one("name", m)),
                e => Err(e),
            }),
        Err(i) => Err(Ok(i)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/inventory").into_response()),
        Err(Ok(i)) => inventory_page(&st, &caller, &csrf, clinic, v, Some(i)).await,
        Err(Err(e)) => Err(e.into()),
    }
}

pub async fn receive(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let clinic = clinic_of(&caller, &v)?;
    let today = crate::clinical::clinic_today(&st, clinic).await?;
    let items = st.store.supply_items(clinic, today).await?;
    let parsed = parse_lot(&v, today).and_then(|l| {
        if items.iter().any(|i| i.id == l.item_id) {
            Ok(l)
        } else {
            Err(Invalid::one(
                "item_id",
                "Choose an item this clinic stocks.",
            ))
        }
    });
    let result = match parsed {
        Ok(lot) => st
            .store
            .receive_lot(&lot, &caller.actor(), needlepoint_store::now())
            .await
            .map(|_| ())
            .map_err(|e| match e {
                StoreError::Conflict(m) => Ok(Invalid::one("lot_number", m)),
                e => Err(e),
            }),
        Err(i) => Err(Ok(i)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/inventory").into_response()),
        Err(Ok(i)) => inventory_page(&st, &caller, &csrf, clinic, v, Some(i)).await,
        Err(Err(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "lot.html")]
struct LotPage {
    shell: Shell,
    lot: Lot,
    state: &'static str,
    recalled: String,
    notified: String,
    uses: Vec<(i64, i64, String, String, String)>,
    patients: usize,
    no_contact: Vec<String>,
    movements: Vec<(String, i64, String, Option<i64>)>,
    problem: Option<String>,
    reason: String,
}

async fn lot_view(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    lot: Lot,
    problem: Option<String>,
    reason: String,
) -> Result<Response, PageError> {
    let clinic = st.store.clinic(lot.clinic_id).await?;
    let zone = clinic.details.time_zone.clone();
    let today = crate::clinical::clinic_today(st, lot.clinic_id).await?;
    let uses = st.store.lot_uses(lot.id).await?;
    let mut seen = std::collections::HashSet::new();
    let mut no_contact = vec![];
    for u in &uses {
        if seen.insert(u.patient_id) && u.email.is_none() && u.phone.is_none() {
            no_contact.push(u.patient_name.clone());
        }
    }
    let failed = problem.is_some();
    let page = LotPage {
        shell: Shell::new(caller, csrf, "inventory"),
        state: lot_state(&lot, today),
        recalled: lot
            .recalled_at
            .map_or(String::new(), |t| local_time(t, &zone)),
        notified: lot
            .recall_notified_at
            .map_or(String::new(), |t| local_time(t, &zone)),
        patients: seen.len(),
        uses: uses
            .iter()
            .map(|u| {
                (
                    u.chart_id,
                    u.patient_id,
                    u.patient_name.clone(),
                    local_time(u.used_at, &zone),
                    u.email
                        .clone()
                        .or(u.phone.clone())
                        .unwrap_or_else(|| "no contact details".into()),
                )
            })
            .collect(),
        no_contact,
        movements: st
            .store
            .stock_movements(lot.id)
            .await?
            .into_iter()
            .map(|m| (local_time(m.at, &zone), m.delta, m.reason, m.chart_id))
            .collect(),
        lot,
        problem,
        reason,
    };
    let code = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((code, render(&page)).into_response())
}

async fn visible_lot(st: &AppState, caller: &Caller, id: i64) -> Result<Lot, PageError> {
    let l = st.store.lot(id).await?;
    if caller.sees_clinic(l.clinic_id) {
        Ok(l)
    } else {
        Err(PageError::NotFound)
    }
}

pub async fn lot_page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lot = visible_lot(&st, &caller, id).await?;
    lot_view(&st, &caller, &csrf, lot, None, String::new()).await
}

pub async fn count(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lot = visible_lot(&st, &caller, id).await?;
    let v = FormValues(f);
    match whole("quantity", v.get("quantity"), 0..=100_000) {
        Ok(q) => {
            st.store
                .count_lot(id, q, &caller.actor(), needlepoint_store::now())
                .await?;
            Ok(Redirect::to("/inventory").into_response())
        }
        Err(i) => {
            let m = format!("Count: {}", i.errors[0].message);
            if caller.role == needlepoint_domain::Role::FrontDesk {
                return Err(PageError::BadRequest(m));
            }
            lot_view(&st, &caller, &csrf, lot, Some(m), String::new()).await
        }
    }
}

pub async fn recall(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lot = visible_lot(&st, &caller, id).await?;
    let v = FormValues(f);
    let reason = v.get("reason").trim().to_string();
    if reason.is_empty() || reason.chars().count() > 500 {
        return lot_view(
            &st,
            &caller,
            &csrf,
            lot,
            Some(
                "Give the reason for the recall (the maker's notice), up to 500 characters.".into(),
            ),
            reason,
        )
        .await;
    }
    match st
        .store
        .recall_lot(id, &reason, &caller.actor(), needlepoint_store::now())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/inventory/lots/{id}")).into_response()),
        Err(StoreError::Conflict(m)) => lot_view(&st, &caller, &csrf, lot, Some(m), reason).await,
        Err(e) => Err(e.into()),
    }
}

/// Queues one message to every patient who had the lot, once.
pub async fn notify(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lot = visible_lot(&st, &caller, id).await?;
    match crate::outbox::notify_recall(&st, id, &caller.actor()).await {
        Ok(_) => Ok(Redirect::to(&format!("/inventory/lots/{id}")).into_response()),
        Err(StoreError::Conflict(m)) => {
            lot_view(&st, &caller, &csrf, lot, Some(m), String::new()).await
        }
        Err(e) => Err(e.into()),
    }
}
