//! Money: for any sequence of invoices, credit notes, payments and refunds
//! the books balance, numbers have no gaps, packages never go below zero;
//! the last session of a package goes to one payment only; a provider's
//! event is applied once.

use super::*;
use needlepoint_domain::billing::{price_lines, LineInput, Method};

fn day() -> jiff::civil::Date {
    jiff::civil::date(2026, 12, 7)
}

fn new_invoice(
    clinic_id: i64,
    patient_id: i64,
    amounts: &[i64],
    source: Option<String>,
) -> NewInvoice {
    let lines: Vec<LineInput> = amounts
        .iter()
        .enumerate()
        .map(|(i, a)| LineInput {
            label: format!("Line {i}"),
            quantity: 1,
            unit_minor: *a,
            source: if i == 0 { source.clone() } else { None },
        })
        .collect();
    let (lines, totals) = price_lines(&lines, 2000, false).unwrap();
    NewInvoice {
        clinic_id,
        patient_id,
        issued_on: day(),
        currency: "GBP".into(),
        tax_rate_bp: 2000,
        tax_included: false,
        lines,
        totals,
        credits: None,
        package: None,
        settle_from: vec![],
    }
}

fn credit(inv: &Invoice, amount: i64) -> NewInvoice {
    let mut n = new_invoice(inv.clinic_id, inv.patient_id, &[amount], None);
    // A credit of exactly `amount` in total.
    n.tax_rate_bp = 0;
    n.lines[0].tax_minor = 0;
    n.totals = needlepoint_domain::billing::Totals {
        lines: amount,
        tax: 0,
        total: amount,
    };
    n.credits = Some((inv.id, "goodwill".into()));
    n
}

fn payment(clinic_id: i64, patient_id: i64, amount: i64, invoice_id: Option<i64>) -> NewPayment {
    NewPayment {
        clinic_id,
        patient_id,
        method: Method::Cash,
        amount_minor: amount,
        reference: None,
        deposit: false,
        invoice_id,
        received_on: day(),
        provider_event: None,
    }
}

/// A patient with an accepted plan (a consent signed), to sell a package of.
async fn patient_with_plan(
    s: &needlepoint_store::testing::Seeded,
    given: &str,
) -> (Patient, PlanRecord) {
    let a = actor(s.owner_id);
    let (p, sc) = screened_patient(s, given, "Money").await;
    let prop = proposal();
    let plan = needlepoint_domain::plan::Plan::from_proposal(&prop, "skinpen");
    let rec = s
        .store
        .create_plan(p.id, s.clinic_id, sc.id, &prop, &plan, &[], None, &a, now())
        .await
        .unwrap();
    s.store
        .sign_consent(&consent(&rec), &a, now())
        .await
        .unwrap();
    let rec = s
        .store
        .set_plan_status(
            rec.id,
            needlepoint_domain::plan::PlanStatus::Accepted,
            None,
            &a,
            now(),
        )
        .await
        .unwrap();
    (p, rec)
}

/// The invariants every state of the books keeps.
async fn check_books(
    s: &needlepoint_store::testing::Seeded,
    patient_id: i64,
    expected_balance: i64,
) {
    let acc = s.store.patient_account(patient_id).await.unwrap();
    assert_eq!(acc.balance_minor, expected_balance, "balance");
    let payments: i64 = acc
        .payments
        .iter()
        .map(|p| {
            if p.refund_of.is_some() {
                -p.amount_minor
            } else {
                p.amount_minor
            }
        })
        .sum();
    let invoiced: i64 = acc
        .invoices
        .iter()
        .map(|i| {
            if i.credit_note {
                -i.totals.total
            } else {
                i.totals.total
            }
        })
        .sum();
    assert_eq!(acc.balance_minor, payments - invoiced);
    for i in acc.invoices.iter().filter(|i| !i.credit_note) {
        assert!(i.paid_minor >= 0, "{} paid below zero", i.label());
        assert!(
            i.credited_minor <= i.totals.total,
            "{} over-credited",
            i.label()
        );
        assert!(i.due_minor() >= 0, "{} paid more than it asks", i.label());
    }
    for p in acc.payments.iter().filter(|p| p.refund_of.is_none()) {
        assert!(p.free_minor() >= 0, "payment {} spent twice", p.id);
        assert!(p.allocated_minor >= 0);
    }
    for k in &acc.packages {
        assert!(k.used <= k.sessions, "package {} below zero", k.id);
    }
}

