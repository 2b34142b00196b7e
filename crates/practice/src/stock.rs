//! Stock: the items a clinic keeps, lots received and counted, and a
//! maker's recall of a lot, which reaches every clinic of the organisation
//! that stocks it and every patient who had it.

use crate::{access, Actor, Context, Error, Result};
use needlepoint_domain::charting::SupplyKind;
use needlepoint_domain::Invalid;
use needlepoint_store::{Lot, LotUse, NewLot, NewSupplyItem, StoreError, SupplyItem};

/// Largest quantity typed in one go: a typo guard, not a stock limit.
const MAX_QUANTITY: i64 = 100_000;

/// A lot expiring within this many days is flagged, so it is used first or
/// reordered in time: a stock-keeping habit, not a clinical rule.
const EXPIRES_SOON_DAYS: i64 = 30;

/// Where a lot stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LotState {
    Recalled,
    Expired,
    UsedUp,
    ExpiresSoon,
    InStock,
}

impl LotState {
    pub fn of(l: &Lot, today: jiff::civil::Date) -> LotState {
        if l.recalled_at.is_some() {
            LotState::Recalled
        } else if l.expires_on < today {
            LotState::Expired
        } else if l.quantity <= 0 {
            LotState::UsedUp
        } else if (l.expires_on - today).get_days() as i64 <= EXPIRES_SOON_DAYS {
            LotState::ExpiresSoon
        } else {
            LotState::InStock
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LotState::Recalled => "recalled",
            LotState::Expired => "expired",
            LotState::UsedUp => "used up",
            LotState::ExpiresSoon => "expires soon",
            LotState::InStock => "in stock",
        }
    }
}

/// A clinic's stock as of its today: items with the units usable, and
/// every lot with its state.
pub struct Stock {
    pub items: Vec<SupplyItem>,
    pub lots: Vec<(Lot, LotState)>,
}

/// The stock of one of the actor's clinics.
pub async fn stock(cx: &Context, actor: &Actor, clinic_id: i64) -> Result<Stock> {
    access::clinic(actor, clinic_id)?;
    let today = cx.clinic_today(clinic_id).await?;
    Ok(Stock {
        items: cx.store.supply_items(clinic_id, today).await?,
        lots: cx
            .store
            .lots(clinic_id)
            .await?
            .into_iter()
            .map(|l| {
                let state = LotState::of(&l, today);
                (l, state)
            })
            .collect(),
    })
}

/// A clinic's items at or below their reorder level, for the Today page.
pub async fn low_stock(cx: &Context, actor: &Actor, clinic_id: i64) -> Result<Vec<SupplyItem>> {
    access::clinic(actor, clinic_id)?;
    let today = cx.clinic_today(clinic_id).await?;
    Ok(cx
        .store
        .supply_items(clinic_id, today)
        .await?
        .into_iter()
        .filter(|i| i.active && i.usable <= i.reorder_at)
        .collect())
}

/// A lot's state now, at its clinic.
pub async fn lot_state(cx: &Context, l: &Lot) -> Result<LotState, StoreError> {
    Ok(LotState::of(l, cx.clinic_today(l.clinic_id).await?))
}

/// A new item as typed.
#[derive(Debug, Clone, Default)]
pub struct ItemInput {
    pub clinic_id: i64,
    pub kind: String,
    pub name: String,
    pub supplier: String,
    pub intradermal: bool,
    /// Blank means never remind; `None` when what was typed is not a number.
    pub reorder_at: Option<i64>,
}

/// A lot received, as typed: `None` where what was typed is not a number.
#[derive(Debug, Clone, Default)]
pub struct LotInput {
    pub item_id: Option<i64>,
    pub lot_number: String,
    /// `YYYY-MM-DD`, from the box.
    pub expires_on: String,
    pub quantity: Option<i64>,
}

fn whole(inv: &mut Invalid, field: &str, n: Option<i64>, min: i64) -> Option<i64> {
    let n = n.filter(|n| (min..=MAX_QUANTITY).contains(n));
    if n.is_none() {
        inv.push(
            field,
            format!("Enter a whole number from {min} to {MAX_QUANTITY}."),
        );
    }
    n
}

