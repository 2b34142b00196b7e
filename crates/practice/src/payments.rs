//! Online payment: a provider's hosted checkout and its signed webhooks,
//! behind [`PaymentProvider`]. One implementation, Stripe Checkout, spoken
//! over its documented wire format: a form-encoded `POST
//! /v1/checkout/sessions` with the secret key, and webhooks signed in the
//! `Stripe-Signature` header (`t=…,v1=…`, HMAC-SHA256 of `t.body`).
//! Without a provider configured, online payment is simply not offered.

use crate::{Context, Error, Result};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use needlepoint_domain::billing::Method;
use needlepoint_store::{NewPayment, Payment};
use sha2::Sha256;

/// What the patient is asked to pay online.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub invoice_id: i64,
    pub amount_minor: i64,
    /// ISO 4217, e.g. "GBP".
    pub currency: String,
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
}

/// A webhook's event, once its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    /// Money received for an invoice.
    Paid {
        event_id: String,
        invoice_id: i64,
        amount_minor: i64,
        currency: String,
        /// The provider's reference for the payment.
        reference: String,
    },
    /// An event of no concern to the clinic (acknowledged, not applied).
    Other(String),
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// No signature, a wrong one, or one too old (a replay).
    BadSignature(&'static str),
    /// Signed, but not an event we can read.
    Malformed(String),
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's name, for the audit trail.
    fn name(&self) -> &'static str;
    /// Starts a hosted checkout; gives the address to send the patient to.
    async fn checkout(&self, req: &CheckoutRequest) -> Result<String, String>;
    /// Checks a webhook's signature against `now` and reads its event.
    fn verify(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookRefusal>;
}

/// Stripe Checkout.
pub struct Stripe {
    /// `https://api.stripe.com`, or a local server in tests.
    pub api_base: String,
    pub secret_key: String,
    pub webhook_secret: String,
    client: reqwest::Client,
}

/// How old a signed webhook may be: Stripe's own default tolerance.
const WEBHOOK_TOLERANCE_SECS: i64 = 300;

impl Stripe {
    pub fn new(api_base: &str, secret_key: &str, webhook_secret: &str) -> Stripe {
        Stripe {
            api_base: api_base.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
            webhook_secret: webhook_secret.to_string(),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("a client with a timeout"),
        }
    }
}

/// The `v1` signature of a payload at time `t`, hex-encoded.
pub fn stripe_signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time comparison of two hex strings.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[async_trait::async_trait]
impl PaymentProvider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn checkout(&self, req: &CheckoutRequest) -> Result<String, String> {
        let invoice = req.invoice_id.to_string();
        let amount = req.amount_minor.to_string();
        let currency = req.currency.to_ascii_lowercase();
        let form: Vec<(&str, &str)> = vec![
            ("mode", "payment"),
            ("success_url", &req.success_url),
            ("cancel_url", &req.cancel_url),
            ("client_reference_id", &invoice),
            ("metadata[invoice_id]", &invoice),
            ("line_items[0][quantity]", "1"),
            ("line_items[0][price_data][currency]", &currency),
            ("line_items[0][price_data][unit_amount]", &amount),
            (
                "line_items[0][price_data][product_data][name]",
                &req.description,
            ),
        ];
        let res = self
            .client
            .post(format!("{}/v1/checkout/sessions", self.api_base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", format!("invoice-{invoice}-{amount}"))
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("the payment provider could not be reached: {e}"))?;
        let status = res.status();
        let body: serde_json::Value = res
            .json()
            .await
            .map_err(|e| format!("the payment provider answered with something unreadable: {e}"))?;
        if !status.is_success() {
            let msg = body["error"]["message"]
                .as_str()
                .unwrap_or("no reason given");
            return Err(format!("the payment provider refused ({status}): {msg}"));
        }
        body["url"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "the payment provider gave no checkout address".into())
    }

    fn verify(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<WebhookEvent, WebhookRefusal> {
        let header = signature.ok_or(WebhookRefusal::BadSignature("no signature"))?;
        let mut t = None;
        let mut v1 = vec![];
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => v1.push(v.to_string()),
                _ => {}
            }
        }
        let t = t.ok_or(WebhookRefusal::BadSignature("no timestamp"))?;
        let expected = stripe_signature(&self.webhook_secret, t, body);
        if !v1.iter().any(|s| same(s, &expected)) {
            return Err(WebhookRefusal::BadSignature("the signature does not match"));
        }
        if (now.as_second() - t).abs() > WEBHOOK_TOLERANCE_SECS {
            return Err(WebhookRefusal::BadSignature("the signature is too old"));
        }
        let ev: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| WebhookRefusal::Malformed(format!("not JSON: {e}")))?;
        let kind = ev["type"].as_str().unwrap_or_default();
        let id = ev["id"]
            .as_str()
            .ok_or_else(|| WebhookRefusal::Malformed("no event id".into()))?;
        let o = &ev["data"]["object"];
        let paid = matches!(
            kind,
            "checkout.session.completed" | "checkout.session.async_payment_succeeded"
        ) && o["payment_status"].as_str() == Some("paid");
        if !paid {
            return Ok(WebhookEvent::Other(kind.to_string()));
        }
        let invoice_id = o["metadata"]["invoice_id"]
            .as_str()
            .or(o["client_reference_id"].as_str())
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| WebhookRefusal::Malformed("no invoice named".into()))?;
        let amount_minor = o["amount_total"]
            .as_i64()
            .filter(|a| *a > 0)
            .ok_or_else(|| WebhookRefusal::Malformed("no amount".into()))?;
        Ok(WebhookEvent::Paid {
            event_id: id.to_string(),
            invoice_id,
            amount_minor,
            currency: o["currency"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_uppercase(),
            reference: o["payment_intent"]
                .as_str()
                .or(o["id"].as_str())
                .unwrap_or_default()
                .to_string(),
        })
    }
}

