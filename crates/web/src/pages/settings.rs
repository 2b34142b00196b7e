//! Settings (owners only): clinics with their rooms, devices and price list;
//! staff and practitioners. Each form posts on its own; a form with errors
//! comes back alone, filled in, with the error beside the field.

use super::forms::{field, FieldKind, FormValues, SimpleForm};
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
use jiff::Timestamp;
use needlepoint_domain::clinic::{format_money, CURRENCIES};
use needlepoint_domain::scheduling::{WeeklyHours, DAY_FIELDS};
use needlepoint_domain::PriceKind;
use needlepoint_domain::{
    ClinicDetails, DeviceDetails, Email, Invalid, Password, PractitionerDetails, PriceItemDetails,
    Role, RoomDetails,
};
use needlepoint_practice::signin;
use needlepoint_practice::{settings, Error};
use needlepoint_store::Store;
use needlepoint_store::{Clinic, Device, NewStaff, PriceItem, Room, StoreError};
use std::sync::Arc;

fn clinic_fields() -> Vec<super::forms::FieldSpec> {
    vec![
        field("name", "Name", FieldKind::Text, ""),
        field(
            "time_zone",
            "Time zone",
            FieldKind::Text,
            "IANA name, e.g. Europe/London",
        ),
        field("address", "Address", FieldKind::Text, "optional"),
        field("phone", "Phone", FieldKind::Text, "optional"),
    ]
}

fn edit_clinic_form(c: &Clinic) -> SimpleForm {
    SimpleForm::new(
        format!("edit-clinic-{}", c.id),
        "Edit clinic",
        format!("/settings/clinics/{}", c.id),
        "Save clinic",
    )
    .fields(clinic_fields())
    .values(FormValues(vec![
        ("name".into(), c.details.name.clone()),
        ("time_zone".into(), c.details.time_zone.clone()),
        (
            "address".into(),
            c.details.address.clone().unwrap_or_default(),
        ),
        ("phone".into(), c.details.phone.clone().unwrap_or_default()),
    ]))
}

fn room_form(clinic_id: i64) -> SimpleForm {
    SimpleForm::new(
        format!("add-room-{clinic_id}"),
        "Add a room",
        format!("/settings/clinics/{clinic_id}/rooms"),
        "Add room",
    )
    .fields(vec![field("name", "Room name", FieldKind::Text, "")])
}

fn device_form(clinic_id: i64) -> SimpleForm {
    SimpleForm::new(
        format!("add-device-{clinic_id}"),
        "Add a device",
        format!("/settings/clinics/{clinic_id}/devices"),
        "Add device",
    )
    .fields(vec![
        field(
            "name",
            "Name",
            FieldKind::Text,
            "how staff call it, e.g. Pen 2",
        ),
        field("model", "Model", FieldKind::Text, "e.g. SkinPen Precision"),
        field(
            "serial_number",
            "Serial number",
            FieldKind::Text,
            "optional",
        ),
        field(
            "max_depth_mm",
            "Deepest setting (mm)",
            FieldKind::Text,
            "from the device label, e.g. 2.5",
        ),
    ])
}

const DAY_LABELS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Seven fields, one a day: "09:00-17:00", several intervals, or empty.
fn hours_form(
    id: String,
    title: String,
    action: String,
    hours: Option<&WeeklyHours>,
) -> SimpleForm {
    let fields = DAY_FIELDS
        .iter()
        .zip(DAY_LABELS)
        .map(|(f, l)| field(f, l, FieldKind::Text, "e.g. 09:00-17:00; empty when closed"))
        .collect();
    let values = FormValues(
        DAY_FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| {
                (
                    f.to_string(),
                    hours.map(|h| h.format_day(i)).unwrap_or_default(),
                )
            })
            .collect(),
    );
    SimpleForm::new(id, title, action, "Save hours")
        .fields(fields)
        .values(values)
}

fn parse_hours(v: &FormValues) -> Result<WeeklyHours, Invalid> {
    let mut inv = Invalid::default();
    let mut h = WeeklyHours::default();
    for (i, f) in DAY_FIELDS.iter().enumerate() {
        if let Some(day) = inv.check(WeeklyHours::parse_day(f, v.get(f))) {
            h.days[i] = day;
        }
    }
    inv.into_result()?;
    Ok(h)
}

fn closure_form(clinic_id: i64) -> SimpleForm {
    SimpleForm::new(
        format!("close-{clinic_id}"),
        "Close a day",
        format!("/settings/clinics/{clinic_id}/closures"),
        "Close this day",
    )
    .fields(vec![
        field("day", "Date", FieldKind::Text, "YYYY-MM-DD"),
        field("reason", "Why", FieldKind::Text, "e.g. Bank holiday"),
    ])
}