/// Adds an item the clinic stocks; the name must be new at the clinic.
pub async fn add_item(cx: &Context, actor: &Actor, i: &ItemInput) -> Result<SupplyItem> {
    access::clinic(actor, i.clinic_id)?;
    let mut inv = Invalid::default();
    let kind = inv.check(SupplyKind::parse(&i.kind));
    let line = |field: &str, value: &str, what: &str| {
        needlepoint_domain::validation::required_line(field, value, 120).map_err(|e| {
            needlepoint_domain::FieldError::new(
                field,
                format!(
                    "Name the {what} (one line, up to 120 characters). {}",
                    e.message
                ),
            )
        })
    };
    let name = inv.check(line("name", &i.name, "item")).unwrap_or_default();
    let supplier = inv
        .check(line("supplier", &i.supplier, "supplier"))
        .unwrap_or_default();
    let reorder_at = whole(&mut inv, "reorder_at", i.reorder_at, 0);
    inv.into_result()?;
    let item = NewSupplyItem {
        kind: kind.expect("checked"),
        name,
        supplier,
        intradermal: i.intradermal,
        reorder_at: reorder_at.expect("checked"),
    };
    cx.store
        .create_supply_item(i.clinic_id, &item, &actor.audit, cx.now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => Error::invalid("name", m),
            e => e.into(),
        })
}

/// Receives a lot of an item at the item's clinic. An expired lot, or one
/// recalled anywhere in the organisation, is refused.
pub async fn receive(cx: &Context, actor: &Actor, l: &LotInput) -> Result<Lot> {
    let mut inv = Invalid::default();
    // The item decides the clinic; one the actor cannot see does not exist.
    let mut clinic = None;
    if let Some(item_id) = l.item_id {
        for c in &actor.clinic_ids {
            let today = cx.clinic_today(*c).await?;
            if cx
                .store
                .supply_items(*c, today)
                .await?
                .iter()
                .any(|i| i.id == item_id)
            {
                clinic = Some(today);
            }
        }
    }
    if clinic.is_none() {
        inv.push("item_id", "Choose an item your clinic stocks.");
    }
    let lot_number = l.lot_number.trim().to_string();
    if lot_number.is_empty() || lot_number.chars().count() > 60 {
        inv.push(
            "lot_number",
            "Copy the lot number from the box (up to 60 characters).",
        );
    }
    let expires_on = match (l.expires_on.trim().parse::<jiff::civil::Date>(), clinic) {
        (Ok(d), Some(today)) if d < today => {
            inv.push(
                "expires_on",
                format!("This lot expired on {d}: do not take it into stock."),
            );
            None
        }
        (Ok(d), _) => Some(d),
        (Err(_), _) => {
            inv.push(
                "expires_on",
                "Enter the expiry date from the box (YYYY-MM-DD).",
            );
            None
        }
    };
    let quantity = whole(&mut inv, "quantity", l.quantity, 1);
    inv.into_result()?;
    let lot = NewLot {
        item_id: l.item_id.expect("checked"),
        lot_number,
        expires_on: expires_on.expect("checked"),
        quantity: quantity.expect("checked"),
    };
    cx.store
        .receive_lot(&lot, &actor.audit, cx.now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => Error::invalid("lot_number", m),
            e => e.into(),
        })
}

/// Corrects a lot's quantity after counting it.
pub async fn count(cx: &Context, actor: &Actor, lot_id: i64, quantity: Option<i64>) -> Result<Lot> {
    access::lot(cx, actor, lot_id).await?;
    let mut inv = Invalid::default();
    let q = whole(&mut inv, "quantity", quantity, 0);
    inv.into_result()?;
    Ok(cx
        .store
        .count_lot(lot_id, q.expect("checked"), &actor.audit, cx.now())
        .await?)
}

/// What a recall did: the lot as it now stands, every session that used it
/// or the same lot at another clinic, and how many messages were queued.
#[derive(Debug)]
pub struct Recall {
    pub lot: Lot,
    pub uses: Vec<LotUse>,
    pub messages_queued: usize,
}

/// Records a maker's recall of a lot (and of the same lot at the
/// organisation's other clinics), and with `notify` queues a message to
/// every patient who had it. Recalling an already recalled lot only
/// notifies. Only clinicians recall.
pub async fn recall(
    cx: &Context,
    actor: &Actor,
    lot_id: i64,
    reason: &str,
    notify: bool,
) -> Result<Recall> {
    let lot = access::lot(cx, actor, lot_id).await?;
    if !actor.is_clinical() {
        return Err(Error::Forbidden("Only a clinician recalls a lot.".into()));
    }
    let reason = reason.trim();
    if lot.recalled_at.is_none() {
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(Error::invalid(
                "reason",
                "Give the reason for the recall (the maker's notice), up to 500 characters.",
            ));
        }
        cx.store
            .recall_lot(lot_id, reason, &actor.audit, cx.now())
            .await?;
    }
    let messages_queued = if notify {
        crate::messages::notify_recall(cx, actor, lot_id).await?
    } else {
        0
    };
    let mut uses = vec![];
    for sibling in cx.store.lot_siblings(lot_id).await? {
        uses.extend(cx.store.lot_uses(sibling.id).await?);
    }
    Ok(Recall {
        lot: cx.store.lot(lot_id).await?,
        uses,
        messages_queued,
    })
}
