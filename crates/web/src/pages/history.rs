//! A patient's history, edited one change at a time; each change saves a
//! new version and the earlier ones stay. Intake answers waiting for review
//! are shown here to be confirmed into the history.

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
use needlepoint_domain::history::*;
use needlepoint_domain::knowledge::KnowledgeBase;
use needlepoint_domain::screening::roman;
use needlepoint_domain::Invalid;
use needlepoint_practice::screening::with_birth_date;
use needlepoint_practice::{access, history, Error};
use needlepoint_store::{IntakeSubmission, Patient};

/// One recorded item, as listed with its remove button.
pub struct Item {
    pub section: &'static str,
    pub index: usize,
    pub text: String,
    /// An action that closes it (resolve a condition, stop a medicine).
    pub close: Option<&'static str>,
}

fn area_names(kb: &KnowledgeBase, areas: &[String]) -> String {
    areas
        .iter()
        .map(|a| kb.area(a).map_or(a.as_str(), |x| x.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn name(list: &[needlepoint_domain::knowledge::Recordable], code: &str) -> String {
    list.iter()
        .find(|r| r.code == code)
        .map_or(code.to_string(), |r| r.name.clone())
}

/// The history in words, item by item.
pub fn items(kb: &KnowledgeBase, h: &PatientHistory) -> Vec<Item> {
    let mut out = vec![];
    for (i, c) in h.conditions.iter().enumerate() {
        let mut t = name(&kb.conditions, &c.code);
        if !c.areas.is_empty() {
            t += &format!(" — {}", area_names(kb, &c.areas));
        }
        if let Some(ctl) = c.controlled {
            t += if ctl {
                ", controlled"
            } else {
                ", not controlled"
            };
        }
        if let Some(s) = c.since {
            t += &format!(", since {s}");
        }
        if let Some(r) = c.resolved_on {
            t += &format!(", resolved {r}");
        }
        if let Some(n) = &c.note {
            t += &format!(" ({n})");
        }
        out.push(Item {
            section: "conditions",
            index: i,
            text: t,
            close: c.resolved_on.is_none().then_some("resolve"),
        });
    }
    for (i, m) in h.medications.iter().enumerate() {
        let t = format!(
            "{}{}{}{}",
            name(&kb.medications, &m.code),
            m.started_on
                .map(|s| format!(", from {s}"))
                .unwrap_or_default(),
            m.stopped_on
                .map(|s| format!(", stopped {s}"))
                .unwrap_or_else(|| ", taken now".into()),
            m.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        out.push(Item {
            section: "medications",
            index: i,
            text: t,
            close: m.stopped_on.is_none().then_some("stop"),
        });
    }
    for (i, a) in h.allergies.iter().enumerate() {
        out.push(Item {
            section: "allergies",
            index: i,
            text: format!(
                "Allergy: {}{}",
                name(&kb.allergies, &a.code),
                a.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
            close: None,
        });
    }
    for (i, e) in h.events.iter().enumerate() {
        let w = if e.areas.is_empty() {
            String::new()
        } else {
            format!(" — {}", area_names(kb, &e.areas))
        };
        out.push(Item {
            section: "events",
            index: i,
            text: format!("{} on {}{w}", name(&kb.events, &e.code), e.on),
            close: None,
        });
    }
    for (i, c) in h.concerns.iter().enumerate() {
        let ind = kb
            .indication(&c.indication)
            .map_or(c.indication.clone(), |x| x.name.clone());
        out.push(Item {
            section: "concerns",
            index: i,
            text: format!(
                "Wants treated: {ind} — {} ({})",
                area_names(kb, std::slice::from_ref(&c.area)),
                c.severity.as_str()
            ),
            close: None,
        });
    }
    for (i, n) in h.notes.iter().enumerate() {
        out.push(Item {
            section: "notes",
            index: i,
            text: format!("The patient wrote: {n}"),
            close: None,
        });
    }
    out
}

pub struct Pending {
    id: i64,
    submitted: String,
    adds: Vec<Item>,
    basics: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    shell: Shell,
    kb: KnowledgeBase,
    id: i64,
    name: String,
    version: Option<String>,
    basics: String,
    pregnant: bool,
    breastfeeding: bool,
    fitzpatrick: u8,
    /// Each Fitzpatrick type: number, numeral, description.
    skin_types: Vec<(u8, &'static str, String)>,
    items: Vec<Item>,
    pending: Vec<Pending>,
    /// Which form failed, and why.
    error_op: String,
    errors: Invalid,
    form: FormValues,
    today: String,
}

pub fn skin_types(kb: &KnowledgeBase) -> Vec<(u8, &'static str, String)> {
    kb.fitzpatrick
        .iter()
        .map(|g| (g.skin_type, roman(g.skin_type), g.description.clone()))
        .collect()
}

fn basics(h: &PatientHistory) -> String {
    let mut parts = vec![match h.fitzpatrick {
        Some(t) => format!("Fitzpatrick skin type {}", roman(t)),
        None => "Skin type not recorded".into(),
    }];
    if h.pregnant {
        parts.push("pregnant".into());
    }
    if h.breastfeeding {
        parts.push("breastfeeding".into());
    }
    parts.join(" · ")
}

async fn page(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    p: &Patient,
    error: Option<(String, Invalid, FormValues)>,
) -> Result<HistoryPage, PageError> {
    let kb = st.clinic_kb(p.clinic_id).await?;
    let clinic = st.store.clinic(p.clinic_id).await?;
    let current = st.store.current_history(p.id).await?;
    let h = with_birth_date(p, current.as_ref());
    let pending = st
        .store
        .pending_intakes(p.id)
        .await?
        .into_iter()
        .map(|s: IntakeSubmission| {
            let merged = history::merge(&h, &s.history);
            let adds = items(&kb, &merged)
                .into_iter()
                .filter(|i| !items(&kb, &h).iter().any(|j| j.text == i.text))
                .collect();
            Pending {
                id: s.id,
                submitted: local_time(s.submitted_at, &clinic.details.time_zone),
                adds,
                basics: basics(&s.history),
            }
        })
        .collect();
    let (error_op, errors, form) = error.unwrap_or_default();
    Ok(HistoryPage {
        shell: Shell::new(caller, csrf, "patients"),
        id: p.id,
        name: p.details.full_name(),
        version: current.as_ref().map(|v| {
            format!(
                "Version {} · {} · {}{}",
                v.version,
                local_time(v.created_at, &clinic.details.time_zone),
                v.created_by_name.clone().unwrap_or_else(|| "—".into()),
                if v.source == "intake" {
                    " (from the patient's intake answers)"
                } else {
                    ""
                }
            )
        }),
        basics: basics(&h),
        pregnant: h.pregnant,
        breastfeeding: h.breastfeeding,
        fitzpatrick: h.fitzpatrick.unwrap_or(0),
        skin_types: skin_types(&kb),
        items: items(&kb, &h),
        pending,
        error_op,
        errors,
        form,
        today: st.clinic_today(p.clinic_id).await?.to_string(),
        kb,
    })
}

pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (p, _) = history::view(&st, &caller, id).await?;
    Ok(render(&page(&st, &caller, &csrf, &p, None).await?))
}

fn date(v: &FormValues, field: &str, inv: &mut Invalid) -> Option<Date> {
    let s = v.get(field).trim();
    if s.is_empty() {
        return None;
    }
    inv.check(needlepoint_domain::patient::parse_date(field, s))
}

fn required_date(v: &FormValues, field: &str, inv: &mut Invalid) -> Option<Date> {
    if v.get(field).trim().is_empty() {
        inv.push(field, "This field is required.");
        return None;
    }
    date(v, field, inv)
}

fn strings(v: &FormValues, field: &str) -> Vec<String> {
    v.all(field).into_iter().map(str::to_string).collect()
}

/// Applies one change from a form to a history.
fn apply(op: &str, v: &FormValues, h: &mut PatientHistory) -> Result<(), Invalid> {
    let mut inv = Invalid::default();
    let index = |inv: &mut Invalid| {
        v.get("index")
            .parse::<usize>()
            .map_err(|_| inv.push("index", "Which entry?"))
            .ok()
    };
    match op {
        "basics" => {
            h.pregnant = v.get("pregnant") == "yes";
            h.breastfeeding = v.get("breastfeeding") == "yes";
            h.fitzpatrick = match v.get("fitzpatrick") {
                "" | "0" => None,
                t => inv.check(
                    t.parse::<u8>()
                        .ok()
                        .filter(|t| (1..=6).contains(t))
                        .ok_or_else(|| {
                            needlepoint_domain::FieldError::new(
                                "fitzpatrick",
                                "Choose a skin type from I to VI.",
                            )
                        }),
                ),
            };
        }
        "add_condition" => {
            let since = date(v, "since", &mut inv);
            h.conditions.push(ConditionEntry {
                code: v.get("code").into(),
                areas: strings(v, "areas"),
                since,
                resolved_on: None,
                controlled: match v.get("controlled") {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                },
                note: None,
            });
        }
        "add_medication" => {
            let (started_on, stopped_on) = (
                date(v, "started_on", &mut inv),
                date(v, "stopped_on", &mut inv),
            );
            h.medications.push(MedicationEntry {
                code: v.get("code").into(),
                started_on,
                stopped_on,
                note: None,
            });
        }
        "add_allergy" => h.allergies.push(AllergyEntry {
            code: v.get("code").into(),
            note: None,
        }),
        "add_event" => {
            if let Some(on) = required_date(v, "on", &mut inv) {
                h.events.push(EventEntry {
                    code: v.get("code").into(),
                    on,
                    areas: strings(v, "areas"),
                    note: None,
                });
            }
        }
        "add_concern" => {
            let severity = Severity::ALL
                .into_iter()
                .find(|s| s.as_str() == v.get("severity"));
            match severity {
                Some(severity) => h.concerns.push(Concern {
                    indication: v.get("indication").into(),
                    area: v.get("area").into(),
                    severity,
                }),
                None => inv.push("severity", "Choose mild, moderate or severe."),
            }
        }
        "resolve" | "stop" => {
            let when = required_date(v, "on", &mut inv);
            if let (Some(i), Some(when)) = (index(&mut inv), when) {
                match (op, v.get("section")) {
                    ("resolve", "conditions") if i < h.conditions.len() => {
                        h.conditions[i].resolved_on = Some(when)
                    }
                    ("stop", "medications") if i < h.medications.len() => {
                        h.medications[i].stopped_on = Some(when)
                    }
                    _ => inv.push("index", "That entry no longer exists; reload the page."),
                }
            }
        }
        "remove" => {
            if let Some(i) = index(&mut inv) {
                let removed = match v.get("section") {
                    "conditions" if i < h.conditions.len() => h.conditions.remove(i).code,
                    "medications" if i < h.medications.len() => h.medications.remove(i).code,
                    "allergies" if i < h.allergies.len() => h.allergies.remove(i).code,
                    "events" if i < h.events.len() => h.events.remove(i).code,
                    "concerns" if i < h.concerns.len() => h.concerns.remove(i).indication,
                    "notes" if i < h.notes.len() => h.notes.remove(i),
                    _ => String::new(),
                };
                if removed.is_empty() {
                    inv.push("index", "That entry no longer exists; reload the page.");
                }
            }
        }
        _ => inv.push("op", "Unknown change."),
    }
    inv.into_result()
}

/// Where an error from the whole-history check belongs on the form that
/// added the last entry: `conditions[3].since` → `since`.
fn on_form(field: &str) -> String {
    field.rsplit('.').next().unwrap_or(field).to_string()
}

pub async fn change(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = access::patient(&st, &caller, id).await?;
    let v = FormValues(f);
    let op = v.get("op").to_string();
    let current = st.store.current_history(id).await?;
    let mut h = with_birth_date(&p, current.as_ref());
    let errors = match apply(&op, &v, &mut h) {
        Ok(()) => match history::record(&st, &caller, id, &h, "clinician").await {
            Ok(_) => None,
            // The whole-history check names fields like `conditions[3].since`.
            Err(Error::Invalid(e)) => Some(Invalid {
                errors: e
                    .errors
                    .into_iter()
                    .map(|fe| needlepoint_domain::FieldError::new(on_form(&fe.field), fe.message))
                    .collect(),
            }),
            Err(e) => return Err(e.into()),
        },
        Err(inv) => Some(inv),
    };
    if let Some(errors) = errors {
        let page = page(&st, &caller, &csrf, &p, Some((op, errors, v))).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    Ok(Redirect::to(&format!("/patients/{id}/history")).into_response())
}

pub async fn confirm_intake(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, sub)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    history::confirm_intake(&st, &caller, id, sub).await?;
    Ok(Redirect::to(&format!("/patients/{id}/history")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_changes_apply_or_name_the_field() {
        let mut h = PatientHistory::default();
        let v = |pairs: &[(&str, &str)]| {
            FormValues(
                pairs
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            )
        };
        apply(
            "add_event",
            &v(&[
                ("code", "filler"),
                ("on", "2026-11-01"),
                ("areas", "cheeks"),
                ("areas", "nose"),
            ]),
            &mut h,
        )
        .unwrap();
        assert_eq!(h.events[0].areas, ["cheeks", "nose"]);
        let e = apply("add_event", &v(&[("code", "filler"), ("on", "")]), &mut h).unwrap_err();
        assert_eq!(e.errors[0].field, "on");
        let e = apply(
            "add_medication",
            &v(&[("code", "isotretinoin"), ("stopped_on", "2026-02-30")]),
            &mut h,
        )
        .unwrap_err();
        assert_eq!(e.errors[0].field, "stopped_on");
        apply(
            "remove",
            &v(&[("section", "events"), ("index", "0")]),
            &mut h,
        )
        .unwrap();
        assert!(h.events.is_empty());
        assert!(apply(
            "remove",
            &v(&[("section", "events"), ("index", "0")]),
            &mut h
        )
        .is_err());
    }
}