fn currencies() -> FieldKind {
    FieldKind::Select(
        CURRENCIES
            .iter()
            .map(|c| (c.to_string(), c.to_string()))
            .collect(),
    )
}

fn price_form(clinic_id: i64) -> SimpleForm {
    let kinds = PriceKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), k.label().to_string()))
        .collect();
    SimpleForm::new(format!("add-price-{clinic_id}"), "Add a price", format!("/settings/clinics/{clinic_id}/prices"), "Add price")
        .fields(vec![
            field("kind", "For", FieldKind::Select(kinds), ""),
            field("code", "Code", FieldKind::Text, "short, e.g. face-session"),
            field("name", "Name", FieldKind::Text, ""),
            field("amount", "Amount", FieldKind::Text, "e.g. 250.00 (empty for a package)"),
            field("currency", "Currency", currencies(), ""),
            field("areas", "Areas", FieldKind::Text, "area codes, comma-separated: one for an area, several for a bundle (e.g. cheeks,forehead,nose)"),
            field("sessions", "Sessions", FieldKind::Text, "for a package: from how many sessions it applies"),
            field("discount", "Discount (%)", FieldKind::Text, "for a package, e.g. 10"),
        ])
        .values(FormValues::default().with("currency", "GBP").with("kind", "area"))
}

fn policy_form(
    clinic_id: i64,
    p: &needlepoint_domain::booking_rules::CancellationPolicy,
) -> SimpleForm {
    SimpleForm::new(
        format!("policy-{clinic_id}"),
        "Cancellation policy",
        format!("/settings/clinics/{clinic_id}/policy"),
        "Save",
    )
    .fields(vec![
        field(
            "notice_hours",
            "Notice needed (hours)",
            FieldKind::Text,
            "0 for no policy; e.g. 48",
        ),
        field(
            "fee",
            "Fee for a late cancellation or a no-show",
            FieldKind::Text,
            "in the clinic's currency, e.g. 30 or 30.00",
        ),
    ])
    .values(FormValues(vec![
        ("notice_hours".into(), p.notice_hours.to_string()),
        (
            "fee".into(),
            format!("{}.{:02}", p.fee_minor / 100, p.fee_minor % 100),
        ),
    ]))
}

/// The placeholders a message may use, for the form's hint (a test
/// checks it names every one).
const PLACEHOLDER_HINT: &str =
    "{patient} {clinic} {what} {when} {before} {fee} {link} {expires} {aftercare} {phone} {code}";

fn template_form(
    clinic_id: i64,
    clinic: &str,
    kind: &str,
    title: &str,
    t: &needlepoint_domain::message_template::MessageTemplate,
) -> SimpleForm {
    // Sample details, so that the wording can be read as a patient would.
    let (subject, body) = t.render(&[
        ("patient", "Amara"),
        ("clinic", clinic),
        ("what", "microneedling session 2"),
        ("when", "Tuesday 2 March 2027 at 10:00"),
        (
            "before",
            "\n\nBefore your session:\n- Stop retinoid creams 5 days before.",
        ),
        (
            "fee",
            " As it was cancelled at short notice, the clinic's late-cancellation fee of £50.00 applies.",
        ),
        ("link", "https://clinic.example/intake/6Rk2…"),
        ("expires", "Tuesday 9 March 2027 at 18:00"),
        (
            "aftercare",
            "What to do\n- For the first 8 hours: put nothing on the skin but what the clinic gave you, \
             and stay out of the sun.\n- For the first 24 hours: wear no makeup.\n…\n\n\
             Call the clinic the same day if you notice:\n- Spreading redness, heat, pus or a fever\n",
        ),
        ("phone", "020 7946 0000"),
        ("code", "482 913"),
    ]);
    SimpleForm::new(
        format!("message-{clinic_id}-{kind}"),
        format!("Message: {title}"),
        format!("/settings/clinics/{clinic_id}/messages/{kind}"),
        "Save",
    )
    .fields(vec![
        field("subject", "Subject", FieldKind::Text, PLACEHOLDER_HINT),
        field("body", "Text", FieldKind::TextArea, PLACEHOLDER_HINT),
    ])
    .values(FormValues(vec![
        ("subject".into(), t.subject.clone()),
        ("body".into(), t.body.clone()),
    ]))
    .preview(subject, body)
}

/// The clinic's wording of each message: its own, or the shipped one.
async fn template_forms(st: &AppState, clinic_id: i64) -> Result<Vec<SimpleForm>, PageError> {
    use needlepoint_domain::message_template::{MessageTemplate, KINDS};
    let own = st.store.message_templates(clinic_id).await?;
    let clinic = st.store.clinic(clinic_id).await?.details.name;
    Ok(KINDS
        .iter()
        .filter_map(|(kind, title)| {
            let t = own
                .iter()
                .find(|(k, _)| k == kind)
                .map(|(_, t)| t.clone())
                .or_else(|| MessageTemplate::shipped(kind))?;
            Some(template_form(clinic_id, &clinic, kind, title, &t))
        })
        .collect())
}

