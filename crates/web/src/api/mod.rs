//! The JSON API under `/api/v1`. Every handler carries its OpenAPI
//! description (`#[utoipa::path]`); [`openapi`] gathers them, and a test
//! checks that the document and the route table list the same operations.

mod after;
mod appointments;
mod billing;
mod charting;
mod json;
mod patients;
mod people;
mod plans;
mod screening;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use after::*;
pub use appointments::*;
pub use billing::*;
pub use charting::*;
pub use json::ApiJson;
pub use patients::*;
pub use people::*;
pub use plans::*;
pub use screening::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Needlepoint API",
        description = "Practice software for microneedling clinics. Authenticate with a personal \
            access token (`Authorization: Bearer np_…`) created on your account page; the token \
            acts with the role it was given. Errors are JSON with a stable `error` code and the \
            field at fault.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        people::me,
        people::list_clinics,
        people::list_staff,
        people::list_tokens,
        people::create_token,
        people::revoke_token,
        people::audit,
        patients::list_patients,
        patients::create_patient,
        patients::get_patient,
        patients::update_patient,
        patients::list_notes,
        patients::add_note,
        screening::screen_history,
        screening::get_history,
        screening::put_history,
        screening::list_screenings,
        screening::create_screening,
        screening::override_screening,
        screening::knowledge,
        plans::list_plans,
        plans::create_plan,
        plans::get_plan,
        plans::update_plan,
        plans::plan_status,
        appointments::availability,
        appointments::list_appointments,
        appointments::get_appointment,
        appointments::create_appointment,
        appointments::move_appointment,
        appointments::appointment_status,
        appointments::propose_course,
        appointments::book_course,
        charting::open_session,
        charting::get_session,
        charting::get_aftercare,
        charting::list_sessions,
        charting::put_checklist,
        charting::start_session,
        charting::put_zone,
        charting::delete_zone,
        charting::add_session_lot,
        charting::sign_session,
        charting::cosign_session,
        charting::amend_session,
        charting::list_items,
        charting::create_item,
        charting::list_lots,
        charting::receive_lot,
        charting::get_lot,
        charting::lot_uses,
        charting::recall_lot,
        after::list_checkins,
        after::get_checkin,
        after::review_checkin,
        after::record_adverse_event,
        after::get_adverse_event,
        after::amend_adverse_event,
        after::list_adverse_events,
        after::lot_adverse_events,
        after::list_home_care,
        after::log_home_care,
        billing::get_account,
        billing::create_invoice,
        billing::get_invoice,
        billing::create_credit_note,
        billing::create_payment,
        billing::create_refund,
        billing::sell_package,
        billing::pay_with_package,
        billing::get_takings,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "people", description = "Who you are, your clinics, staff and tokens"),
        (name = "patients", description = "Patients and their clinical notes"),
        (name = "screening", description = "Histories, eligibility screening and the knowledge base behind it"),
        (name = "plans", description = "Treatment plans, quotes and signed consents"),
        (name = "scheduling", description = "Free times, appointments, moving and cancelling them, and booking a plan's course"),
        (name = "charting", description = "Session charts: checklist, zones, lots used, sign-off and amendments"),
        (name = "inventory", description = "Needle cartridges, rollers and products by lot; recalls"),
        (name = "after the session", description = "Check-ins and their triage, the adverse-event register, and the home-care log"),
        (name = "money", description = "Invoices and credit notes, payments and refunds, course packages and the day's takings; amounts in minor units"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("np_…")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3 document served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi())
}
