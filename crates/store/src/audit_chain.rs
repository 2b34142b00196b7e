//! The audit trail proves itself: each row is linked to the one before by
//! SHA-256 over the previous link and the row's content, kept in
//! `audit_chain` beside it, with the newest link in `audit_head`. A row
//! inserted, edited or deleted behind Needlepoint's back (by someone holding
//! the database, with its triggers dropped) breaks the chain at that row.

use crate::model::AuditEntry;
use sha2::{Digest, Sha256};

/// The link before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The link for `e` after `prev`: the hash of the previous link and every
/// field of the row as the database gives it back.
pub fn link(prev: &str, e: &AuditEntry) -> String {
    let content = serde_json::json!([
        e.id,
        e.at.to_string(),
        e.actor_id,
        e.actor_label,
        e.channel,
        e.ip,
        e.action,
        e.entity,
        e.entity_id,
        e.patient_id,
        e.detail,
    ]);
    let digest = Sha256::digest(format!("{prev}\n{content}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What `needlepoint audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Rows checked.
    pub rows: u64,
    /// The first broken row and what happened to it; `None` when intact.
    pub broken: Option<(i64, String)>,
}

/// A row of the trail with its link, as `verify` walks them.
pub struct Linked {
    pub entry: AuditEntry,
    /// `None` when the row has no link: written outside Needlepoint.
    pub link: Option<(String, String)>,
}

/// Walks the rows in order, a page at a time (the trail can be millions of
/// rows): each must have a link, follow the one before, and hash to its
/// link; a link whose row is gone names a deleted row; at the end, the head
/// must be the last link. Stops at the first break.
pub struct Walk {
    prev: String,
    last_id: i64,
    /// The first link whose row is gone, if any.
    orphan: Option<i64>,
    /// Rows checked so far.
    pub rows: u64,
}

impl Walk {
    pub fn new(orphan: Option<i64>) -> Walk {
        Walk {
            prev: GENESIS.to_string(),
            last_id: 0,
            orphan,
            rows: 0,
        }
    }

    /// Checks the next row; the break, if this is where the chain breaks.
    pub fn next(&mut self, r: &Linked) -> Option<(i64, String)> {
        let id = r.entry.id;
        if let Some(gone) = self.orphan.filter(|o| *o < id) {
            return Some((gone, format!("row {gone} was deleted (its link remains)")));
        }
        let Some((prev_hash, hash)) = &r.link else {
            return Some((
                id,
                format!("row {id} was inserted outside Needlepoint (it has no link)"),
            ));
        };
        if *prev_hash != self.prev {
            return Some((
                id,
                format!(
                    "the row before row {id} was deleted (its link does not follow row {})",
                    self.last_id
                ),
            ));
        }
        if link(&self.prev, &r.entry) != *hash {
            return Some((id, format!("row {id} was changed after it was written")));
        }
        self.prev = hash.clone();
        self.last_id = id;
        self.rows += 1;
        None
    }

    /// After the last row: the break, if rows at the end are gone.
    pub fn finish(&self, head: (i64, &str)) -> Option<(i64, String)> {
        if let Some(gone) = self.orphan {
            return Some((gone, format!("row {gone} was deleted (its link remains)")));
        }
        if head.1 != self.prev {
            return Some((
                head.0,
                format!(
                    "rows after row {} were deleted (the newest link is for row {})",
                    self.last_id, head.0
                ),
            ));
        }
        None
    }
}