pub async fn set_policy(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    use needlepoint_domain::booking_rules::CancellationPolicy;
    add_to_clinic(
        &st,
        &caller,
        &csrf,
        id,
        f,
        || policy_form(id, &CancellationPolicy::default()),
        |v| CancellationPolicy::parse(v.get("notice_hours"), v.get("fee")),
        |p, s: Arc<dyn Store>, a: needlepoint_store::Actor, now| async move {
            s.set_cancellation_policy(id, &p, &a, now).await
        },
    )
    .await
}

fn sign_in_form(clinic_id: i64, p: &needlepoint_domain::SignInPolicy) -> SimpleForm {
    SimpleForm::new(
        format!("sign-in-{clinic_id}"),
        "Signing in",
        format!("/settings/clinics/{clinic_id}/sign-in"),
        "Save",
    )
    .fields(vec![
        field(
            "idle_minutes",
            "Sign out after this many minutes unused",
            FieldKind::Text,
            "5 to 720; staff of several clinics get the shortest",
        ),
        field(
            "require_two_factor",
            "Everyone at this clinic signs in with a code from an authenticator app (owners always do)",
            FieldKind::Checkbox,
            "",
        ),
    ])
    .values(FormValues(vec![
        ("idle_minutes".into(), p.idle_minutes.to_string()),
        (
            "require_two_factor".into(),
            if p.require_two_factor { "yes" } else { "" }.into(),
        ),
    ]))
}

pub async fn set_sign_in_policy(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    use needlepoint_domain::SignInPolicy;
    add_to_clinic(
        &st,
        &caller,
        &csrf,
        id,
        f,
        || sign_in_form(id, &SignInPolicy::default()),
        |v| SignInPolicy::parse(v.get("idle_minutes"), v.get("require_two_factor") == "yes"),
        |p, s: Arc<dyn Store>, a: needlepoint_store::Actor, now| async move {
            s.set_sign_in_policy(id, &p, &a, now).await
        },
    )
    .await
}