/// Starts paying an invoice online: the patient's own invoice, with
/// something due. Gives the provider's checkout address.
pub async fn start_checkout(
    cx: &Context,
    provider: &dyn PaymentProvider,
    patient_id: i64,
    invoice_id: i64,
    site: &str,
) -> Result<String> {
    let inv = cx.store.invoice(invoice_id).await?;
    if inv.patient_id != patient_id || inv.credit_note {
        return Err(Error::NotFound);
    }
    if inv.due_minor() <= 0 {
        return Err(Error::refused("Nothing is due on this invoice."));
    }
    let clinic = cx.store.clinic(inv.clinic_id).await?;
    let req = CheckoutRequest {
        invoice_id,
        amount_minor: inv.due_minor(),
        currency: inv.currency.clone(),
        description: format!("{} · invoice {}", clinic.details.name, inv.label()),
        success_url: format!("{site}/me?paid={invoice_id}"),
        cancel_url: format!("{site}/me"),
    };
    provider.checkout(&req).await.map_err(|e| {
        tracing::warn!(invoice = invoice_id, "checkout not started: {e}");
        Error::Conflict(
            "Online payment could not be started just now. Please try again later, or pay at the clinic."
                .into(),
        )
    })
}

/// Applies a webhook: a checked payment is recorded once, however often
/// the provider delivers it. Gives the payment, or `None` for an event of
/// no concern.
pub async fn apply_webhook(
    cx: &Context,
    provider: &dyn PaymentProvider,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Option<Payment>> {
    let ev = provider
        .verify(signature, body, cx.now())
        .map_err(|r| match r {
            WebhookRefusal::BadSignature(why) => {
                Error::Forbidden(format!("Webhook refused: {why}."))
            }
            WebhookRefusal::Malformed(why) => Error::invalid("body", why),
        })?;
    let WebhookEvent::Paid {
        event_id,
        invoice_id,
        amount_minor,
        currency,
        reference,
    } = ev
    else {
        return Ok(None);
    };
    let inv = cx
        .store
        .invoice(invoice_id)
        .await
        .map_err(|_| Error::invalid("body", "The event names no invoice of ours."))?;
    if !inv.currency.eq_ignore_ascii_case(&currency) {
        return Err(Error::invalid(
            "body",
            format!(
                "Paid in {currency}, but the invoice is in {}.",
                inv.currency
            ),
        ));
    }
    let new = NewPayment {
        clinic_id: inv.clinic_id,
        patient_id: inv.patient_id,
        method: Method::Online,
        amount_minor,
        reference: Some(reference).filter(|r| !r.is_empty()),
        deposit: false,
        invoice_id: Some(inv.id),
        received_on: cx.clinic_today(inv.clinic_id).await?,
        provider_event: Some(format!("{}:{event_id}", provider.name())),
    };
    let who = needlepoint_store::Actor::system(provider.name());
    Ok(Some(cx.store.record_payment(&new, &who, cx.now()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripe() -> Stripe {
        Stripe::new("http://127.0.0.1:1", "sk_test", "whsec_test")
    }

    fn event(kind: &str, status: &str) -> Vec<u8> {
        serde_json::json!({
            "id": "evt_1", "type": kind,
            "data": {"object": {"id": "cs_1", "payment_status": status, "amount_total": 12000,
                "currency": "gbp", "client_reference_id": "7", "metadata": {"invoice_id": "7"},
                "payment_intent": "pi_1"}}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_signed_paid_session_is_read() {
        let s = stripe();
        let body = event("checkout.session.completed", "paid");
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let header = format!(
            "t={},v1={}",
            now.as_second(),
            stripe_signature("whsec_test", now.as_second(), &body)
        );
        assert_eq!(
            s.verify(Some(&header), &body, now).unwrap(),
            WebhookEvent::Paid {
                event_id: "evt_1".into(),
                invoice_id: 7,
                amount_minor: 12000,
                currency: "GBP".into(),
                reference: "pi_1".into()
            }
        );
        // Unpaid sessions and other events are acknowledged, not applied.
        let body = event("checkout.session.completed", "unpaid");
        let header = format!(
            "t={},v1={}",
            now.as_second(),
            stripe_signature("whsec_test", now.as_second(), &body)
        );
        assert!(matches!(
            s.verify(Some(&header), &body, now),
            Ok(WebhookEvent::Other(_))
        ));
    }

    #[test]
    fn bad_old_or_missing_signatures_are_refused() {
        let s = stripe();
        let body = event("checkout.session.completed", "paid");
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let t = now.as_second();
        let wrong = format!("t={t},v1={}", stripe_signature("another", t, &body));
        assert!(matches!(
            s.verify(Some(&wrong), &body, now),
            Err(WebhookRefusal::BadSignature(_))
        ));
        assert!(matches!(
            s.verify(None, &body, now),
            Err(WebhookRefusal::BadSignature(_))
        ));
        let old = t - 301;
        let stale = format!("t={old},v1={}", stripe_signature("whsec_test", old, &body));
        assert!(matches!(
            s.verify(Some(&stale), &body, now),
            Err(WebhookRefusal::BadSignature(_))
        ));
        // The body changed after signing.
        let good = format!("t={t},v1={}", stripe_signature("whsec_test", t, &body));
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert!(matches!(
            s.verify(Some(&good), &tampered, now),
            Err(WebhookRefusal::BadSignature(_))
        ));
    }
}
