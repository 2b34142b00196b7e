//! SQL shared by both backends' [`StockRecords`] and [`ChartRecords`]
//! (in `sql/charting.rs`).

/// The message for any change to a signed chart.
pub const SIGNED: &str =
    "This session is signed and can no longer be changed; add an amendment instead.";

/// The lots of the same item (name, supplier, kind) and number as lot $1
/// across its organisation, lot $1 first.
pub const SIBLINGS: &str = "SELECT l2.id FROM lots l \
     JOIN supply_items i ON i.id = l.item_id \
     JOIN clinics c ON c.id = l.clinic_id \
     JOIN lots l2 ON l2.lot_number = l.lot_number \
     JOIN supply_items i2 ON i2.id = l2.item_id AND i2.kind = i.kind \
          AND lower(i2.name) = lower(i.name) AND lower(i2.supplier) = lower(i.supplier) \
     JOIN clinics c2 ON c2.id = l2.clinic_id AND c2.organisation_id = c.organisation_id \
     WHERE l.id = $1 ORDER BY (l2.id <> l.id), l2.id";

/// A recall of the same lot of the same item anywhere in the organisation:
/// the lot about to be received (item `$1`, lot number `$2`) is recalled.
pub const RECALLED_ELSEWHERE: &str = "SELECT l2.recalled_at, l2.recall_reason FROM supply_items i \
     JOIN clinics c ON c.id = i.clinic_id \
     JOIN lots l2 ON l2.lot_number = $2 AND l2.recalled_at IS NOT NULL \
     JOIN supply_items i2 ON i2.id = l2.item_id AND i2.kind = i.kind \
          AND lower(i2.name) = lower(i.name) AND lower(i2.supplier) = lower(i.supplier) \
     JOIN clinics c2 ON c2.id = l2.clinic_id AND c2.organisation_id = c.organisation_id \
     WHERE i.id = $1 ORDER BY l2.recalled_at LIMIT 1";