pub async fn set_template(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((id, kind)): Path<(i64, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    use needlepoint_domain::message_template::{MessageTemplate, KINDS};
    let Some((kind, title)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        return Err(PageError::NotFound);
    };
    let shipped = MessageTemplate::shipped(kind).expect("every kind has wording");
    let clinic = match st.store.clinic(id).await {
        Ok(c) if caller.sees_clinic(id) => c.details.name,
        _ => return Err(PageError::NotFound),
    };
    add_to_clinic(
        &st,
        &caller,
        &csrf,
        id,
        f,
        || template_form(id, &clinic, kind, title, &shipped),
        |v| MessageTemplate::parse(v.get("subject"), v.get("body")),
        |t, s: Arc<dyn Store>, a: needlepoint_store::Actor, now| async move {
            s.set_message_template(id, kind, &t, &a, now).await
        },
    )
    .await
}

fn pricing_form(clinic_id: i64, p: &needlepoint_domain::ClinicPricing) -> SimpleForm {
    SimpleForm::new(
        format!("pricing-{clinic_id}"),
        "Currency and tax",
        format!("/settings/clinics/{clinic_id}/pricing"),
        "Save",
    )
    .fields(vec![
        field("currency", "Currency", currencies(), ""),
        field(
            "tax_rate",
            "Tax rate (%)",
            FieldKind::Text,
            "e.g. 20 for UK VAT, 0 if exempt",
        ),
        field(
            "tax_included",
            "Prices include the tax",
            FieldKind::Checkbox,
            "",
        ),
    ])
    .values(FormValues(vec![
        ("currency".into(), p.currency.clone()),
        (
            "tax_rate".into(),
            format!("{}.{:02}", p.tax_rate_bp / 100, p.tax_rate_bp % 100),
        ),
        (
            "tax_included".into(),
            if p.tax_included {
                "yes".into()
            } else {
                String::new()
            },
        ),
    ]))
}

fn new_clinic_form() -> SimpleForm {
    SimpleForm::new(
        "add-clinic",
        "Add a clinic",
        "/settings/clinics",
        "Add clinic",
    )
    .fields(clinic_fields())
}

fn staff_form(clinics: &[Clinic]) -> SimpleForm {
    SimpleForm::new(
        "add-staff",
        "Add a staff member",
        "/settings/staff",
        "Add staff member",
    )
    .fields(vec![
        field("name", "Full name", FieldKind::Text, ""),
        field("email", "E-mail", FieldKind::Email, "they sign in with it"),
        field(
            "role",
            "Role",
            FieldKind::Select(
                Role::ALL
                    .iter()
                    .map(|r| (r.as_str().to_string(), r.label().to_string()))
                    .collect(),
            ),
            "",
        ),
        field(
            "password",
            "First password",
            FieldKind::Password,
            "at least 10 characters; tell them in person",
        ),
        field(
            "clinic_ids",
            "Works at",
            FieldKind::Checkboxes(
                clinics
                    .iter()
                    .map(|c| (c.id.to_string(), c.details.name.clone()))
                    .collect(),
            ),
            "",
        ),
        field(
            "is_practitioner",
            "Treats patients (practitioner)",
            FieldKind::Checkbox,
            "",
        ),
        field(
            "profession",
            "Profession",
            FieldKind::Text,
            "for practitioners, e.g. Registered nurse",
        ),
        field(
            "registration_number",
            "Registration number",
            FieldKind::Text,
            "optional",
        ),
    ])
    .values(FormValues::default().with("role", "clinician"))
}

pub struct ClinicSection {
    clinic: Clinic,
    hours: Vec<(&'static str, String)>,
    closures: Vec<String>,
    local_now: String,
    rooms: Vec<Room>,
    devices: Vec<Device>,
    prices: Vec<(PriceItem, String)>,
    forms: Vec<SimpleForm>,
}

pub struct StaffRow {
    id: i64,
    active: bool,
    name: String,
    email: String,
    role: &'static str,
    practitioner: String,
    clinics: String,
    medical_director: bool,
    two_factor: bool,
}

fn photo_sharing_form(clinic_id: i64, share: bool) -> SimpleForm {
    SimpleForm::new(
        format!("photos-{clinic_id}"),
        "Patients' photos",
        format!("/settings/clinics/{clinic_id}/photo-sharing"),
        "Save",
    )
    .fields(vec![field(
        "share_photos",
        "Show patients their own photos on their page (never other patients', never when they declined photos)",
        FieldKind::Checkbox,
        "",
    )])
    .values(FormValues(vec![(
        "share_photos".into(),
        if share { "yes" } else { "" }.into(),
    )]))
}

pub async fn set_photo_sharing(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    add_to_clinic(
        &st,
        &caller,
        &csrf,
        id,
        f,
        || photo_sharing_form(id, false),
        |v| Ok::<bool, needlepoint_domain::Invalid>(v.get("share_photos") == "yes"),
        |share, s: Arc<dyn Store>, a: needlepoint_store::Actor, now| async move {
            s.set_photo_sharing(id, share, &a, now).await
        },
    )
    .await
}

/// The settings, one concern to a page: (code in links, name).
const SECTIONS: [(&str, &str); 8] = [
    ("clinic", "Clinic details"),
    ("hours", "Hours and closures"),
    ("staff", "Staff"),
    ("rooms", "Rooms and devices"),
    ("prices", "Prices and packages"),
    ("messages", "Messages"),
    ("policies", "Cancellation, sign-in and photos"),
    ("rules", "Clinical rules"),
];

/// The section a settings form belongs to, from its id, so that saving it
/// comes back to its own page.
fn section_of(form_id: &str) -> &'static str {
    let prefixes = [
        ("edit-clinic-", "clinic"),
        ("add-clinic", "clinic"),
        ("hours-", "hours"),
        ("close-", "hours"),
        ("add-staff", "staff"),
        ("add-room-", "rooms"),
        ("add-device-", "rooms"),
        ("add-price-", "prices"),
        ("pricing-", "prices"),
        ("message-", "messages"),
        ("policy-", "policies"),
        ("sign-in-", "policies"),
        ("photos-", "policies"),
    ];
    prefixes
        .iter()
        .find(|(p, _)| form_id.starts_with(p))
        .map_or("clinic", |(_, s)| s)
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    shell: Shell,
    organisation: String,
    /// The section shown, and the links to each: (code, name, link, current).
    section: &'static str,
    tabs: Vec<(&'static str, &'static str, String, bool)>,
    notice: Option<&'static str>,
    clinics: Vec<ClinicSection>,
    /// With two or more clinics, the way to each: (id, name, shown).
    choices: Vec<(i64, String, bool)>,
    /// "Every clinic" may be chosen (and is, when no clinic is).
    every: bool,
    staff: Vec<StaffRow>,
    staff_forms: Vec<SimpleForm>,
    org_forms: Vec<SimpleForm>,
}

#[derive(Template)]
#[template(path = "form_page.html")]
struct FormPage {
    shell: Shell,
    f: SimpleForm,
    context: String,
    back: String,
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
    /// The clinic whose settings are shown; every clinic when blank (with
    /// a few), the first (with many).
    clinic: Option<String>,
    /// Which concern's page (see [`SECTIONS`]); the clinic's details when
    /// blank or unknown.
    #[serde(default)]
    section: String,
}

pub async fn page(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let section = SECTIONS
        .iter()
        .find(|(code, _)| *code == q.section)
        .map_or("clinic", |(code, _)| *code);
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    // A chain's settings one clinic at a time: the one asked for, else the
    // first; a few clinics' all at once unless one is asked for.
    let asked = super::asked_clinic(q.clinic.as_deref())?;
    let pick = ClinicChoice::of(&clinics, asked)?;
    let clinic_param = asked.map(|c| format!("&clinic={c}")).unwrap_or_default();
    let tabs = SECTIONS
        .iter()
        .map(|(code, name)| {
            (
                *code,
                *name,
                format!("/settings?section={code}{clinic_param}"),
                *code == section,
            )
        })
        .collect();
    let mut sections = vec![];
    // Staff and clinical rules are not per clinic's form list.
    let per_clinic = !matches!(section, "staff");
    for c in clinics.iter().filter(|c| per_clinic && pick.shows(c.id)) {
        let hours = st.store.clinic_hours(c.id).await?;
        let closures = st.store.closures(c.id).await?;
        sections.push(ClinicSection {
            hours: match &hours {
                Some(h) => DAY_LABELS
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        (
                            *l,
                            if h.days[i].is_empty() {
                                "closed".into()
                            } else {
                                h.format_day(i)
                            },
                        )
                    })
                    .collect(),
                None => vec![],
            },
            closures: closures
                .iter()
                .map(|(d, r)| format!("{} — {r}", crate::view::long_date(*d)))
                .collect(),
            local_now: local_time(
                st.wall_clock(&c.details.time_zone).timestamp(),
                &c.details.time_zone,
            ),
            rooms: st.store.rooms(c.id).await?,
            devices: st.store.devices(c.id).await?,
            prices: st
                .store
                .price_items(c.id)
                .await?
                .into_iter()
                .map(|p| {
                    let amount = format_money(p.details.amount_minor, &p.details.currency);
                    (p, amount)
                })
                .collect(),
            forms: match section {
                "clinic" => vec![edit_clinic_form(c)],
                "hours" => vec![
                    hours_form(
                        format!("hours-{}", c.id),
                        "Change the opening hours".into(),
                        format!("/settings/clinics/{}/hours", c.id),
                        hours.as_ref(),
                    ),
                    closure_form(c.id),
                ],
                "rooms" => vec![room_form(c.id), device_form(c.id)],
                "prices" => vec![
                    pricing_form(c.id, &st.store.clinic_pricing(c.id).await?),
                    price_form(c.id),
                ],
                "messages" => template_forms(&st, c.id).await?,
                "policies" => vec![
                    policy_form(c.id, &st.store.cancellation_policy(c.id).await?),
                    sign_in_form(c.id, &st.store.sign_in_policy(c.id).await?),
                    photo_sharing_form(c.id, st.store.photo_sharing(c.id).await?),
                ],
                _ => vec![],
            },
            clinic: c.clone(),
        });
    }
    let mut staff = vec![];
    let works_at = if section == "staff" {
        st.store
            .staff_clinic_map(caller.staff.organisation_id)
            .await?
    } else {
        Default::default()
    };
    let listed = if section == "staff" {
        st.store.list_staff(caller.staff.organisation_id).await?
    } else {
        vec![]
    };
    for s in listed {
        let ids = works_at.get(&s.id).map(Vec::as_slice).unwrap_or_default();
        staff.push(StaffRow {
            clinics: clinics
                .iter()
                .filter(|c| ids.contains(&c.id))
                .map(|c| c.details.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            practitioner: s
                .practitioner
                .as_ref()
                .map(|p| match &p.registration_number {
                    Some(r) => format!("{} ({r})", p.profession),
                    None => p.profession.clone(),
                })
                .unwrap_or_else(|| "—".into()),
            medical_director: s.medical_director,
            two_factor: s.two_factor_since.is_some(),
            id: s.id,
            active: s.active,
            name: s.name,
            email: s.email,
            role: s.role.label(),
        });
    }
    Ok(render(&SettingsPage {
        shell: Shell::new(&caller, &csrf, "settings"),
        organisation: st
            .store
            .organisation()
            .await?
            .map(|o| o.name)
            .unwrap_or_default(),
        notice: q.saved.map(|_| "Saved."),
        section,
        tabs,
        staff_forms: vec![staff_form(&clinics)],
        org_forms: vec![new_clinic_form()],
        clinics: sections,
        choices: pick.choices,
        every: pick.every,
        staff,
    }))
}

