//! Inventory: each clinic's devices, needle cartridges, rollers and
//! products with their lots; receiving and counting stock; a lot's page with
//! every session that used it, and its recall.

use super::forms::FormValues;
use super::ClinicChoice;
use crate::auth::Caller;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::charting::SupplyKind;
use needlepoint_domain::Invalid;
use needlepoint_practice::{access, messages, stock, Error};
use needlepoint_store::{Device, Lot, SupplyItem};
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
    /// With two or more clinics, the way to each: (id, name, shown).
    choices: Vec<(i64, String, bool)>,
    /// "Every clinic" may be chosen (and is, when no clinic is).
    every: bool,
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

async fn inventory_page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    shown: i64,
    form_clinic: i64,
    v: FormValues,
    problem: Option<Invalid>,
) -> Result<Response, PageError> {
    let all = st.store.clinics_for_staff(caller.staff.id).await?;
    // One clinic at a time for a chain: the one asked for (or whose form is
    // being corrected), else the first.
    let asked = [shown, form_clinic].into_iter().find(|id| *id != 0);
    let pick = ClinicChoice::of(&all, asked)?;
    let mut clinics = vec![];
    for c in all.into_iter().filter(|c| pick.shows(c.id)) {
        let now = stock::stock(st, caller, c.id).await?;
        clinics.push(ClinicStock {
            id: c.id,
            name: c.details.name,
            devices: st.store.devices(c.id).await?,
            items: now.items,
            lots: now
                .lots
                .iter()
                .map(|(l, state)| LotRow {
                    id: l.id,
                    item: l.item_name.clone(),
                    lot_number: l.lot_number.clone(),
                    expires_on: crate::view::long_date(l.expires_on),
                    quantity: l.quantity,
                    state: state.label(),
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
        choices: pick.choices,
        every: pick.every,
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

#[derive(serde::Deserialize)]
pub struct InventoryQuery {
    clinic: Option<String>,
}

pub async fn page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<InventoryQuery>,
) -> Result<Response, PageError> {
    let shown = super::asked_clinic(q.clinic.as_deref())?.unwrap_or(0);
    inventory_page(&st, &caller, &csrf, shown, 0, FormValues::default(), None).await
}

/// Back to the clinic's stock after a change, where the change shows.
fn back_to(clinic: i64) -> String {
    format!("/inventory?clinic={clinic}#clinic-{clinic}")
}

fn clinic_of(caller: &Caller, v: &FormValues) -> Result<i64, PageError> {
    v.get("clinic_id")
        .parse()
        .ok()
        .filter(|c| caller.sees_clinic(*c))
        .ok_or(PageError::NotFound)
}

/// A whole number as typed; `None` when it is not one (the service says
/// what is wanted).
fn number(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

pub async fn add_item(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let clinic = clinic_of(&caller, &v)?;
    let input = stock::ItemInput {
        clinic_id: clinic,
        kind: v.get("kind").into(),
        name: v.get("name").into(),
        supplier: v.get("supplier").into(),
        intradermal: v.get("intradermal") == "1",
        reorder_at: match v.get("reorder_at").trim() {
            "" => Some(0),
            n => number(n),
        },
    };
    match stock::add_item(&st, &caller, &input).await {
        Ok(_) => Ok(Redirect::to(&back_to(clinic)).into_response()),
        Err(Error::Invalid(i)) => inventory_page(&st, &caller, &csrf, 0, clinic, v, Some(i)).await,
        Err(e) => Err(e.into()),
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
    let input = stock::LotInput {
        item_id: number(v.get("item_id")),
        lot_number: v.get("lot_number").into(),
        expires_on: v.get("expires_on").into(),
        quantity: number(v.get("quantity")),
    };
    match stock::receive(&st, &caller, &input).await {
        Ok(_) => Ok(Redirect::to(&back_to(clinic)).into_response()),
        Err(Error::Invalid(i)) => inventory_page(&st, &caller, &csrf, 0, clinic, v, Some(i)).await,
        Err(e) => Err(e.into()),
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
    /// The adverse events the lot is suspected in: (event, patient id,
    /// patient, term and grade, onset).
    adverse: Vec<(i64, i64, String, String, String)>,
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
    let state = stock::lot_state(st, &lot).await?;
    let uses = st.store.lot_uses(lot.id).await?;
    let mut seen = std::collections::HashSet::new();
    let mut no_contact = vec![];
    for u in &uses {
        if seen.insert(u.patient_id) && u.email.is_none() && u.phone.is_none() {
            no_contact.push(u.patient_name.clone());
        }
    }
    let failed = problem.is_some();
    let kb = st.clinic_kb(lot.clinic_id).await?;
    let events = st.store.lot_adverse_events(lot.id).await?;
    let names = st
        .patient_names(&events.iter().map(|e| e.patient_id).collect::<Vec<_>>())
        .await?;
    let adverse = events
        .iter()
        .map(|e| {
            let ev = &e.current().event;
            let term = kb
                .ae_terms
                .iter()
                .find(|t| t.code == ev.term)
                .map_or(ev.term.clone(), |t| t.term.clone());
            (
                e.id,
                e.patient_id,
                names.get(&e.patient_id).cloned().unwrap_or_default(),
                format!("{term}, grade {}", ev.grade),
                needlepoint_domain::dates::long_date(ev.onset),
            )
        })
        .collect();
    let page = LotPage {
        adverse,
        shell: Shell::new(caller, csrf, "inventory"),
        state: state.label(),
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

pub async fn lot_page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lot = access::lot(&st, &caller, id).await?;
    lot_view(&st, &caller, &csrf, lot, None, String::new()).await
}

pub async fn count(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lot = access::lot(&st, &caller, id).await?;
    let v = FormValues(f);
    match stock::count(&st, &caller, id, number(v.get("quantity"))).await {
        Ok(_) => Ok(Redirect::to(&back_to(lot.clinic_id)).into_response()),
        Err(e @ Error::Invalid(_)) => {
            let m = format!("Count: {}", e.message());
            if caller.role == needlepoint_domain::Role::FrontDesk {
                return Err(PageError::BadRequest(m));
            }
            lot_view(&st, &caller, &csrf, lot, Some(m), String::new()).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn recall(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lot = access::lot(&st, &caller, id).await?;
    let v = FormValues(f);
    let reason = v.get("reason").trim().to_string();
    show_outcome(&st, &caller, &csrf, lot, reason.clone(), async {
        stock::recall(&st, &caller, id, &reason, false)
            .await
            .map(|_| ())
    })
    .await
}

/// Queues one message to every patient who had the lot, once.
pub async fn notify(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lot = access::lot(&st, &caller, id).await?;
    show_outcome(&st, &caller, &csrf, lot, String::new(), async {
        messages::notify_recall(&st, &caller, id).await.map(|_| ())
    })
    .await
}

/// Back to the lot when the change is made, else the lot again with why not.
async fn show_outcome(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    lot: Lot,
    reason: String,
    change: impl std::future::Future<Output = Result<(), Error>>,
) -> Result<Response, PageError> {
    let id = lot.id;
    match change.await {
        Ok(()) => Ok(Redirect::to(&format!("/inventory/lots/{id}")).into_response()),
        Err(e) if e.is_answer_to_input() => {
            lot_view(st, caller, csrf, lot, Some(e.message()), reason).await
        }
        Err(e) => Err(e.into()),
    }
}