/// Every number the clinic issued, 1..=n, once each.
async fn check_numbers(s: &needlepoint_store::testing::Seeded, patient_ids: &[i64]) {
    let mut numbers = vec![];
    for p in patient_ids {
        numbers.extend(
            s.store
                .patient_account(*p)
                .await
                .unwrap()
                .invoices
                .iter()
                .map(|i| i.number),
        );
    }
    numbers.sort();
    let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
    assert_eq!(numbers, expected, "numbers with a gap or a repeat");
}

/// A small seeded generator, so a failing sequence can be run again.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub async fn any_sequence_keeps_the_books_balanced(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let (p, plan) = patient_with_plan(&s, "Bea").await;
    let (q, _) = patient_with_plan(&s, "Cal").await;
    let c = s.clinic_id;
    let mut balance = 0i64;
    let mut sold_package = false;
    for seed in [0x9e37_79b9_7f4a_7c15u64, 0xdead_beef_cafe_f00d] {
        let mut rng = Rng(seed);
        for step in 0..45 {
            let acc = s.store.patient_account(p.id).await.unwrap();
            let invoices: Vec<&Invoice> = acc.invoices.iter().filter(|i| !i.credit_note).collect();
            let payments: Vec<&Payment> = acc
                .payments
                .iter()
                .filter(|x| x.refund_of.is_none())
                .collect();
            let ctx = format!("seed {seed:x} step {step}");
            match rng.below(8) {
                0 | 1 => {
                    let n = 1 + rng.below(3) as usize;
                    let amounts: Vec<i64> = (0..n).map(|_| rng.below(20_000) as i64).collect();
                    // Sometimes bill a source twice: refused, number kept.
                    let source = Some(format!("chart:{}", rng.below(6)));
                    let r = s
                        .store
                        .issue_invoice(&new_invoice(c, p.id, &amounts, source), &a, now())
                        .await;
                    match r {
                        Ok(i) => balance -= i.totals.total,
                        Err(StoreError::Conflict(m)) => {
                            assert!(m.contains("already"), "{ctx}: {m}")
                        }
                        Err(e) => panic!("{ctx}: {e}"),
                    }
                }
                2 if !invoices.is_empty() => {
                    let i = invoices[rng.below(invoices.len() as u64) as usize];
                    let left = i.totals.total - i.credited_minor;
                    let amount = 1 + rng.below((left + left / 2).max(1) as u64) as i64;
                    let r = s.store.issue_invoice(&credit(i, amount), &a, now()).await;
                    if amount <= left {
                        balance += r.expect(&ctx).totals.total;
                    } else {
                        assert!(
                            matches!(r, Err(StoreError::Conflict(_))),
                            "{ctx}: over-credit"
                        );
                    }
                }
                3 => {
                    let to = (!invoices.is_empty() && rng.below(2) == 0)
                        .then(|| invoices[rng.below(invoices.len() as u64) as usize].id);
                    let amount = rng.below(30_000) as i64 - 2_000;
                    let r = s
                        .store
                        .record_payment(&payment(c, p.id, amount, to), &a, now())
                        .await;
                    if amount > 0 {
                        balance += r.expect(&ctx).amount_minor;
                    } else {
                        assert!(r.is_err(), "{ctx}: a payment of {amount}");
                    }
                }
                4 if !payments.is_empty() => {
                    let x = payments[rng.below(payments.len() as u64) as usize];
                    let amount = 1 + rng.below((x.amount_minor + 100) as u64) as i64;
                    let r = s.store.refund(x.id, amount, None, day(), &a, now()).await;
                    if x.method != Method::Package && amount <= x.free_minor() {
                        balance -= r.expect(&ctx).amount_minor;
                    } else {
                        assert!(
                            matches!(r, Err(StoreError::Conflict(_))),
                            "{ctx}: refund {amount} of {x:?}"
                        );
                    }
                }
                5 => {
                    // Paying another patient's invoice for this patient, or
                    // an invoice at another clinic: refused, nothing made.
                    let other = s
                        .store
                        .issue_invoice(&new_invoice(c, q.id, &[500], None), &a, now())
                        .await
                        .unwrap();
                    let r = s
                        .store
                        .record_payment(&payment(c, p.id, 100, Some(other.id)), &a, now())
                        .await;
                    assert!(matches!(r, Err(StoreError::Conflict(_))), "{ctx}");
                }
                6 if !invoices.is_empty() && !payments.is_empty() => {
                    // Money on account set against an invoice: the balance
                    // stays, the invoice's due falls by what was free.
                    let i = invoices[rng.below(invoices.len() as u64) as usize];
                    let x = payments[rng.below(payments.len() as u64) as usize];
                    let r = s.store.settle_from(i.id, x.id, &a, now()).await;
                    let can = x.free_minor().min(i.due_minor());
                    match r {
                        Ok(took) => assert_eq!(took, can, "{ctx}"),
                        Err(StoreError::Conflict(_)) => assert_eq!(can.max(0), 0, "{ctx}"),
                        Err(e) => panic!("{ctx}: {e}"),
                    }
                }
                _ if !sold_package => {
                    let mut n = new_invoice(c, p.id, &[30_000], Some("package:plan".into()));
                    n.package = Some((plan.id, 3));
                    let i = s.store.issue_invoice(&n, &a, now()).await.unwrap();
                    balance -= i.totals.total;
                    sold_package = true;
                    // A second package for the same plan: refused.
                    let mut n = new_invoice(c, p.id, &[100], None);
                    n.package = Some((plan.id, 3));
                    assert!(s.store.issue_invoice(&n, &a, now()).await.is_err());
                }
                _ => {
                    let k = acc.packages[0].clone();
                    let i = s
                        .store
                        .issue_invoice(&new_invoice(c, p.id, &[4_000], None), &a, now())
                        .await
                        .unwrap();
                    balance -= i.totals.total;
                    let r = s.store.pay_with_package(i.id, k.id, day(), &a, now()).await;
                    if k.left() > 0 {
                        let pay = r.expect(&ctx);
                        assert_eq!(pay.amount_minor, i.totals.total);
                        balance += pay.amount_minor;
                    } else {
                        assert!(
                            matches!(r, Err(StoreError::Conflict(ref m)) if m.contains("No sessions")),
                            "{ctx}"
                        );
                    }
                }
            }
            check_books(&s, p.id, balance).await;
        }
    }
    check_numbers(&s, &[p.id, q.id]).await;
}