/// The form alone, with what was typed and what was wrong.
fn failed(
    caller: &Caller,
    csrf: &CsrfToken,
    form: SimpleForm,
    values: FormValues,
    errors: Invalid,
    problem: Option<String>,
    context: String,
) -> Response {
    let status = if problem.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = FormPage {
        shell: Shell::new(caller, csrf, "settings"),
        f: form.failed(values, errors, problem),
        context,
        back: "/settings".into(),
    };
    (status, render(&page)).into_response()
}

/// Back to the page of the form saved (`form_id`), at the clinic's own
/// part, shown even when a chain's settings show one clinic at a time.
fn saved(form_id: &str, anchor: &str) -> Response {
    let section = section_of(form_id);
    let clinic = anchor
        .strip_prefix("clinic-")
        .map(|id| format!("&clinic={id}"))
        .unwrap_or_default();
    Redirect::to(&format!(
        "/settings?section={section}&saved=1{clinic}#{anchor}"
    ))
    .into_response()
}

/// A clinic of this caller's, or 404.
async fn own_clinic(st: &AppState, caller: &Caller, id: i64) -> Result<Clinic, PageError> {
    if !caller.sees_clinic(id) {
        return Err(PageError::NotFound);
    }
    Ok(st.store.clinic(id).await?)
}

