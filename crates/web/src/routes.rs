//! Every route, once: its method, path, who may use it, and its handler.
//! The router is built from this table, and so is the test that walks every
//! route with every role; a route cannot exist without an access rule.

use crate::access::{Access, ANY_STAFF, CLINICAL, OWNER};
use crate::auth::authorize;
use crate::pages::{
    account, adverse, aftercare, appointments, audit, billing, booking, charting, checkins,
    history, home_care, intake, inventory, messages, overview, patients, plans, portal, rules,
    screenings, session, settings, two_factor,
};
use crate::{api, assets, AppState};
use axum::extract::State;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

struct Entry {
    spec: RouteSpec,
    handler: MethodRouter<AppState>,
}

fn r<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> Entry
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    Entry {
        spec: RouteSpec {
            method,
            path,
            access,
        },
        handler: on(filter, handler),
    }
}

// One line per route: this table is read more than it is edited.
#[rustfmt::skip]
fn table() -> Vec<Entry> {
    use Access::Public;
    use Method as M;
    vec![
        // Probes, assets, the API description.
        r(M::GET, "/healthz", Public, healthz),
        r(M::GET, "/readyz", Public, readyz),
        r(M::GET, "/assets/{name}", Public, assets::serve_asset),
        r(M::GET, "/api/openapi.json", Public, api::openapi_json),
        // Setup and sign-in.
        r(M::GET, "/", Public, session::root),
        r(M::GET, "/setup", Public, session::setup_page),
        r(M::POST, "/setup", Public, session::setup),
        r(M::GET, "/login", Public, session::login_page),
        r(M::POST, "/login", Public, session::login),
        r(M::GET, "/login/two-factor", Public, two_factor::page),
        r(M::POST, "/login/two-factor", Public, two_factor::confirm),
        r(M::POST, "/logout", ANY_STAFF, session::logout),
        // Pages.
        r(M::GET, "/today", ANY_STAFF, overview::today),
        r(M::GET, "/calendar", ANY_STAFF, booking::week),
        r(M::GET, "/calendar/day", ANY_STAFF, booking::day),
        r(M::GET, "/messages", ANY_STAFF, messages::list),
        r(M::GET, "/messages/{id}", ANY_STAFF, messages::show),
        r(M::POST, "/messages/{id}/retry", ANY_STAFF, messages::retry),
        r(M::GET, "/appointments/new", ANY_STAFF, appointments::new_form),
        r(M::POST, "/appointments", ANY_STAFF, appointments::create),
        r(M::GET, "/appointments/{id}", ANY_STAFF, appointments::show),
        r(M::GET, "/appointments/{id}/ics", ANY_STAFF, booking::appointment_ics),
        r(M::POST, "/appointments/{id}/status", ANY_STAFF, appointments::set_status),
        r(M::POST, "/appointments/{id}/move", ANY_STAFF, appointments::move_it),
        r(M::POST, "/account/calendar-feed", ANY_STAFF, account::new_feed),
        r(M::POST, "/account/calendar-feed/revoke", ANY_STAFF, account::revoke_feed),
        // A practitioner's calendar feed: the token is the credential.
        r(M::GET, "/calendar/feed/{token}", Public, booking::feed),
        r(M::GET, "/appointments/{id}/chart", CLINICAL, charting::open),
        r(M::POST, "/appointments/{id}/chart", CLINICAL, charting::open_off_day),
        r(M::GET, "/sessions/{id}", CLINICAL, charting::show),
        r(M::POST, "/sessions/{id}/checklist", CLINICAL, charting::checklist),
        r(M::POST, "/sessions/{id}/start", CLINICAL, charting::start),
        r(M::POST, "/sessions/{id}/zones", CLINICAL, charting::save_zone),
        r(M::POST, "/sessions/{id}/zones/{zone}/remove", CLINICAL, charting::remove_zone),
        r(M::POST, "/sessions/{id}/lots", CLINICAL, charting::add_lot),
        r(M::POST, "/sessions/{id}/lots/{lot}/remove", CLINICAL, charting::remove_lot),
        upload(r(M::POST, "/sessions/{id}/photos", CLINICAL, charting::upload_photo)),
        r(M::POST, "/sessions/{id}/sign", CLINICAL, charting::sign),
        r(M::POST, "/sessions/{id}/cosign", CLINICAL, charting::cosign),
        r(M::POST, "/sessions/{id}/amend", CLINICAL, charting::amend),
        r(M::GET, "/sessions/{id}/aftercare", CLINICAL, aftercare::print),
        r(M::GET, "/sessions/{id}/adverse-events/new", CLINICAL, adverse::new_form),
        r(M::POST, "/sessions/{id}/adverse-events", CLINICAL, adverse::create),
        r(M::GET, "/adverse-events/{id}", CLINICAL, adverse::show),
        r(M::POST, "/adverse-events/{id}/amend", CLINICAL, adverse::amend),
        r(M::GET, "/checkins/{id}", CLINICAL, checkins::review_show),
        r(M::POST, "/checkins/{id}/review", CLINICAL, checkins::review),
        r(M::GET, "/photos/{id}", CLINICAL, charting::photo_file),
        r(M::GET, "/patients/{id}/photos", CLINICAL, charting::patient_photos),
        r(M::GET, "/inventory", ANY_STAFF, inventory::page),
        r(M::POST, "/inventory/items", ANY_STAFF, inventory::add_item),
        r(M::POST, "/inventory/lots", ANY_STAFF, inventory::receive),
        r(M::GET, "/inventory/lots/{id}", CLINICAL, inventory::lot_page),
        r(M::POST, "/inventory/lots/{id}/count", ANY_STAFF, inventory::count),
        r(M::POST, "/inventory/lots/{id}/recall", CLINICAL, inventory::recall),
        r(M::POST, "/inventory/lots/{id}/notify", CLINICAL, inventory::notify),
        r(M::GET, "/reports", CLINICAL, overview::reports),
        r(M::GET, "/audit", OWNER, audit::page),
        r(M::GET, "/audit.csv", OWNER, audit::csv),
        r(M::GET, "/patients", ANY_STAFF, patients::list),
        r(M::POST, "/patients", ANY_STAFF, patients::create),
        r(M::GET, "/patients/new", ANY_STAFF, patients::new_form),
        r(M::GET, "/patients/suggest", ANY_STAFF, patients::suggest),
        r(M::GET, "/patients/{id}", ANY_STAFF, patients::show),
        r(M::POST, "/patients/{id}", ANY_STAFF, patients::update),
        r(M::GET, "/patients/{id}/edit", ANY_STAFF, patients::edit_form),
        r(M::GET, "/patients/{id}/notes", CLINICAL, patients::notes),
        r(M::POST, "/patients/{id}/notes", CLINICAL, patients::add_note),
        r(M::GET, "/patients/{id}/audit", OWNER, patients::audit),
        r(M::GET, "/patients/{id}/history", CLINICAL, history::show),
        r(M::GET, "/patients/{id}/home-care", CLINICAL, home_care::show),
        r(M::GET, "/patients/{id}/account", ANY_STAFF, billing::show),
        r(M::POST, "/patients/{id}/account/invoices", ANY_STAFF, billing::issue_invoice),
        r(M::POST, "/patients/{id}/account/payments", ANY_STAFF, billing::take_payment),
        r(M::POST, "/patients/{id}/account/packages", ANY_STAFF, billing::sell_package),
        r(M::GET, "/invoices/{id}", ANY_STAFF, billing::print_invoice),
        r(M::POST, "/invoices/{id}/credit-notes", ANY_STAFF, billing::credit),
        r(M::POST, "/invoices/{id}/package-payment", ANY_STAFF, billing::pay_with_package),
        r(M::POST, "/invoices/{id}/settle", ANY_STAFF, billing::settle),
        r(M::GET, "/payments/{id}/receipt", ANY_STAFF, billing::print_receipt),
        r(M::POST, "/payments/{id}/refund", ANY_STAFF, billing::refund),
        r(M::POST, "/packages/{id}/cancel", ANY_STAFF, billing::cancel_package),
        r(M::GET, "/takings", ANY_STAFF, billing::takings),
        r(M::GET, "/takings.csv", ANY_STAFF, billing::takings_csv),
        r(M::POST, "/takings/cash-up", ANY_STAFF, billing::cash_up),
        r(M::POST, "/patients/{id}/home-care", CLINICAL, home_care::log),
        r(M::POST, "/patients/{id}/history", CLINICAL, history::change),
        r(M::POST, "/patients/{id}/intake/{sub}/confirm", CLINICAL, history::confirm_intake),
        r(M::POST, "/patients/{id}/intake-links", ANY_STAFF, intake::create_link),
        r(M::GET, "/patients/{id}/screenings", CLINICAL, screenings::list),
        r(M::POST, "/patients/{id}/screenings", CLINICAL, screenings::create),
        r(M::GET, "/patients/{id}/screenings/{sid}", CLINICAL, screenings::show),
        r(M::POST, "/patients/{id}/screenings/{sid}/override", CLINICAL, screenings::override_it),
        r(M::GET, "/patients/{id}/plans", CLINICAL, plans::list),
        r(M::POST, "/patients/{id}/plans", CLINICAL, plans::create),
        r(M::GET, "/patients/{id}/plans/{pid}", CLINICAL, plans::show),
        r(M::POST, "/patients/{id}/plans/{pid}", CLINICAL, plans::update),
        r(M::POST, "/patients/{id}/plans/{pid}/status", CLINICAL, plans::set_status),
        r(M::GET, "/patients/{id}/plans/{pid}/consent", CLINICAL, plans::consent_form),
        r(M::POST, "/patients/{id}/plans/{pid}/consent", CLINICAL, plans::sign),
        r(M::POST, "/patients/{id}/plans/{pid}/consent-links", CLINICAL, plans::create_link),
        r(M::GET, "/patients/{id}/plans/{pid}/print", CLINICAL, plans::print),
        r(M::GET, "/patients/{id}/plans/{pid}/booking", ANY_STAFF, booking::show),
        r(M::POST, "/patients/{id}/plans/{pid}/booking", ANY_STAFF, booking::confirm),
        // The patient's consent and intake questionnaire: the link is the credential.
        r(M::GET, "/consent/{token}", Public, plans::remote_form),
        r(M::POST, "/consent/{token}", Public, plans::remote_sign),
        r(M::GET, "/checkin/{token}", Public, checkins::show),
        upload(r(M::POST, "/checkin/{token}", Public, checkins::submit)),
        // The patient's own page: its own sign-in and session (see pages::portal).
        r(M::GET, "/me", Public, portal::home),
        r(M::GET, "/me/sign-in", Public, portal::sign_in_form),
        r(M::POST, "/me/sign-in", Public, portal::send_code),
        r(M::POST, "/me/code", Public, portal::enter_code),
        r(M::GET, "/me/link/{token}", Public, portal::link),
        r(M::POST, "/me/sign-out", Public, portal::sign_out),
        r(M::POST, "/me/home-care", Public, portal::log_home_care),
        r(M::GET, "/me/invoices/{id}", Public, portal::my_invoice),
        r(M::POST, "/me/invoices/{id}/pay", Public, portal::pay_invoice),
        r(M::POST, "/webhooks/stripe", Public, billing::stripe_webhook),
        r(M::GET, "/me/plans/{id}", Public, portal::print_plan),
        r(M::POST, "/me/history", Public, portal::update_history),
        r(M::GET, "/me/photos/{id}", Public, portal::photo),
        r(M::GET, "/me/checkins/{id}", Public, portal::checkin_form),
        upload(r(M::POST, "/me/checkins/{id}", Public, portal::checkin_submit)),
        r(M::GET, "/me/appointments/{id}/move", Public, portal::move_form),
        r(M::POST, "/me/appointments/{id}/move", Public, portal::move_submit),
        r(M::GET, "/me/appointments/{id}/cancel", Public, portal::cancel_form),
        r(M::POST, "/me/appointments/{id}/cancel", Public, portal::cancel_submit),
        r(M::GET, "/intake/{token}", Public, intake::show),
        r(M::POST, "/intake/{token}", Public, intake::submit),
        r(M::GET, "/settings", OWNER, settings::page),
        r(M::GET, "/settings/billing", OWNER, billing::settings),
        r(M::POST, "/settings/billing", OWNER, billing::save_settings),
        r(M::POST, "/settings/clinics", OWNER, settings::add_clinic),
        r(M::POST, "/settings/clinics/{id}", OWNER, settings::edit_clinic),
        r(M::POST, "/settings/clinics/{id}/rooms", OWNER, settings::add_room),
        r(M::POST, "/settings/clinics/{id}/devices", OWNER, settings::add_device),
        r(M::POST, "/settings/clinics/{id}/prices", OWNER, settings::add_price),
        r(M::POST, "/settings/clinics/{id}/pricing", OWNER, settings::set_pricing),
        r(M::POST, "/settings/clinics/{id}/hours", OWNER, settings::set_hours),
        r(M::POST, "/settings/clinics/{id}/closures", OWNER, settings::add_closure),
        r(M::POST, "/settings/clinics/{id}/policy", OWNER, settings::set_policy),
        r(M::POST, "/settings/clinics/{id}/sign-in", OWNER, settings::set_sign_in_policy),
        r(M::POST, "/settings/clinics/{id}/photo-sharing", OWNER, settings::set_photo_sharing),
        r(M::POST, "/settings/clinics/{id}/messages/{kind}", OWNER, settings::set_template),
        r(M::GET, "/settings/staff/{id}/hours", OWNER, settings::staff_hours),
        r(M::POST, "/settings/staff/{id}/hours/{cid}", OWNER, settings::set_staff_hours),
        r(M::GET, "/settings/clinics/{id}/rules", CLINICAL, rules::page),
        r(M::POST, "/settings/clinics/{id}/rules", OWNER, rules::change),
        r(M::POST, "/settings/staff", OWNER, settings::add_staff),
        r(M::POST, "/settings/staff/{id}/active", OWNER, settings::set_staff_active),
        r(M::POST, "/settings/staff/{id}/medical-director", OWNER, settings::set_medical_director),
        r(M::POST, "/settings/staff/{id}/reset-two-factor", OWNER, two_factor::reset),
        r(M::GET, "/account", ANY_STAFF, account::page),
        r(M::POST, "/account/sign-out-everywhere", ANY_STAFF, account::sign_out_everywhere),
        r(M::GET, "/account/two-factor", ANY_STAFF, two_factor::account_page),
        r(M::POST, "/account/two-factor", ANY_STAFF, two_factor::enable),
        r(M::POST, "/account/two-factor/recovery-codes", ANY_STAFF, two_factor::new_recovery_codes),
        r(M::POST, "/account/two-factor/off", ANY_STAFF, two_factor::disable),
        r(M::POST, "/account/tokens", ANY_STAFF, account::create_token),
        r(M::POST, "/account/tokens/{id}/revoke", ANY_STAFF, account::revoke_token),
        // JSON API.
        r(M::GET, "/api/v1/me", ANY_STAFF, api::me),
        r(M::GET, "/api/v1/clinics", ANY_STAFF, api::list_clinics),
        r(M::GET, "/api/v1/staff", OWNER, api::list_staff),
        r(M::GET, "/api/v1/tokens", ANY_STAFF, api::list_tokens),
        r(M::POST, "/api/v1/tokens", ANY_STAFF, api::create_token),
        r(M::DELETE, "/api/v1/tokens/{id}", ANY_STAFF, api::revoke_token),
        r(M::GET, "/api/v1/audit", OWNER, api::audit),
        r(M::GET, "/api/v1/patients", ANY_STAFF, api::list_patients),
        r(M::POST, "/api/v1/patients", ANY_STAFF, api::create_patient),
        r(M::GET, "/api/v1/patients/{id}", ANY_STAFF, api::get_patient),
        r(M::PUT, "/api/v1/patients/{id}", ANY_STAFF, api::update_patient),
        r(M::GET, "/api/v1/patients/{id}/notes", CLINICAL, api::list_notes),
        r(M::POST, "/api/v1/patients/{id}/notes", CLINICAL, api::add_note),
        r(M::POST, "/api/v1/screen", CLINICAL, api::screen_history),
        r(M::GET, "/api/v1/patients/{id}/history", CLINICAL, api::get_history),
        r(M::PUT, "/api/v1/patients/{id}/history", CLINICAL, api::put_history),
        r(M::GET, "/api/v1/patients/{id}/screenings", CLINICAL, api::list_screenings),
        r(M::POST, "/api/v1/patients/{id}/screenings", CLINICAL, api::create_screening),
        r(M::POST, "/api/v1/screenings/{id}/override", CLINICAL, api::override_screening),
        r(M::GET, "/api/v1/knowledge", ANY_STAFF, api::knowledge),
        r(M::GET, "/api/v1/patients/{id}/plans", CLINICAL, api::list_plans),
        r(M::POST, "/api/v1/patients/{id}/plans", CLINICAL, api::create_plan),
        r(M::GET, "/api/v1/plans/{id}", CLINICAL, api::get_plan),
        r(M::PUT, "/api/v1/plans/{id}", CLINICAL, api::update_plan),
        r(M::POST, "/api/v1/plans/{id}/status", CLINICAL, api::plan_status),
        r(M::GET, "/api/v1/availability", ANY_STAFF, api::availability),
        r(M::GET, "/api/v1/appointments", ANY_STAFF, api::list_appointments),
        r(M::POST, "/api/v1/appointments", ANY_STAFF, api::create_appointment),
        r(M::GET, "/api/v1/appointments/{id}", ANY_STAFF, api::get_appointment),
        r(M::POST, "/api/v1/appointments/{id}/move", ANY_STAFF, api::move_appointment),
        r(M::POST, "/api/v1/appointments/{id}/status", ANY_STAFF, api::appointment_status),
        r(M::GET, "/api/v1/plans/{id}/course", ANY_STAFF, api::propose_course),
        r(M::POST, "/api/v1/plans/{id}/course", ANY_STAFF, api::book_course),
        r(M::POST, "/api/v1/appointments/{id}/session", CLINICAL, api::open_session),
        r(M::GET, "/api/v1/sessions/{id}", CLINICAL, api::get_session),
        r(M::GET, "/api/v1/sessions/{id}/aftercare", CLINICAL, api::get_aftercare),
        r(M::GET, "/api/v1/patients/{id}/sessions", CLINICAL, api::list_sessions),
        r(M::PUT, "/api/v1/sessions/{id}/checklist", CLINICAL, api::put_checklist),
        r(M::POST, "/api/v1/sessions/{id}/start", CLINICAL, api::start_session),
        r(M::PUT, "/api/v1/sessions/{id}/zones/{zone}", CLINICAL, api::put_zone),
        r(M::DELETE, "/api/v1/sessions/{id}/zones/{zone}", CLINICAL, api::delete_zone),
        r(M::POST, "/api/v1/sessions/{id}/lots", CLINICAL, api::add_session_lot),
        r(M::POST, "/api/v1/sessions/{id}/sign", CLINICAL, api::sign_session),
        r(M::POST, "/api/v1/sessions/{id}/cosign", CLINICAL, api::cosign_session),
        r(M::POST, "/api/v1/sessions/{id}/amendments", CLINICAL, api::amend_session),
        r(M::GET, "/api/v1/inventory", ANY_STAFF, api::list_items),
        r(M::POST, "/api/v1/inventory", ANY_STAFF, api::create_item),
        r(M::GET, "/api/v1/lots", ANY_STAFF, api::list_lots),
        r(M::POST, "/api/v1/lots", ANY_STAFF, api::receive_lot),
        r(M::GET, "/api/v1/lots/{id}", ANY_STAFF, api::get_lot),
        r(M::GET, "/api/v1/lots/{id}/uses", CLINICAL, api::lot_uses),
        r(M::POST, "/api/v1/lots/{id}/recall", CLINICAL, api::recall_lot),
        r(M::GET, "/api/v1/lots/{id}/adverse-events", CLINICAL, api::lot_adverse_events),
        r(M::GET, "/api/v1/patients/{id}/checkins", CLINICAL, api::list_checkins),
        r(M::GET, "/api/v1/checkins/{id}", CLINICAL, api::get_checkin),
        r(M::POST, "/api/v1/checkins/{id}/review", CLINICAL, api::review_checkin),
        r(M::POST, "/api/v1/sessions/{id}/adverse-events", CLINICAL, api::record_adverse_event),
        r(M::GET, "/api/v1/adverse-events/{id}", CLINICAL, api::get_adverse_event),
        r(M::POST, "/api/v1/adverse-events/{id}/amendments", CLINICAL, api::amend_adverse_event),
        r(M::GET, "/api/v1/patients/{id}/adverse-events", CLINICAL, api::list_adverse_events),
        r(M::GET, "/api/v1/patients/{id}/home-care", CLINICAL, api::list_home_care),
        r(M::POST, "/api/v1/patients/{id}/home-care", CLINICAL, api::log_home_care),
        r(M::GET, "/api/v1/patients/{id}/account", ANY_STAFF, api::get_account),
        r(M::POST, "/api/v1/patients/{id}/invoices", ANY_STAFF, api::create_invoice),
        r(M::GET, "/api/v1/invoices/{id}", ANY_STAFF, api::get_invoice),
        r(M::POST, "/api/v1/invoices/{id}/credit-notes", ANY_STAFF, api::create_credit_note),
        r(M::POST, "/api/v1/invoices/{id}/package-payment", ANY_STAFF, api::pay_with_package),
        r(M::POST, "/api/v1/patients/{id}/payments", ANY_STAFF, api::create_payment),
        r(M::POST, "/api/v1/payments/{id}/refunds", ANY_STAFF, api::create_refund),
        r(M::POST, "/api/v1/plans/{id}/package", ANY_STAFF, api::sell_package),
        r(M::GET, "/api/v1/clinics/{id}/takings", ANY_STAFF, api::get_takings),
    ]
}

/// A route that takes a photo: its body may be as large as a photo.
fn upload(mut e: Entry) -> Entry {
    e.handler = e.handler.layer(axum::extract::DefaultBodyLimit::max(
        charting::READ_WHEN_REFUSED,
    ));
    e
}

/// Every route's method, path and access rule.
pub fn all() -> Vec<RouteSpec> {
    table().into_iter().map(|e| e.spec).collect()
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for e in table() {
        let guard = axum::middleware::from_fn_with_state((state.clone(), e.spec.access), authorize);
        router = router.route(e.spec.path, e.handler.layer(guard));
    }
    router.with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers too.
async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    match st.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "database": st.store.backend().name() })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({ "status": "unavailable", "database": st.store.backend().name() }),
                ),
            )
        }
    }
}