pub async fn the_last_package_session_goes_to_one_payment(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let (p, plan) = patient_with_plan(&s, "Dee").await;
    let mut n = new_invoice(s.clinic_id, p.id, &[30_000], None);
    n.package = Some((plan.id, 2));
    let sold = s.store.issue_invoice(&n, &a, now()).await.unwrap();
    let k = s.store.patient_account(p.id).await.unwrap().packages[0].clone();
    assert_eq!(k.invoice_id, sold.id);
    // A package is not paid with its own sessions.
    assert!(matches!(
        s.store
            .pay_with_package(sold.id, k.id, day(), &a, now())
            .await,
        Err(StoreError::Conflict(_))
    ));
    let first = s
        .store
        .issue_invoice(&new_invoice(s.clinic_id, p.id, &[4_000], None), &a, now())
        .await
        .unwrap();
    s.store
        .pay_with_package(first.id, k.id, day(), &a, now())
        .await
        .unwrap();
    let mut invoices = vec![];
    for _ in 0..100 {
        invoices.push(
            s.store
                .issue_invoice(&new_invoice(s.clinic_id, p.id, &[4_000], None), &a, now())
                .await
                .unwrap()
                .id,
        );
    }
    let store = s.store.clone();
    let tasks: Vec<_> = invoices
        .into_iter()
        .map(|i| {
            let store = store.clone();
            let a = a.clone();
            tokio::spawn(async move { store.pay_with_package(i, k.id, day(), &a, now()).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(m)) => assert!(m.contains("No sessions"), "{m}"),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1);
    let acc = s.store.patient_account(p.id).await.unwrap();
    assert_eq!((acc.packages[0].used, acc.packages[0].sessions), (2, 2));
    assert_eq!(
        acc.payments
            .iter()
            .filter(|x| x.method == Method::Package)
            .count(),
        2
    );
}

pub async fn a_provider_event_is_applied_once(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let (p, _) = patient_with_plan(&s, "Eve").await;
    let i = s
        .store
        .issue_invoice(&new_invoice(s.clinic_id, p.id, &[5_000], None), &a, now())
        .await
        .unwrap();
    let mut pay = payment(s.clinic_id, p.id, i.totals.total, Some(i.id));
    pay.method = Method::Online;
    pay.provider_event = Some("evt_1".into());
    let store = s.store.clone();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (store, pay, a) = (store.clone(), pay.clone(), a.clone());
            tokio::spawn(async move { store.record_payment(&pay, &a, now()).await })
        })
        .collect();
    let mut ids = vec![];
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one payment for one event");
    let acc = s.store.patient_account(p.id).await.unwrap();
    assert_eq!(acc.payments.len(), 1);
    assert_eq!(acc.balance_minor, 0);
    assert_eq!(acc.invoices[0].due_minor(), 0);
}