type Fields = Form<Vec<(String, String)>>;

pub async fn add_clinic(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Fields,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    match ClinicDetails::parse(
        v.get("name"),
        v.get("time_zone"),
        v.get("address"),
        v.get("phone"),
    ) {
        Ok(d) => {
            let org = caller.staff.organisation_id;
            let c = settings::change(&st, &caller, None, |s, a, now| async move {
                s.create_clinic(org, &d, &a, now).await
            })
            .await?;
            Ok(saved("add-clinic", &format!("clinic-{}", c.id)))
        }
        Err(e) => Ok(failed(
            &caller,
            &csrf,
            new_clinic_form(),
            v,
            e,
            None,
            String::new(),
        )),
    }
}

pub async fn edit_clinic(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Result<Response, PageError> {
    let c = own_clinic(&st, &caller, id).await?;
    let v = FormValues(f);
    match ClinicDetails::parse(
        v.get("name"),
        v.get("time_zone"),
        v.get("address"),
        v.get("phone"),
    ) {
        Ok(d) => {
            settings::change(&st, &caller, Some(id), |s, a, now| async move {
                s.update_clinic(id, &d, &a, now).await
            })
            .await?;
            Ok(saved("edit-clinic-", &format!("clinic-{id}")))
        }
        Err(e) => Ok(failed(
            &caller,
            &csrf,
            edit_clinic_form(&c),
            v,
            e,
            None,
            c.details.name,
        )),
    }
}

/// Turns a duplicate-name refusal into a message on the form.
fn on_conflict<T>(r: Result<T, Error>) -> Result<Result<T, String>, PageError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Error::Conflict(m)) => Ok(Err(m)),
        Err(e) => Err(e.into()),
    }
}

/// What adding a room, a device or a price share: parse the form, save, and
/// on a problem show the form again, filled in, with what was wrong.
#[allow(clippy::too_many_arguments)]
async fn add_to_clinic<D, Fut>(
    st: &AppState,
    caller: &Caller,
    csrf: &CsrfToken,
    clinic_id: i64,
    fields: Vec<(String, String)>,
    form: impl Fn() -> SimpleForm,
    parse: impl FnOnce(&FormValues) -> Result<D, Invalid>,
    save: impl FnOnce(D, Arc<dyn Store>, needlepoint_store::Actor, Timestamp) -> Fut,
) -> Result<Response, PageError>
where
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let c = own_clinic(st, caller, clinic_id).await?;
    let v = FormValues(fields);
    let d = match parse(&v) {
        Ok(d) => d,
        Err(e) => return Ok(failed(caller, csrf, form(), v, e, None, c.details.name)),
    };
    let saving = settings::change(st, caller, Some(clinic_id), |s, a, now| save(d, s, a, now));
    match on_conflict(saving.await)? {
        Ok(()) => Ok(saved(&form().id, &format!("clinic-{clinic_id}"))),
        Err(m) => Ok(failed(
            caller,
            csrf,
            form(),
            v,
            Invalid::default(),
            Some(m),
            c.details.name,
        )),
    }
}

