//! The patient's own page, phone first and working without JavaScript:
//! sign-in by a one-time code or link, upcoming appointments to move or
//! cancel inside the clinic's policy (the fee shown before confirming),
//! where they are in healing today, and check-ins to answer. A session
//! sees only its patient: anything else is not found.

use super::forms::FormValues;
use crate::csrf::CsrfToken;
use crate::error::PageError;
use crate::view::{local_time, render};
use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use needlepoint_domain::clinic::format_money;
use needlepoint_practice::{checkins, portal, Error};
use needlepoint_store::{CodeRefusal, Patient};
use std::net::SocketAddr;

fn ip(addr: &ConnectInfo<SocketAddr>) -> Option<String> {
    Some(addr.0.ip().to_string())
}

/// The signed-in patient, if any.
async fn patient(st: &AppState, headers: &HeaderMap) -> Result<Option<Patient>, PageError> {
    match crate::auth::cookie(headers, st.config.patient_cookie()) {
        Some(token) if !token.is_empty() => Ok(portal::patient_of(st, token).await?),
        _ => Ok(None),
    }
}

/// The signed-in patient, or the way to the sign-in page.
async fn signed_in(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Patient, Response>, PageError> {
    Ok(match patient(st, headers).await? {
        Some(p) => Ok(p),
        None => Err(Redirect::to("/me/sign-in").into_response()),
    })
}

fn session_cookie(st: &AppState, token: &str, max_age: i64) -> String {
    crate::auth::set_cookie(
        st.config.patient_cookie(),
        token,
        max_age,
        "Lax",
        st.config.secure_cookies,
    )
}

#[derive(Template)]
#[template(path = "portal_sign_in.html")]
struct SignInPage {
    csrf: String,
    /// Asking for the code (the address was given).
    code_step: bool,
    address: String,
    notice: Option<String>,
    error: Option<String>,
    /// Which field the error is about.
    error_field: &'static str,
}

fn sign_in_page(csrf: &CsrfToken) -> SignInPage {
    SignInPage {
        csrf: csrf.0.clone(),
        code_step: false,
        address: String::new(),
        notice: None,
        error: None,
        error_field: "",
    }
}

pub async fn sign_in_form(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if patient(&st, &headers).await?.is_some() {
        return Ok(Redirect::to("/me").into_response());
    }
    Ok(render(&sign_in_page(&csrf)))
}

pub async fn send_code(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let site = crate::view::site_url(&st, &headers);
    let mut page = sign_in_page(&csrf);
    page.address = v.get("address").trim().to_string();
    match portal::send_code(&st, &page.address, &site).await {
        Ok(()) => {
            page.code_step = true;
            page.notice = Some(format!(
                "If {} is the e-mail or mobile number you gave a clinic, a code is on its way. It works for {} minutes.",
                page.address,
                portal::CODE_MINUTES
            ));
            Ok(render(&page))
        }
        Err(Error::Invalid(inv)) => {
            page.error = Some(inv.summary());
            page.error_field = "address";
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn enter_code(
    State(st): State<AppState>,
    csrf: CsrfToken,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let mut page = sign_in_page(&csrf);
    page.address = v.get("address").trim().to_string();
    page.code_step = true;
    let (status, error, field) = match portal::sign_in_with_code(&st, &page.address, v.get("code")).await {
        Ok(Ok(token)) => {
            return Ok((
                [(
                    header::SET_COOKIE,
                    session_cookie(&st, &token, portal::SESSION_HOURS * 3600),
                )],
                Redirect::to("/me"),
            )
                .into_response())
        }
        Ok(Err(CodeRefusal::Wrong)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That code is not right, or it has expired or been used. Check the latest message, or ask for a new code.".to_string(),
            "code",
        ),
        // The lock is the same for an address nobody gave: it says
        // nothing of whether a patient has it.
        Ok(Err(CodeRefusal::Locked(until))) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many wrong codes: signing in with this address is paused for {} more minutes. Then ask for a new code.",
                until.duration_since(st.now()).as_mins().max(1)
            ),
            "code",
        ),
        Err(Error::Invalid(inv)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            inv.summary(),
            if inv.message_for("address").is_some() { "address" } else { "code" },
        ),
        Err(e) => return Err(e.into()),
    };
    page.error = Some(error);
    page.error_field = field;
    Ok((status, render(&page)).into_response())
}

pub async fn link(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match portal::sign_in_with_link(&st, &token).await? {
        Some(t) => Ok((
            [(
                header::SET_COOKIE,
                session_cookie(&st, &t, portal::SESSION_HOURS * 3600),
            )],
            Redirect::to("/me"),
        )
            .into_response()),
        None => Ok((
            StatusCode::GONE,
            render(&super::intake::DonePage {
                title: "This link does not work",
                message: "Sign-in links work once, for a short time. Ask for a new code on the sign-in page.".into(),
            }),
        )
            .into_response()),
    }
}

pub async fn sign_out(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(token) = crate::auth::cookie(&headers, st.config.patient_cookie()) {
        portal::sign_out(&st, token).await?;
    }
    Ok((
        [(header::SET_COOKIE, session_cookie(&st, "", 0))],
        Redirect::to("/me/sign-in"),
    )
        .into_response())
}

/// An appointment as the patient's page lists it.
pub struct MyAppointment {
    id: i64,
    what: String,
    when: String,
    status: &'static str,
    changeable: bool,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct HomePage {
    csrf: String,
    clinic: String,
    clinic_phone: String,
    first_name: String,
    notice: Option<&'static str>,
    upcoming: Vec<MyAppointment>,
    /// Check-ins to answer now: (id, day).
    checkins: Vec<(i64, u32)>,
    /// Health answers she sent that wait for a clinician.
    pending_history: usize,
    /// Her photos, when the clinic shares them: (id, view, when).
    photos: Vec<(i64, String, String)>,
    /// Her plans, newest first: (id, title, status, consent signed).
    plans: Vec<(i64, String, &'static str, bool)>,
    /// Where the last session's healing is: (when it was, what to do now,
    /// what is normal now, warning signs).
    healing: Option<Healing>,
    /// The home-care log, newest first: (day, area, needle, warnings).
    home_care: Vec<(String, String, String, Vec<String>)>,
    /// The warnings of the rolling just logged.
    just_logged: Option<Vec<String>>,
    areas: Vec<(String, String)>,
    /// Her account in a line (owed, on account), when she has one.
    balance: Option<String>,
    /// Each open package: "3 of 4 sessions left".
    packages: Vec<String>,
    /// Her invoices: (id, number, date, due, something to pay).
    invoices: Vec<(i64, String, String, String, bool)>,
    /// Online payment is offered (the clinic has a provider set up).
    online: bool,
    form: FormValues,
    errors: needlepoint_domain::Invalid,
}

impl HomePage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.message_for(field)
    }
    fn is(&self, field: &str, value: &str) -> bool {
        self.form.has(field, value)
    }
}

pub struct Healing {
    session: String,
    duties: Vec<String>,
    expect: Vec<String>,
    warnings: Vec<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct HomeQuery {
    done: Option<String>,
    logged: Option<i64>,
    /// Back from the payment provider's checkout.
    paid: Option<i64>,
}

pub async fn home(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HomeQuery>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    Ok(render(
        &home_page(&st, &csrf, &p, q, FormValues::default(), Default::default()).await?,
    ))
}

async fn home_page(
    st: &AppState,
    csrf: &CsrfToken,
    p: &Patient,
    q: HomeQuery,
    form: FormValues,
    errors: needlepoint_domain::Invalid,
) -> Result<HomePage, PageError> {
    let kb = st.clinic_kb(p.clinic_id).await?;
    let log = st.store.home_care(p.id).await?;
    let just_logged = q
        .logged
        .and_then(|id| log.iter().find(|e| e.id == id))
        .map(|e| e.warnings.clone());
    let home_care = log
        .iter()
        .rev()
        .map(|e| {
            (
                needlepoint_domain::dates::long_date(e.used_on),
                kb.area(&e.area).map_or(e.area.clone(), |a| a.name.clone()),
                e.home_use()
                    .map(|u| u.needle.to_string())
                    .unwrap_or_default(),
                e.warnings.clone(),
            )
        })
        .collect();
    let clinic = st.store.clinic(p.clinic_id).await?.details;
    let clinic_zone = clinic.time_zone.clone();
    let now = st.now();
    let appts = st.store.patient_appointments(p.id).await?;
    let upcoming = appts
        .iter()
        .filter(|a| a.ends_at > now && a.status.holds_time())
        .map(|a| MyAppointment {
            id: a.id,
            what: super::appointments::kind_label(a),
            when: local_time(a.starts_at, &a.time_zone),
            status: a.status.label(),
            changeable: a.status == needlepoint_domain::appointment::AppointmentStatus::Booked
                && a.starts_at > now,
        })
        .collect();
    let checkins = st
        .store
        .patient_checkins(p.id)
        .await?
        .into_iter()
        .filter(|c| c.due_at <= now && c.expires_at > now && c.answered_at.is_none())
        .map(|c| (c.id, c.day))
        .collect();
    let mut plans = vec![];
    for r in st.store.plans(p.id).await?.into_iter().rev() {
        if r.status == needlepoint_domain::plan::PlanStatus::Cancelled {
            continue;
        }
        let signed = st
            .store
            .consents(r.id)
            .await?
            .iter()
            .any(|c| c.plan_version == r.version);
        plans.push((
            r.id,
            super::patients::plan_title(&kb, &r),
            r.status.label(),
            signed,
        ));
    }
    let acc = st.store.patient_account(p.id).await?;
    let currency = st.store.clinic_pricing(p.clinic_id).await?.currency;
    Ok(HomePage {
        csrf: csrf.0.clone(),
        clinic_phone: clinic.phone.clone().unwrap_or_default(),
        clinic: clinic.name,
        first_name: p.details.given_name.clone(),
        notice: match q.done.as_deref() {
            Some("moved") => {
                Some("Your appointment has moved. A message with the new time is on its way.")
            }
            Some("cancelled") => {
                Some("Your appointment is cancelled. A message confirming it is on its way.")
            }
            _ if q.paid.is_some() => {
                Some("Thank you: your payment is being confirmed and will show here in a moment.")
            }
            _ => None,
        },
        upcoming,
        checkins,
        plans,
        pending_history: st.store.pending_intakes(p.id).await?.len(),
        photos: if st.store.photo_sharing(p.clinic_id).await? {
            st.store
                .patient_photos(p.id)
                .await?
                .into_iter()
                .rev()
                .map(|ph| {
                    // A chart's view by its name ("Front"); a check-in's as kept.
                    let view =
                        needlepoint_domain::charting::view_label(&kb, &ph.view).unwrap_or(ph.view);
                    (ph.id, view, local_time(ph.created_at, &clinic_zone))
                })
                .collect()
        } else {
            vec![]
        },
        healing: healing(st, p).await?,
        home_care,
        just_logged,
        areas: kb
            .areas
            .iter()
            .map(|a| (a.code.clone(), a.name.clone()))
            .collect(),
        balance: match acc.balance_minor {
            0 if acc.invoices.is_empty() && acc.payments.is_empty() => None,
            0 => Some("Your account is settled.".to_string()),
            b if b < 0 => Some(format!("You owe {}.", format_money(-b, &currency))),
            b => Some(format!(
                "{} is held on your account.",
                format_money(b, &currency)
            )),
        },
        packages: acc
            .packages
            .iter()
            .filter(|k| k.closed_at.is_none())
            .map(|k| {
                format!(
                    "Your course package: {} of {} sessions left.",
                    k.left(),
                    k.sessions
                )
            })
            .collect(),
        invoices: acc
            .invoices
            .iter()
            .rev()
            .map(|i| {
                (
                    i.id,
                    i.label(),
                    needlepoint_domain::dates::long_date(i.issued_on),
                    format_money(i.due_minor(), &i.currency),
                    i.due_minor() > 0,
                )
            })
            .collect(),
        online: st.config.payments.is_some(),
        form,
        errors,
    })
}

/// The patient logs a home rolling; the clinic's home-care rules warn
/// her at once, on the page she comes back to.
pub async fn log_home_care(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    addr: ConnectInfo<SocketAddr>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let v = FormValues(f);
    let (input, inflamed) = home_use_input(&v);
    match needlepoint_practice::homecare::log(
        &st,
        &p,
        &input,
        inflamed,
        &portal::actor(&p, ip(&addr)),
    )
    .await
    {
        Ok(e) => Ok(Redirect::to(&format!("/me?logged={}#home-care", e.id)).into_response()),
        Err(Error::Invalid(inv)) => {
            let page = home_page(&st, &csrf, &p, HomeQuery::default(), v, inv).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The home-care form's fields, and whether the skin was inflamed (`None`
/// when unanswered: nothing is answered for the patient).
pub fn home_use_input(
    v: &FormValues,
) -> (needlepoint_domain::homecare::HomeUseInput<'_>, Option<bool>) {
    (
        needlepoint_domain::homecare::HomeUseInput {
            on: v.get("on"),
            area: v.get("area"),
            needle_mm: v.get("needle_mm"),
            inflamed: false,
        },
        match v.get("inflamed") {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    )
}

/// Where the patient is in healing after her last signed session, from
/// its aftercare sheet: what to do and what is normal at this hour.
async fn healing(st: &AppState, p: &Patient) -> Result<Option<Healing>, PageError> {
    let Some(chart) = st
        .store
        .patient_charts(p.id)
        .await?
        .into_iter()
        .filter(|c| c.is_signed())
        .max_by_key(|c| c.signed_at)
    else {
        return Ok(None);
    };
    let sx = needlepoint_practice::charting::session(st, chart).await?;
    let sheet = needlepoint_practice::charting::aftercare_sheet(st, &sx).await?;
    let since = st.now().duration_since(sx.appointment.ends_at);
    let hours = u32::try_from(since.as_hours().max(0)).unwrap_or(u32::MAX);
    let now = |steps: &[needlepoint_domain::aftercare::Step]| {
        steps
            .iter()
            .filter(|s| s.from_hours <= hours && hours < s.to_hours)
            .map(|s| s.text.clone())
            .collect::<Vec<_>>()
    };
    let (duties, expect) = (now(&sheet.duties), now(&sheet.expect));
    if duties.is_empty() && expect.is_empty() {
        return Ok(None);
    }
    Ok(Some(Healing {
        session: local_time(sx.appointment.starts_at, &sx.appointment.time_zone),
        duties,
        expect,
        warnings: sheet
            .warnings
            .iter()
            .flat_map(|(_, signs)| signs.iter().cloned())
            .collect(),
    }))
}

#[derive(serde::Deserialize)]
pub struct PhotoQuery {
    #[serde(default)]
    thumb: bool,
}

/// One of her own photos, when her clinic shares them; any other is not
/// found.
pub async fn photo(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<PhotoQuery>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let ph = st.store.photo(id).await?;
    if ph.patient_id != p.id || !st.store.photo_sharing(p.clinic_id).await? {
        return Err(PageError::NotFound);
    }
    let path = needlepoint_practice::photos::path(&st.config.data_dir, &ph.sha256, q.thumb);
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(error = %e, path = %path.display(), "photo file missing");
        PageError::NotFound
    })?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

/// She updates her health answers: the intake form, on a link made now.
pub async fn update_history(
    State(st): State<AppState>,
    headers: HeaderMap,
    addr: ConnectInfo<SocketAddr>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let token = portal::intake_link(&st, &p, ip(&addr)).await?;
    Ok(Redirect::to(&format!("/intake/{token}")).into_response())
}

/// One of her plans as printed, with its quote and signed consent.
pub async fn print_plan(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let r = st.store.plan(id).await?;
    if r.patient_id != p.id {
        return Err(PageError::NotFound);
    }
    super::plans::print_page(&st, &p, &r).await
}

pub async fn checkin_form(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let c = checkins::of_patient(&st, p.id, id).await?;
    super::checkins::form(&st, &csrf, &format!("/me/checkins/{id}"), c).await
}

pub async fn checkin_submit(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(id): Path<i64>,
    m: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let c = checkins::of_patient(&st, p.id, id).await?;
    super::checkins::answer(&st, &csrf, &headers, &format!("/me/checkins/{id}"), c, m).await
}

#[derive(Template)]
#[template(path = "portal_change.html")]
struct ChangePage {
    csrf: String,
    id: i64,
    /// "move" or "cancel".
    action: &'static str,
    what: String,
    when: String,
    /// The new time asked for, as typed.
    to: String,
    /// The new time in words, once checked: the confirming step.
    to_words: Option<String>,
    /// The course's later sessions may move along (and are asked to).
    has_later: bool,
    move_later: bool,
    /// The later sessions' new times, in words, once checked.
    later_words: Vec<String>,
    fee: i64,
    fee_words: String,
    policy: String,
    problems: Vec<String>,
}

async fn change_page(
    st: &AppState,
    csrf: &CsrfToken,
    a: &needlepoint_store::Appointment,
    action: &'static str,
) -> Result<ChangePage, PageError> {
    let (policy, fee) = portal::fee_now(st, a).await?;
    let currency = st.store.clinic_pricing(a.clinic_id).await?.currency;
    Ok(ChangePage {
        csrf: csrf.0.clone(),
        id: a.id,
        action,
        what: super::appointments::kind_label(a),
        when: local_time(a.starts_at, &a.time_zone),
        to: String::new(),
        to_words: None,
        has_later: match a.plan_id {
            Some(pid) => {
                needlepoint_practice::booking::booked_sessions(st, &st.store.plan(pid).await?)
                    .await?
                    .iter()
                    .any(|x| x.session_number > a.session_number)
            }
            None => false,
        },
        move_later: false,
        later_words: vec![],
        fee,
        fee_words: format_money(fee, &currency),
        policy: if policy.notice_hours == 0 || policy.fee_minor == 0 {
            "The clinic charges nothing for changing or cancelling an appointment.".into()
        } else {
            format!(
                "Changing or cancelling less than {} hours before the appointment costs {}.",
                policy.notice_hours,
                format_money(policy.fee_minor, &currency)
            )
        },
        problems: vec![],
    })
}

async fn own(
    st: &AppState,
    headers: &HeaderMap,
    id: i64,
) -> Result<Result<(Patient, needlepoint_store::Appointment), Response>, PageError> {
    let p = match signed_in(st, headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(Err(to)),
    };
    let a = portal::appointment(st, &p, id).await?;
    Ok(Ok((p, a)))
}

pub async fn move_form(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, a) = match own(&st, &headers, id).await? {
        Ok(x) => x,
        Err(to) => return Ok(to),
    };
    Ok(render(&change_page(&st, &csrf, &a, "move").await?))
}

pub async fn move_submit(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    addr: ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, a) = match own(&st, &headers, id).await? {
        Ok(x) => x,
        Err(to) => return Ok(to),
    };
    let v = FormValues(f);
    let mut page = change_page(&st, &csrf, &a, "move").await?;
    page.to = v.get("to").trim().to_string();
    page.move_later = v.get("later") == "yes";
    let result = if v.get("confirm") == "yes" {
        let shown = v.get("fee").parse().unwrap_or(-1);
        portal::move_appointment(&st, &p, &a, &page.to, page.move_later, shown, ip(&addr))
            .await
            .map(|_| vec![])
    } else {
        portal::plan_move(&st, &a, &page.to, page.move_later)
            .await
            .map(|moves| {
                moves
                    .iter()
                    .map(|m| local_time(m.starts_at, &a.time_zone))
                    .collect()
            })
    };
    match result {
        Ok(words) if words.is_empty() => Ok(Redirect::to("/me?done=moved").into_response()),
        Ok(mut words) => {
            page.to_words = Some(words.remove(0));
            page.later_words = words;
            Ok(render(&page))
        }
        Err(e) if e.is_answer_to_input() => {
            page.problems = e.lines();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn cancel_form(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (_, a) = match own(&st, &headers, id).await? {
        Ok(x) => x,
        Err(to) => return Ok(to),
    };
    Ok(render(&change_page(&st, &csrf, &a, "cancel").await?))
}

pub async fn cancel_submit(
    State(st): State<AppState>,
    csrf: CsrfToken,
    headers: HeaderMap,
    addr: ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (p, a) = match own(&st, &headers, id).await? {
        Ok(x) => x,
        Err(to) => return Ok(to),
    };
    let v = FormValues(f);
    let shown = v.get("fee").parse().unwrap_or(-1);
    match portal::cancel(&st, &p, &a, shown, ip(&addr)).await {
        Ok(_) => Ok(Redirect::to("/me?done=cancelled").into_response()),
        Err(e) if e.is_answer_to_input() => {
            let mut page = change_page(&st, &csrf, &a, "cancel").await?;
            page.problems = e.lines();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Her own invoice, printable.
pub async fn my_invoice(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let i = st.store.invoice(id).await?;
    if i.patient_id != p.id {
        return Err(PageError::NotFound);
    }
    super::billing::invoice_document(&st, &i, &p, "a4", "/me").await
}

/// Sends her to the payment provider's checkout for what is due.
pub async fn pay_invoice(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = match signed_in(&st, &headers).await? {
        Ok(p) => p,
        Err(to) => return Ok(to),
    };
    let Some(provider) = st.config.payments.clone() else {
        return Err(PageError::NotFound);
    };
    let site = crate::view::site_url(&st, &headers);
    let url =
        needlepoint_practice::payments::start_checkout(&st, provider.0.as_ref(), p.id, id, &site)
            .await?;
    Ok(Redirect::to(&url).into_response())
}
