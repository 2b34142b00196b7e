//! Money over HTTP on the demo clinic: the day's takings equal that day's
//! payments less refunds, by method, with a credit note between them;
//! bad amounts and other clinics' invoices make no money; the cash-up asks
//! why a till differs. And online payment against a local server speaking
//! Stripe's wire format: the checkout asks for what is due, a signed
//! webhook pays the invoice once however often it comes, a bad or
//! replayed signature pays nothing.

use crate::after_session::patient_client;
use crate::common::{json_call, location, spawn_demo, spawn_demo_paying, Client, DemoApp};
use jiff::SignedDuration;
use needlepoint_domain::appointment::AppointmentStatus;
use needlepoint_practice::payments::{stripe_signature, Stripe};
use needlepoint_store::testing::TestBackend;
use needlepoint_store::{Appointment, Patient};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

async fn takings(c: &mut Client, clinic: i64, day: &str) -> Value {
    let (s, t) = json_call(
        c,
        Method::GET,
        &format!("/api/v1/clinics/{clinic}/takings?day={day}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{t}");
    t
}

fn by_method(t: &Value, m: &str) -> (i64, i64) {
    t["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["method"] == m)
        .map_or((0, 0), |x| {
            (
                x["received_minor"].as_i64().unwrap(),
                x["refunded_minor"].as_i64().unwrap(),
            )
        })
}

async fn demo_patient(d: &DemoApp) -> Patient {
    course_without_money(d).await.0
}

/// A demo patient with two sessions of a course booked ahead, an e-mail
/// address, and no money recorded yet.
pub async fn course_without_money(d: &DemoApp) -> (Patient, Appointment, Appointment) {
    let st = &d.app.store;
    let now = d.clock.now();
    let mut ahead = vec![];
    for c in st.clinics_for_staff(owner(d).await).await.unwrap() {
        ahead.extend(
            st.appointments(
                c.id,
                now + SignedDuration::from_hours(2),
                now + SignedDuration::from_hours(24 * 90),
            )
            .await
            .unwrap(),
        );
    }
    ahead.sort_by_key(|a| a.starts_at);
    for a in ahead.iter().filter(|a| {
        a.kind.is_session() && a.status == AppointmentStatus::Booked && a.plan_id.is_some()
    }) {
        let next = ahead.iter().find(|b| {
            b.plan_id == a.plan_id
                && b.status == AppointmentStatus::Booked
                && b.session_number > a.session_number
        });
        let p = st.patient(a.patient_id).await.unwrap();
        let acc = st.patient_account(p.id).await.unwrap();
        let clean = acc.invoices.is_empty() && acc.payments.is_empty() && acc.packages.is_empty();
        if let (Some(next), Some(_), true) = (next, &p.details.email, clean) {
            return (p, a.clone(), next.clone());
        }
    }
    panic!("the demo has a course booked ahead with no money recorded yet");
}

async fn owner(d: &DemoApp) -> i64 {
    d.app
        .store
        .staff_credentials("owner@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff
        .id
}

async fn takings_equal_the_days_payments(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let p = demo_patient(&d).await;
    let mut c = d.client("frontdesk@demo.needlepoint.test").await;
    let today = d
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/London").unwrap())
        .date()
        .to_string();
    let before = takings(&mut c, p.clinic_id, &today).await;

    let (s, inv) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/patients/{}/invoices", p.id),
        json!({"lines": [{"label": "Hyaluronic serum", "quantity": 2, "unit_minor": 2500}]}),
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    assert_eq!(inv["total_minor"], 5000);
    assert!(inv["number"].as_str().unwrap().starts_with("INV-"));
    let invoice = inv["id"].as_i64().unwrap();
    let pay = |method: &str, amount: i64, reference: &str, invoice: Option<i64>| json!({"method": method, "amount_minor": amount, "reference": reference, "invoice_id": invoice});
    let payments = format!("/api/v1/patients/{}/payments", p.id);
    // Refused, each beside its field, and nothing recorded.
    for (body, field) in [
        (pay("cash", -500, "", Some(invoice)), "amount"),
        (pay("cash", 0, "", Some(invoice)), "amount"),
        (pay("card", 2000, "", Some(invoice)), "reference"),
        (pay("package", 2000, "", Some(invoice)), "method"),
        (pay("cash", 9000, "", Some(invoice)), "amount"),
    ] {
        let (s, e) = json_call(&mut c, Method::POST, &payments, body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert!(e.to_string().contains(field), "{body}: {e}");
    }
    let (s, e) = json_call(
        &mut c,
        Method::POST,
        &payments,
        json!({"method": "cash", "amount_minor": 100, "tip": 5}),
    )
    .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (400, Some("tip")),
        "unknown fields are refused: {e}"
    );
    assert!(d
        .app
        .store
        .patient_account(p.id)
        .await
        .unwrap()
        .payments
        .is_empty());

    let (s, cash) = json_call(
        &mut c,
        Method::POST,
        &payments,
        pay("cash", 3000, "", Some(invoice)),
    )
    .await;
    assert_eq!(s, 201, "{cash}");
    let (s, card) = json_call(
        &mut c,
        Method::POST,
        &payments,
        pay("card", 2000, "T-881", Some(invoice)),
    )
    .await;
    assert_eq!(s, 201, "{card}");
    // Paid in full: a credit note of £15 frees £15 of the card payment.
    let (s, cn) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/invoices/{invoice}/credit-notes"),
        json!({"amount_minor": 1500, "reason": "One serum returned unopened"}),
    )
    .await;
    assert_eq!(s, 201, "{cn}");
    assert!(cn["number"].as_str().unwrap().starts_with("CN-"));
    let (s, e) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/invoices/{invoice}/credit-notes"),
        json!({"amount_minor": 4000, "reason": "Too much"}),
    )
    .await;
    assert_eq!(s, 422, "more than is left to credit: {e}");
    let card_id = card["id"].as_i64().unwrap();
    let refunds = format!("/api/v1/payments/{card_id}/refunds");
    let (s, e) = json_call(
        &mut c,
        Method::POST,
        &refunds,
        json!({"amount_minor": 1600}),
    )
    .await;
    assert_eq!(s, 422, "more than the credit freed: {e}");
    assert!(e.to_string().contains("£15.00"), "{e}");
    let (s, r) = json_call(
        &mut c,
        Method::POST,
        &refunds,
        json!({"amount_minor": 1500, "reference": "R-1"}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["method"], "card", "refunded to the card it came from");
    let (s, dep) = json_call(
        &mut c,
        Method::POST,
        &payments,
        json!({"method": "transfer", "amount_minor": 10000, "deposit": true}),
    )
    .await;
    assert_eq!(s, 201, "{dep}");
    assert_eq!(dep["on_account_minor"], 10000);

    // Another clinic's invoice: not found, and nothing paid.
    let sys = needlepoint_store::Actor::system("test");
    let now = d.clock.now();
    let org = d.app.store.organisation().await.unwrap().unwrap().id;
    let far = d
        .app
        .store
        .create_clinic(
            org,
            &needlepoint_domain::ClinicDetails::parse("Far Clinic", "Europe/London", "", "")
                .unwrap(),
            &sys,
            now,
        )
        .await
        .unwrap();
    let stranger = d
        .app
        .store
        .create_patient(
            far.id,
            &needlepoint_domain::PatientInput {
                given_name: "Far".into(),
                family_name: "Away".into(),
                date_of_birth: "1980-01-01".into(),
                sex: "female".into(),
                ..Default::default()
            }
            .validate(jiff::civil::date(2027, 1, 1))
            .unwrap(),
            &sys,
            now,
        )
        .await
        .unwrap();
    let (lines, totals) = needlepoint_domain::billing::price_lines(
        &[needlepoint_domain::billing::LineInput {
            label: "x".into(),
            quantity: 1,
            unit_minor: 1000,
            source: None,
        }],
        0,
        true,
    )
    .unwrap();
    let theirs = d
        .app
        .store
        .issue_invoice(
            &needlepoint_store::NewInvoice {
                clinic_id: far.id,
                patient_id: stranger.id,
                issued_on: jiff::civil::date(2027, 3, 10),
                currency: "GBP".into(),
                tax_rate_bp: 0,
                tax_included: true,
                lines,
                totals,
                credits: None,
                package: None,
                settle_from: vec![],
            },
            &sys,
            now,
        )
        .await
        .unwrap();
    let (s, _) = json_call(
        &mut c,
        Method::POST,
        &payments,
        pay("cash", 1000, "", Some(theirs.id)),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = json_call(
        &mut c,
        Method::GET,
        &format!("/api/v1/invoices/{}", theirs.id),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);

    // The day's takings moved by exactly what was taken and given back.
    let after = takings(&mut c, p.clinic_id, &today).await;
    let delta = |m: &str| {
        let (a, b) = (by_method(&after, m), by_method(&before, m));
        (a.0 - b.0, a.1 - b.1)
    };
    assert_eq!(delta("cash"), (3000, 0));
    assert_eq!(delta("card"), (2000, 1500));
    assert_eq!(delta("transfer"), (10000, 0));
    assert_eq!(
        after["net_minor"].as_i64().unwrap() - before["net_minor"].as_i64().unwrap(),
        3000 + 2000 - 1500 + 10000
    );
    assert_eq!(
        after["cash_expected_minor"].as_i64().unwrap()
            - before["cash_expected_minor"].as_i64().unwrap(),
        3000
    );
    // The sum of the day's listed payments is the net, package credit aside.
    let listed: i64 = after["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["method"] != "package")
        .map(|x| {
            let a = x["amount_minor"].as_i64().unwrap();
            if x["refund_of"].is_null() {
                a
            } else {
                -a
            }
        })
        .sum();
    assert_eq!(listed, after["net_minor"].as_i64().unwrap());
    // The balance: payments less refunds less invoiced, the credit back.
    let (_, acc) = json_call(
        &mut c,
        Method::GET,
        &format!("/api/v1/patients/{}/account", p.id),
        Value::Null,
    )
    .await;
    assert_eq!(
        acc["balance_minor"],
        3000 + 2000 + 10000 - 1500 - 5000 + 1500
    );

    // A new invoice paid from the money on account: no money moves.
    let (s, inv2) = json_call(
        &mut c,
        Method::POST,
        &format!("/api/v1/patients/{}/invoices", p.id),
        json!({"lines": [{"label": "Sunscreen", "unit_minor": 3000}]}),
    )
    .await;
    assert_eq!(s, 201, "{inv2}");
    let inv2 = inv2["id"].as_i64().unwrap();
    let r = c.post_form(&format!("/invoices/{inv2}/settle"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(d.app.store.invoice(inv2).await.unwrap().due_minor(), 0);
    let again = c.post_form(&format!("/invoices/{inv2}/settle"), &[]).await;
    assert_eq!(again.status(), 422, "nothing left to settle");

    // The CSV has the same rows.
    let csv = c
        .get(&format!("/takings.csv?clinic={}&day={today}", p.clinic_id))
        .await
        .text()
        .await
        .unwrap();
    let mine: i64 = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some(p.id.to_string().as_str()))
        .map(|l| l.split(',').nth(5).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(mine, 3000 + 2000 - 1500 + 10000);

    // A till that differs needs a reason.
    let expected = after["cash_expected_minor"].as_i64().unwrap();
    let counted = format!("{}.{:02}", (expected - 500) / 100, (expected - 500) % 100);
    let day = today.clone();
    let clinic = p.clinic_id.to_string();
    let r = c
        .post_form(
            "/takings/cash-up",
            &[
                ("clinic", &clinic),
                ("day", &day),
                ("counted", &counted),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("say why"));
    let r = c
        .post_form(
            "/takings/cash-up",
            &[
                ("clinic", &clinic),
                ("day", &day),
                ("counted", &counted),
                ("note", "£5 float taken to the bank"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let ups = d
        .app
        .store
        .cash_ups(p.clinic_id, day.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].counted_minor - ups[0].expected_minor, -500);
    let page = c
        .get(&format!("/takings?clinic={clinic}&day={day}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("£5 float taken to the bank"));
}

/// The forms the fake provider was sent, in order.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A local server speaking Stripe's checkout API: it keeps each request's
/// form and answers with a session and its address.
async fn fake_stripe() -> (String, Seen) {
    use axum::routing::post;
    let seen: Seen = Default::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/v1/checkout/sessions",
        post(
            move |headers: axum::http::HeaderMap,
                  axum::Form(f): axum::Form<Vec<(String, String)>>| {
                let keep = keep.clone();
                async move {
                    if headers.get("authorization").and_then(|v| v.to_str().ok())
                        != Some("Bearer sk_test_local")
                    {
                        return (
                            axum::http::StatusCode::UNAUTHORIZED,
                            axum::Json(json!({"error": {"message": "Invalid API Key provided"}})),
                        );
                    }
                    let n = {
                        let mut k = keep.lock().unwrap();
                        k.push(f);
                        k.len()
                    };
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({
                            "id": format!("cs_test_{n}"),
                            "object": "checkout.session",
                            "url": format!("https://checkout.stripe.test/c/pay/cs_test_{n}")
                        })),
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn paid_event(id: &str, invoice: i64, amount: i64, currency: &str) -> Vec<u8> {
    json!({
        "id": id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": "cs_test_1", "object": "checkout.session", "payment_status": "paid",
            "amount_total": amount, "currency": currency,
            "client_reference_id": invoice.to_string(),
            "metadata": {"invoice_id": invoice.to_string()},
            "payment_intent": "pi_test_1"
        }}
    })
    .to_string()
    .into_bytes()
}

async fn webhook(d: &DemoApp, body: &[u8], signature: Option<String>) -> u16 {
    let mut req = reqwest::Client::new()
        .post(format!("{}/webhooks/stripe", d.app.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("Stripe-Signature", s);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn online_payment_through_a_local_provider(backend: TestBackend) {
    let (api, seen) = fake_stripe().await;
    let secret = "whsec_local";
    let provider = needlepoint_web::Payments(Arc::new(Stripe::new(&api, "sk_test_local", secret)));
    let d = spawn_demo_paying(backend, Some(provider)).await;
    let p = demo_patient(&d).await;
    let mut desk = d.client("frontdesk@demo.needlepoint.test").await;
    let (s, inv) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/patients/{}/invoices", p.id),
        json!({"lines": [{"label": "Aftercare kit", "unit_minor": 4500}]}),
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    let invoice = inv["id"].as_i64().unwrap();

    // The patient pays from her page: sent to the provider's checkout for
    // what is due.
    let mut me = patient_client(&d, &p).await;
    let home = me.get("/me").await.text().await.unwrap();
    assert!(
        home.contains(&format!("id=\"pay-{invoice}\"")),
        "Pay online is offered"
    );
    let r = me
        .post_form(&format!("/me/invoices/{invoice}/pay"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "https://checkout.stripe.test/c/pay/cs_test_1");
    let form = seen.lock().unwrap()[0].clone();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        field("line_items[0][price_data][unit_amount]").as_deref(),
        Some("4500")
    );
    assert_eq!(
        field("line_items[0][price_data][currency]").as_deref(),
        Some("gbp")
    );
    assert_eq!(field("metadata[invoice_id]"), Some(invoice.to_string()));
    assert!(field("success_url")
        .unwrap()
        .ends_with(&format!("/me?paid={invoice}")));

    let now = d.clock.now().as_second();
    let body = paid_event("evt_1", invoice, 4500, "gbp");
    let signed = |body: &[u8], t: i64| format!("t={t},v1={}", stripe_signature(secret, t, body));
    // Unsigned, wrongly signed, or signed over another body: refused.
    assert_eq!(webhook(&d, &body, None).await, 400);
    assert_eq!(
        webhook(
            &d,
            &body,
            Some(format!(
                "t={now},v1={}",
                stripe_signature("whsec_other", now, &body)
            ))
        )
        .await,
        400
    );
    let other = paid_event("evt_1", invoice, 1, "gbp");
    assert_eq!(webhook(&d, &other, Some(signed(&body, now))).await, 400);
    assert!(d
        .app
        .store
        .patient_account(p.id)
        .await
        .unwrap()
        .payments
        .is_empty());
    // Signed: applied once, however often it comes.
    for _ in 0..3 {
        assert_eq!(webhook(&d, &body, Some(signed(&body, now))).await, 200);
    }
    let acc = d.app.store.patient_account(p.id).await.unwrap();
    assert_eq!(acc.payments.len(), 1);
    assert_eq!(
        acc.payments[0].method,
        needlepoint_domain::billing::Method::Online
    );
    assert_eq!(acc.payments[0].reference.as_deref(), Some("pi_test_1"));
    assert_eq!(d.app.store.invoice(invoice).await.unwrap().due_minor(), 0);
    // A replay of a new event with an old signature, or a payment in
    // another currency: refused, nothing more paid.
    let late = paid_event("evt_2", invoice, 4500, "gbp");
    assert_eq!(
        webhook(&d, &late, Some(signed(&late, now - 600))).await,
        400
    );
    let dollars = paid_event("evt_3", invoice, 4500, "usd");
    assert_eq!(
        webhook(&d, &dollars, Some(signed(&dollars, now))).await,
        422
    );
    assert_eq!(
        d.app
            .store
            .patient_account(p.id)
            .await
            .unwrap()
            .payments
            .len(),
        1
    );
    // Nothing is due now: no button, and no checkout.
    let home = me.get("/me").await.text().await.unwrap();
    assert!(!home.contains(&format!("id=\"pay-{invoice}\"")));
    let r = me
        .post_form(&format!("/me/invoices/{invoice}/pay"), &[])
        .await;
    assert_eq!(r.status(), 400, "nothing due");
}

async fn without_a_provider_online_payment_is_not_offered(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let p = demo_patient(&d).await;
    let mut desk = d.client("frontdesk@demo.needlepoint.test").await;
    let (s, inv) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/patients/{}/invoices", p.id),
        json!({"lines": [{"label": "Aftercare kit", "unit_minor": 4500}]}),
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    let invoice = inv["id"].as_i64().unwrap();
    let mut me = patient_client(&d, &p).await;
    let home = me.get("/me").await.text().await.unwrap();
    assert!(home.contains("£45.00 due"), "the invoice is listed");
    assert!(!home.contains("Pay online"));
    assert_eq!(
        me.post_form(&format!("/me/invoices/{invoice}/pay"), &[])
            .await
            .status(),
        404
    );
    let body = paid_event("evt_1", invoice, 4500, "gbp");
    assert_eq!(webhook(&d, &body, Some("t=1,v1=00".into())).await, 404);
    // Her own invoice prints for her; another's is not found.
    assert_eq!(
        me.get(&format!("/me/invoices/{invoice}")).await.status(),
        200
    );
}

async fn a_cancelled_plan_credits_its_unused_sessions(backend: TestBackend) {
    let d = spawn_demo(backend).await;
    let (p, first, _) = course_without_money(&d).await;
    let plan = first.plan_id.unwrap();
    let st = d.app.store.clone();
    let mut desk = d.client("frontdesk@demo.needlepoint.test").await;
    let (s, inv) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/plans/{plan}/package"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    let total = inv["total_minor"].as_i64().unwrap();
    let invoice = inv["id"].as_i64().unwrap();
    // Selling it twice: refused.
    let (s, _) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/plans/{plan}/package"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 409);
    let (s, cash) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/patients/{}/payments", p.id),
        json!({"method": "cash", "amount_minor": total, "invoice_id": invoice}),
    )
    .await;
    assert_eq!(s, 201, "{cash}");
    // One session signed, drawn from the package.
    let clinician = st
        .staff_credentials("clinician@demo.needlepoint.test")
        .await
        .unwrap()
        .unwrap()
        .staff
        .id;
    d.clock.set(first.starts_at + SignedDuration::from_hours(1));
    crate::browser_money::sign_session(&st, &first, clinician).await;
    let k = st.patient_account(p.id).await.unwrap().packages[0].clone();
    assert_eq!(k.used, 1);
    // The plan is cancelled: the package closes, its unused sessions are
    // credited (less the demo clinic's 10 %), and the money freed is on
    // account to refund in cash.
    // The clock moved weeks: sessions made before have gone idle.
    let mut desk = d.client("frontdesk@demo.needlepoint.test").await;
    let mut nurse = d.client("clinician@demo.needlepoint.test").await;
    let (s, out) = json_call(
        &mut nurse,
        Method::POST,
        &format!("/api/v1/plans/{plan}/status"),
        json!({"status": "cancelled", "reason": "Moving abroad"}),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    let acc = st.patient_account(p.id).await.unwrap();
    let k = &acc.packages[0];
    assert!(k.closed_at.is_some());
    let unused = i64::from(k.sessions - 1);
    let share = needlepoint_domain::pricing::mul_div_round(total, unused, i64::from(k.sessions));
    let back = share - needlepoint_domain::pricing::mul_div_round(share, 1000, 10_000);
    let cn = acc
        .invoices
        .iter()
        .find(|i| i.credit_note)
        .expect("a credit note");
    assert_eq!(cn.credits_invoice_id, Some(invoice));
    assert_eq!(cn.totals.total, back);
    assert_eq!(acc.balance_minor, back, "the credit is on account");
    let (s, r) = json_call(
        &mut desk,
        Method::POST,
        &format!("/api/v1/payments/{}/refunds", cash["id"]),
        json!({"amount_minor": back}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["method"], "cash");
    assert_eq!(st.patient_account(p.id).await.unwrap().balance_minor, 0);
}

crate::both!(
    a_cancelled_plan_credits_its_unused_sessions,
    takings_equal_the_days_payments,
    online_payment_through_a_local_provider,
    without_a_provider_online_payment_is_not_offered,
);