pub async fn a_credit_note_frees_money_to_refund(b: TestBackend) {
    let s = seeded(b).await;
    let a = actor(s.owner_id);
    let (p, _) = patient_with_plan(&s, "Fay").await;
    let i = s
        .store
        .issue_invoice(&new_invoice(s.clinic_id, p.id, &[10_000], None), &a, now())
        .await
        .unwrap();
    assert_eq!(i.totals.total, 12_000);
    let paid = s
        .store
        .record_payment(&payment(s.clinic_id, p.id, 12_000, Some(i.id)), &a, now())
        .await
        .unwrap();
    assert_eq!(paid.free_minor(), 0);
    // Nothing is free to refund while the invoice holds the money.
    assert!(s
        .store
        .refund(paid.id, 1, None, day(), &a, now())
        .await
        .is_err());
    let cn = s
        .store
        .issue_invoice(&credit(&i, 5_000), &a, now())
        .await
        .unwrap();
    assert!(cn.credit_note);
    assert_eq!(cn.number, i.number + 1);
    let i = s.store.invoice(i.id).await.unwrap();
    assert_eq!(
        (i.credited_minor, i.paid_minor, i.due_minor()),
        (5_000, 7_000, 0)
    );
    let r = s
        .store
        .refund(paid.id, 5_000, Some("R1"), day(), &a, now())
        .await
        .unwrap();
    assert_eq!((r.method, r.refund_of), (Method::Cash, Some(paid.id)));
    assert_eq!(
        s.store.patient_account(p.id).await.unwrap().balance_minor,
        0
    );
    // A refund is refunded never; a credit note is not paid.
    assert!(s
        .store
        .refund(r.id, 1, None, day(), &a, now())
        .await
        .is_err());
    assert!(s
        .store
        .record_payment(&payment(s.clinic_id, p.id, 100, Some(cn.id)), &a, now())
        .await
        .is_err());
    let trail = s.store.patient_audit(p.id, 50).await.unwrap();
    for action in ["issue", "credit", "pay", "refund"] {
        assert!(trail.iter().any(|e| e.action == action), "{action} audited");
    }
}
