//! Availability, appointments and course booking over JSON: the same
//! rules and refusals as the pages (see [`needlepoint_practice::booking`]).

use super::ApiJson;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use jiff::civil::{Date, DateTime};
use needlepoint_domain::appointment::AppointmentKind;
use needlepoint_domain::scheduling::Slot;
use needlepoint_domain::Invalid;
use needlepoint_practice::access;
use needlepoint_practice::booking::{self, CancelledBy, MoveRequest, Preferences, Wanted};
use needlepoint_store::{Appointment, Patient, PlanRecord, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentOut {
    pub id: i64,
    pub clinic_id: i64,
    pub patient_id: i64,
    pub plan_id: Option<i64>,
    pub session_number: Option<i64>,
    pub kind: AppointmentKind,
    pub practitioner_id: Option<i64>,
    pub room_id: Option<i64>,
    pub device_id: Option<i64>,
    /// UTC instants.
    pub starts_at: String,
    pub ends_at: String,
    /// The wall-clock start in the clinic's zone.
    pub local_start: String,
    pub time_zone: String,
    pub status: needlepoint_domain::appointment::AppointmentStatus,
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<String>,
    /// A late-cancellation or no-show fee, in minor units.
    pub fee_minor: Option<i64>,
    /// A clinician's reason for booking outside the healing window.
    pub window_override: Option<String>,
    pub moved_from: Option<String>,
    /// The plan's areas this session treats (the tracks due then); absent
    /// for every area of the plan, or for an appointment without a plan.
    pub areas: Option<Vec<String>>,
}

impl From<Appointment> for AppointmentOut {
    fn from(a: Appointment) -> Self {
        AppointmentOut {
            id: a.id,
            clinic_id: a.clinic_id,
            patient_id: a.patient_id,
            plan_id: a.plan_id,
            session_number: a.session_number,
            kind: a.kind,
            practitioner_id: a.practitioner_id,
            room_id: a.room_id,
            device_id: a.device_id,
            starts_at: a.starts_at.to_string(),
            ends_at: a.ends_at.to_string(),
            local_start: a.local_start,
            time_zone: a.time_zone,
            status: a.status,
            cancel_reason: a.cancel_reason,
            cancelled_by: a.cancelled_by,
            fee_minor: a.fee_minor,
            window_override: a.window_override,
            moved_from: a.moved_from,
            areas: a.areas,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotOut {
    pub starts_at: String,
    pub ends_at: String,
    /// Wall-clock start in the clinic's zone, e.g. `2026-11-30T10:00:00`.
    pub local_start: String,
    pub practitioner_id: Option<i64>,
    pub room_id: Option<i64>,
    pub device_id: Option<i64>,
}

/// A proposed session of a course: its time and the plan's areas treated
/// then (every track due that day).
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseSessionOut {
    pub starts_at: String,
    pub ends_at: String,
    /// Wall-clock start in the clinic's zone.
    pub local_start: String,
    pub practitioner_id: Option<i64>,
    pub room_id: Option<i64>,
    pub device_id: Option<i64>,
    pub areas: Vec<String>,
}

impl From<&booking::CourseSession> for CourseSessionOut {
    fn from(c: &booking::CourseSession) -> Self {
        let s = SlotOut::from(&c.slot);
        CourseSessionOut {
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            local_start: s.local_start,
            practitioner_id: s.practitioner_id,
            room_id: s.room_id,
            device_id: s.device_id,
            areas: c.areas.clone(),
        }
    }
}

impl From<&Slot> for SlotOut {
    fn from(s: &Slot) -> Self {
        SlotOut {
            starts_at: s.start.to_string(),
            ends_at: s.end.to_string(),
            local_start: s.local.to_string(),
            practitioner_id: s.practitioner,
            room_id: s.room,
            device_id: s.device,
        }
    }
}

fn local(field: &str, s: &str) -> Result<DateTime, ApiError> {
    s.parse::<DateTime>().map_err(|_| {
        Invalid::one(
            field,
            "Give the wall-clock time in the clinic's zone, like 2026-11-30T10:00.",
        )
        .into()
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    pub patient_id: i64,
    /// A `session` is the next of the patient's accepted plan.
    pub kind: AppointmentKind,
    /// First and last dates to search, in the clinic's zone (default: today, and 60 days on).
    pub from: Option<String>,
    pub to: Option<String>,
    pub practitioner_id: Option<i64>,
    /// 1–50, default 10.
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/availability", tag = "scheduling", params(AvailabilityQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [SlotOut]), (status = 409, body = ErrorBody, description = "The clinic or plan cannot be booked yet, and why"),
        (status = 422, body = ErrorBody)))]
pub async fn availability(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<AvailabilityQuery>,
) -> Result<Json<Vec<SlotOut>>, ApiError> {
    let p = access::patient(&st, &caller, q.patient_id).await?;
    let limit = q.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(Invalid::one("limit", "Use a limit from 1 to 50.").into());
    }
    let date = |field: &str, v: &Option<String>| -> Result<Option<Date>, ApiError> {
        v.as_deref()
            .map(|s| {
                s.parse::<Date>()
                    .map_err(|_| Invalid::one(field, "Write a date as YYYY-MM-DD.").into())
            })
            .transpose()
    };
    let (from, to) = (date("from", &q.from)?, date("to", &q.to)?);
    let plan = booking::active_plan(&st, &p).await?;
    let w = Wanted {
        patient: &p,
        kind: q.kind,
        plan: plan.as_ref(),
        practitioner: q.practitioner_id,
    };
    let slots = booking::find_times(&st, &w, from, to, limit).await?;
    Ok(Json(slots.iter().map(SlotOut::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    pub clinic_id: i64,
    /// Dates in the clinic's zone; `to` is included.
    pub from: String,
    pub to: String,
}

#[utoipa::path(get, path = "/api/v1/appointments", tag = "scheduling", params(RangeQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [AppointmentOut]), (status = 422, body = ErrorBody)))]
pub async fn list_appointments(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Vec<AppointmentOut>>, ApiError> {
    if !caller.sees_clinic(q.clinic_id) {
        return Err(ApiError::NotFound);
    }
    let zone = st.store.clinic(q.clinic_id).await?.details.time_zone;
    let zone = jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let (Ok(from), Ok(to)) = (q.from.parse::<Date>(), q.to.parse::<Date>()) else {
        return Err(Invalid::one("from", "Write dates as YYYY-MM-DD.").into());
    };
    if to < from || (to - from).get_days() > 366 {
        return Err(Invalid::one("to", "List at most a year, ending after it starts.").into());
    }
    let midnight = |d: Date| {
        zone.to_ambiguous_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .map_err(|e| ApiError::from(anyhow::anyhow!("{e}")))
    };
    let list = st
        .store
        .appointments(
            q.clinic_id,
            midnight(from)?,
            midnight(to + jiff::Span::new().days(1))?,
        )
        .await?;
    Ok(Json(list.into_iter().map(AppointmentOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}", tag = "scheduling", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AppointmentOut), (status = 404, body = ErrorBody)))]
pub async fn get_appointment(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<AppointmentOut>, ApiError> {
    Ok(Json(access::appointment(&st, &caller, id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppointmentIn {
    pub patient_id: i64,
    /// A `session` is the next of the patient's accepted plan.
    pub kind: AppointmentKind,
    /// Wall-clock start in the clinic's zone, e.g. `2026-11-30T10:00`.
    pub local_start: String,
    #[serde(default)]
    pub practitioner_id: Option<i64>,
    /// A clinician's reason to book a session outside its healing window.
    #[serde(default)]
    pub window_override: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/appointments", tag = "scheduling", request_body = NewAppointmentIn,
    security(("bearer" = [])),
    responses((status = 201, body = AppointmentOut),
        (status = 409, body = ErrorBody, description = "The time is taken, or the plan or clinic cannot be booked"),
        (status = 422, body = ErrorBody, description = "Refused by a rule (hours, closure, deferral, healing window), with the reasons")))]
pub async fn create_appointment(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewAppointmentIn>,
) -> Result<(StatusCode, Json<AppointmentOut>), ApiError> {
    let p = access::patient(&st, &caller, body.patient_id).await?;
    let at = local("local_start", &body.local_start)?;
    let plan = booking::active_plan(&st, &p).await?;
    let w = Wanted {
        patient: &p,
        kind: body.kind,
        plan: plan.as_ref(),
        practitioner: body.practitioner_id,
    };
    let reason = body
        .window_override
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let a = booking::book_one(&st, &caller, &w, at, reason).await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// The new wall-clock start in the clinic's zone.
    pub local_start: String,
    #[serde(default)]
    pub practitioner_id: Option<i64>,
    #[serde(default)]
    pub window_override: Option<String>,
    /// Move the plan's later sessions along, each inside its window.
    #[serde(default)]
    pub move_later: bool,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/move", tag = "scheduling", params(("id" = i64, Path)), request_body = MoveIn,
    security(("bearer" = [])),
    responses((status = 200, body = [AppointmentOut], description = "Every appointment moved, this one first"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn move_appointment(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<MoveIn>,
) -> Result<Json<Vec<AppointmentOut>>, ApiError> {
    let a = access::appointment(&st, &caller, id).await?;
    let m = MoveRequest {
        local: Some(local("local_start", &body.local_start)?),
        practitioner: body.practitioner_id,
        window_override: body
            .window_override
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty()),
        move_later: body.move_later,
    };
    let moved = booking::move_appointment(&st, &caller, &a, &m).await?;
    Ok(Json(moved.into_iter().map(AppointmentOut::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentStatusIn {
    /// `checked_in`, `completed`, `no_show` or `cancelled`.
    pub status: String,
    /// Required to cancel.
    #[serde(default)]
    pub reason: Option<String>,
    /// `patient` or `clinic`; required to cancel (a patient cancelling late pays the fee).
    #[serde(default)]
    pub cancelled_by: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/appointments/{id}/status", tag = "scheduling", params(("id" = i64, Path)),
    request_body = AppointmentStatusIn, security(("bearer" = [])),
    responses((status = 200, body = AppointmentOut), (status = 409, body = ErrorBody)))]
pub async fn appointment_status(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AppointmentStatusIn>,
) -> Result<Json<AppointmentOut>, ApiError> {
    let a = access::appointment(&st, &caller, id).await?;
    let by = match body.cancelled_by.as_deref() {
        None => None,
        Some("patient") => Some(CancelledBy::Patient),
        Some("clinic") => Some(CancelledBy::Clinic),
        Some(_) => return Err(Invalid::one("cancelled_by", "Use patient or clinic.").into()),
    };
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let done = booking::set_status(&st, &caller, &a, &body.status, reason, by).await?;
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CourseQuery {
    /// Preferred weekdays, e.g. `Tue,Thu`; any when empty.
    #[serde(default)]
    pub weekdays: Option<String>,
    /// `morning`, `afternoon` or `evening`; any when empty.
    #[serde(default)]
    pub time: Option<String>,
}

fn preferences(q: &CourseQuery) -> Result<Preferences, ApiError> {
    use jiff::civil::{time, Weekday::*};
    let mut weekdays = vec![];
    for w in q
        .weekdays
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        weekdays.push(match w.to_ascii_lowercase().get(..3) {
            Some("mon") => Monday,
            Some("tue") => Tuesday,
            Some("wed") => Wednesday,
            Some("thu") => Thursday,
            Some("fri") => Friday,
            Some("sat") => Saturday,
            Some("sun") => Sunday,
            _ => return Err(Invalid::one("weekdays", "Use weekday names like Tue,Thu.").into()),
        });
    }
    let between = match q.time.as_deref().unwrap_or("") {
        "" => None,
        "morning" => Some((time(8, 0, 0, 0), time(11, 59, 0, 0))),
        "afternoon" => Some((time(12, 0, 0, 0), time(16, 59, 0, 0))),
        "evening" => Some((time(17, 0, 0, 0), time(21, 0, 0, 0))),
        _ => return Err(Invalid::one("time", "Use morning, afternoon or evening.").into()),
    };
    Ok(Preferences { weekdays, between })
}

async fn course_plan(
    st: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(Patient, PlanRecord), ApiError> {
    let r = st.store.plan(id).await?;
    let p = access::patient(st, caller, r.patient_id).await?;
    Ok((p, r))
}

#[utoipa::path(get, path = "/api/v1/plans/{id}/course", tag = "scheduling", params(("id" = i64, Path), CourseQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [CourseSessionOut], description = "The plan's remaining sessions, each track inside its window, tracks due together on one visit"),
        (status = 409, body = ErrorBody)))]
pub async fn propose_course(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<CourseQuery>,
) -> Result<Json<Vec<CourseSessionOut>>, ApiError> {
    let (p, r) = course_plan(&st, &caller, id).await?;
    let sessions = booking::propose(&st, &p, &r, &preferences(&q)?).await?;
    Ok(Json(sessions.iter().map(CourseSessionOut::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookCourseIn {
    /// The `starts_at` of each proposed session, as GET returned them: the
    /// course is booked only if the proposal is still the same.
    pub expected: Vec<String>,
    #[serde(default)]
    pub weekdays: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/plans/{id}/course", tag = "scheduling", params(("id" = i64, Path)), request_body = BookCourseIn,
    security(("bearer" = [])),
    responses((status = 201, body = [AppointmentOut], description = "Every session booked, or none"),
        (status = 409, body = ErrorBody, description = "The proposal changed, or a time was taken: nothing was booked")))]
pub async fn book_course(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<BookCourseIn>,
) -> Result<(StatusCode, Json<Vec<AppointmentOut>>), ApiError> {
    let (p, r) = course_plan(&st, &caller, id).await?;
    let prefs = preferences(&CourseQuery {
        weekdays: body.weekdays,
        time: body.time,
    })?;
    let slots = booking::propose(&st, &p, &r, &prefs).await?;
    let now: Vec<String> = slots.iter().map(|s| s.slot.start.to_string()).collect();
    if now != body.expected {
        return Err(StoreError::Conflict(
            "The proposal has changed: propose again and book what it returns. Nothing was booked."
                .into(),
        )
        .into());
    }
    let booked = booking::book(&st, &caller, &p, &r, &slots).await?;
    Ok((
        StatusCode::CREATED,
        Json(booked.into_iter().map(AppointmentOut::from).collect()),
    ))
}
