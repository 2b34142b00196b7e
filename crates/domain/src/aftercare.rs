//! A session's aftercare sheet, from the knowledge base: what to do and
//! what to expect, each with its time window, adapted to the patient (a
//! step whose `when` matches her history, such as the antiviral course or
//! sun care for darker skin) and to what was put on her skin; then the
//! warning signs by urgency.

use crate::history::PatientHistory;
use crate::knowledge::{AftercareKind, KnowledgeBase, Urgency};
use jiff::civil::Date;

/// One step: its window in hours after the session, in words, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub from_hours: u32,
    pub to_hours: u32,
    /// "For the first 8 hours", "Days 3 to 7", "From day 7".
    pub window: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// What the patient does, soonest first.
    pub duties: Vec<Step>,
    /// What happens to the skin, soonest first.
    pub expect: Vec<Step>,
    /// What was put on the skin at the session (the only things on it for
    /// the first hours).
    pub products: Vec<String>,
    /// Warning signs, most urgent first: the heading and the signs.
    pub warnings: Vec<(Urgency, Vec<String>)>,
}

/// The sheet for a session on `on`, for a patient with `history` (none
/// recorded reads as nothing known), with `products` applied.
pub fn sheet(
    kb: &KnowledgeBase,
    history: Option<&PatientHistory>,
    on: Date,
    products: &[String],
) -> Sheet {
    // No history recorded reads as an empty one: nothing is known, so a
    // step for an unknown skin type is given (as screening does).
    let empty = PatientHistory::default();
    let h = history.unwrap_or(&empty);
    let applies = |s: &&crate::knowledge::AftercareStep| {
        s.when
            .as_ref()
            .is_none_or(|t| crate::screening::applies(kb, t, h, on))
    };
    let steps = |kind: AftercareKind| {
        let mut v: Vec<Step> = kb
            .aftercare
            .iter()
            .filter(|s| s.kind == kind)
            .filter(applies)
            .map(|s| Step {
                from_hours: s.from_hours,
                to_hours: s.to_hours,
                window: s.window(),
                text: s.text.clone(),
            })
            .collect();
        v.sort_by_key(|s| (s.from_hours, s.to_hours));
        v
    };
    Sheet {
        duties: steps(AftercareKind::Duty),
        expect: steps(AftercareKind::Expect),
        products: products.to_vec(),
        warnings: Urgency::ALL
            .into_iter()
            .map(|u| {
                let signs = kb
                    .warning_signs
                    .iter()
                    .filter(|w| w.urgency == u)
                    .map(|w| w.text.clone())
                    .collect();
                (u, signs)
            })
            .filter(|(_, signs): &(Urgency, Vec<String>)| !signs.is_empty())
            .collect(),
    }
}

impl Sheet {
    /// The sheet as plain text, for a message: every step with its window.
    pub fn text(&self) -> String {
        let mut t = String::new();
        if !self.products.is_empty() {
            t.push_str(&format!(
                "Put on your skin today: {}.\n\n",
                self.products.join(", ")
            ));
        }
        t.push_str("What to do\n");
        for s in &self.duties {
            t.push_str(&format!("- {}: {}\n", s.window, lower_first(&s.text)));
        }
        t.push_str("\nWhat to expect\n");
        for s in &self.expect {
            t.push_str(&format!("- {}: {}\n", s.window, lower_first(&s.text)));
        }
        for (u, signs) in &self.warnings {
            t.push_str(&format!("\n{}:\n", u.instruction()));
            for w in signs {
                t.push_str(&format!("- {w}\n"));
            }
        }
        t
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}