pub async fn add_room(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Result<Response, PageError> {
    add_to_clinic(
        &st,
        &caller,
        &csrf,
        id,
        f,
        || room_form(id),
        |v| RoomDetails::parse(v.get("name")),
        |d, s: Arc<dyn Store>, a: needlepoint_store::Actor, now| async move {
            s.create_room(id, &d, &a, now).await.map(|_| ())
        },
    )
    .await
}

pub async fn add_device(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Result<Response, PageError> {
    let parse = |v: &FormValues| {
        DeviceDetails::parse(
            v.get("name"),
            v.get("model"),
            v.get("serial_number"),
            v.get("max_depth_mm"),
        )
    };
    add_to_clinic(
        &st,
        &caller,
        &csrf,
        id,
        f,
        || device_form(id),
        parse,
        |d, s: Arc<dyn Store>, a: needlepoint_store::Actor, now| async move {
            s.create_device(id, &d, &a, now).await.map(|_| ())
        },
    )
    .await
}

pub async fn add_price(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Result<Response, PageError> {
    let kb = st.clinic_kb(id).await?;
    let parse = |v: &FormValues| {
        let item = PriceItemDetails::parse_typed(
            v.get("kind"),
            v.get("code"),
            v.get("name"),
            v.get("amount"),
            v.get("currency"),
            v.get("areas"),
            v.get("sessions"),
            v.get("discount"),
        )?;
        match item.areas.iter().find(|a| kb.area(a).is_none()) {
            Some(a) => Err(Invalid::one(
                "areas",
                format!("Unknown area {a:?}: use the area codes on the clinical rules page."),
            )),
            None => Ok(item),
        }
    };
    add_to_clinic(
        &st,
        &caller,
        &csrf,
        id,
        f,
        || price_form(id),
        parse,
        |d, s: Arc<dyn Store>, a: needlepoint_store::Actor, now| async move {
            s.create_price_item(id, &d, &a, now).await.map(|_| ())
        },
    )
    .await
}

pub async fn add_staff(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Form(f): Fields,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let clinics = st.store.clinics_for_staff(caller.staff.id).await?;
    let mut inv = Invalid::default();
    let name = inv.check(needlepoint_domain::validation::required_line(
        "name",
        v.get("name"),
        120,
    ));
    let email = inv.check(Email::parse("email", v.get("email")));
    let role = inv.check(Role::parse(v.get("role")));
    let password = inv.check(Password::parse("password", v.get("password")));
    let clinic_ids: Vec<i64> = v
        .all("clinic_ids")
        .iter()
        .filter_map(|s| s.parse().ok())
        .filter(|id| caller.sees_clinic(*id))
        .collect();
    if clinic_ids.is_empty() {
        inv.push("clinic_ids", "Choose at least one clinic.");
    }
    let practitioner = if v.get("is_practitioner") == "yes" {
        match PractitionerDetails::parse(
            v.get("name"),
            v.get("profession"),
            v.get("registration_number"),
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                for fe in e.errors.into_iter().filter(|fe| fe.field != "name") {
                    inv.push(fe.field, fe.message);
                }
                None
            }
        }
    } else {
        None
    };
    if !inv.is_empty() {
        return Ok(failed(
            &caller,
            &csrf,
            staff_form(&clinics),
            v,
            inv,
            None,
            String::new(),
        ));
    }
    let hash = signin::hash_password(password.unwrap().expose().to_string()).await?;
    let new = NewStaff {
        organisation_id: caller.staff.organisation_id,
        email: email.unwrap().to_string(),
        name: name.unwrap(),
        role: role.unwrap(),
        password_hash: hash,
        practitioner,
        clinic_ids,
    };
    match on_conflict(
        settings::change(&st, &caller, None, |s, a, now| async move {
            s.create_staff(&new, &a, now).await
        })
        .await,
    )? {
        Ok(_) => Ok(saved("add-staff", "staff")),
        Err(m) => Ok(failed(
            &caller,
            &csrf,
            staff_form(&clinics),
            v,
            Invalid::default(),
            Some(m),
            String::new(),
        )),
    }
}

pub async fn set_pricing(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let c = own_clinic(&st, &caller, id).await?;
    let v = FormValues(f);
    let mut inv = Invalid::default();
    let currency = v.get("currency").trim().to_ascii_uppercase();
    if !CURRENCIES.contains(&currency.as_str()) {
        inv.push(
            "currency",
            format!("Choose one of {}.", CURRENCIES.join(", ")),
        );
    }
    let rate = inv.check(needlepoint_domain::clinic::parse_amount(
        "tax_rate",
        v.get("tax_rate"),
    ));
    if rate.is_some_and(|r| r > 10_000) {
        inv.push("tax_rate", "A tax rate is at most 100 %.");
    }
    if !inv.is_empty() {
        let current = st.store.clinic_pricing(id).await?;
        return Ok(failed(
            &caller,
            &csrf,
            pricing_form(id, &current),
            v,
            inv,
            None,
            c.details.name,
        ));
    }
    let pricing = needlepoint_domain::ClinicPricing {
        currency,
        tax_rate_bp: rate.unwrap_or(0) as u32,
        tax_included: v.get("tax_included") == "yes",
    };
    settings::change(&st, &caller, Some(id), |s, a, now| async move {
        s.set_clinic_pricing(id, &pricing, &a, now).await
    })
    .await?;
    Ok(saved("pricing-", &format!("clinic-{id}")))
}

pub async fn set_hours(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let c = own_clinic(&st, &caller, id).await?;
    let v = FormValues(f);
    match parse_hours(&v) {
        Ok(h) => {
            settings::change(&st, &caller, Some(id), |s, a, now| async move {
                s.set_clinic_hours(id, &h, &a, now).await
            })
            .await?;
            Ok(saved("hours-", &format!("clinic-{id}")))
        }
        Err(e) => {
            let form = hours_form(
                format!("hours-{id}"),
                "Opening hours".into(),
                format!("/settings/clinics/{id}/hours"),
                None,
            );
            Ok(failed(&caller, &csrf, form, v, e, None, c.details.name))
        }
    }
}

pub async fn add_closure(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let c = own_clinic(&st, &caller, id).await?;
    let v = FormValues(f);
    let mut inv = Invalid::default();
    let day = inv.check(needlepoint_domain::patient::parse_date("day", v.get("day")));
    let reason = inv.check(needlepoint_domain::validation::required_text(
        "reason",
        v.get("reason"),
        120,
    ));
    if !inv.is_empty() {
        return Ok(failed(
            &caller,
            &csrf,
            closure_form(id),
            v,
            inv,
            None,
            c.details.name,
        ));
    }
    match on_conflict(
        settings::change(&st, &caller, Some(id), |s, a, now| async move {
            s.add_closure(id, day.unwrap(), &reason.unwrap(), &a, now)
                .await
        })
        .await,
    )? {
        Ok(()) => Ok(saved("close-", &format!("clinic-{id}"))),
        Err(m) => Ok(failed(
            &caller,
            &csrf,
            closure_form(id),
            v,
            Invalid::default(),
            Some(m),
            c.details.name,
        )),
    }
}

#[derive(Template)]
#[template(path = "staff_hours.html")]
struct StaffHoursPage {
    shell: Shell,
    name: String,
    forms: Vec<SimpleForm>,
}

async fn staff_member(
    st: &AppState,
    caller: &Caller,
    sid: i64,
) -> Result<needlepoint_store::Staff, PageError> {
    let s = st.store.staff(sid).await?;
    if s.organisation_id != caller.staff.organisation_id {
        return Err(PageError::NotFound);
    }
    Ok(s)
}

pub async fn staff_hours(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path(sid): Path<i64>,
) -> Result<Response, PageError> {
    let s = staff_member(&st, &caller, sid).await?;
    let mut forms = vec![];
    for c in st.store.clinics_for_staff(sid).await? {
        let h = st.store.staff_hours(sid, c.id).await?;
        forms.push(hours_form(
            format!("staff-hours-{}", c.id),
            format!(
                "Works at {} (empty everywhere: whenever it is open)",
                c.details.name
            ),
            format!("/settings/staff/{sid}/hours/{}", c.id),
            h.as_ref(),
        ));
    }
    Ok(render(&StaffHoursPage {
        shell: Shell::new(&caller, &csrf, "settings"),
        name: s.name,
        forms,
    }))
}

pub async fn set_staff_hours(
    State(st): State<AppState>,
    caller: Caller,
    csrf: CsrfToken,
    Path((sid, cid)): Path<(i64, i64)>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let s = staff_member(&st, &caller, sid).await?;
    let c = own_clinic(&st, &caller, cid).await?;
    let v = FormValues(f);
    match parse_hours(&v) {
        Ok(h) => {
            settings::change(&st, &caller, Some(cid), |s, a, now| async move {
                s.set_staff_hours(sid, cid, &h, &a, now).await
            })
            .await?;
            Ok(Redirect::to(&format!("/settings/staff/{sid}/hours")).into_response())
        }
        Err(e) => {
            let form = hours_form(
                format!("staff-hours-{cid}"),
                format!("Works at {}", c.details.name),
                format!("/settings/staff/{sid}/hours/{cid}"),
                None,
            );
            Ok(failed(&caller, &csrf, form, v, e, None, s.name))
        }
    }
}

/// Marks a clinician as a medical director, who gives the second sign-off
/// of a session charted above a zone's usual range.
pub async fn set_medical_director(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    settings::set_medical_director(&st, &caller, id, v.get("on") == "yes").await?;
    Ok(saved("add-staff", "staff"))
}

/// Deactivates or reactivates a staff member of this organisation.
pub async fn set_staff_active(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Result<Response, PageError> {
    let v = FormValues(f);
    let active = match v.get("active") {
        "yes" => true,
        "no" => false,
        _ => return Err(PageError::BadRequest("Say active=yes or active=no.".into())),
    };
    settings::set_staff_active(&st, &caller, id, active).await?;
    Ok(saved("add-staff", "staff"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hint_names_every_placeholder() {
        for (name, _) in needlepoint_domain::message_template::PLACEHOLDERS {
            assert!(
                super::PLACEHOLDER_HINT.contains(&format!("{{{name}}}")),
                "{name}"
            );
        }
    }
}
