//! An appointment: its kind, and its lifecycle (its status and the one
//! state machine that says which move is allowed when). Stored as text
//! (with a CHECK constraint on both databases); everything else uses these
//! types.

use crate::validation::{FieldError, Invalid};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What an appointment is for. Each kind's length and needs (a room, a
/// device) are the knowledge base's `[[appointment_type]]` of the same code;
/// only a session is charted and belongs to a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentKind {
    Consultation,
    Session,
    FollowUp,
    HomeCareReview,
}

impl AppointmentKind {
    pub const ALL: [AppointmentKind; 4] = [
        AppointmentKind::Consultation,
        AppointmentKind::Session,
        AppointmentKind::FollowUp,
        AppointmentKind::HomeCareReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentKind::Consultation => "consultation",
            AppointmentKind::Session => "session",
            AppointmentKind::FollowUp => "follow_up",
            AppointmentKind::HomeCareReview => "home_care_review",
        }
    }

    pub fn parse(s: &str) -> Result<AppointmentKind, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    format!(
                        "There is no appointment type {s:?}; use {}.",
                        Self::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }

    pub fn is_session(self) -> bool {
        self == AppointmentKind::Session
    }
}

impl std::fmt::Display for AppointmentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an appointment is: booked, checked in, then completed; or
/// cancelled, or a no-show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    CheckedIn,
    Completed,
    Cancelled,
    NoShow,
}

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 5] = [
        AppointmentStatus::Booked,
        AppointmentStatus::CheckedIn,
        AppointmentStatus::Completed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::CheckedIn => "checked_in",
            AppointmentStatus::Completed => "completed",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "no_show",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "Booked",
            AppointmentStatus::CheckedIn => "Checked in",
            AppointmentStatus::Completed => "Completed",
            AppointmentStatus::Cancelled => "Cancelled",
            AppointmentStatus::NoShow => "No-show",
        }
    }

    pub fn parse(s: &str) -> Option<AppointmentStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the appointment still holds its time (and its resources).
    pub fn holds_time(self) -> bool {
        !matches!(
            self,
            AppointmentStatus::Cancelled | AppointmentStatus::NoShow
        )
    }

    /// The states it may move to from this one: the one state machine.
    /// A cancelled, completed or no-show appointment is final; a patient who
    /// has checked in has come, so cannot be a no-show.
    pub fn next(self) -> &'static [AppointmentStatus] {
        use AppointmentStatus::*;
        match self {
            Booked => &[CheckedIn, Completed, Cancelled, NoShow],
            CheckedIn => &[Completed, Cancelled],
            Completed | Cancelled | NoShow => &[],
        }
    }

    /// The moves a person can make from here on a page, with the button's
    /// words, at `now` (a no-show only once the appointment has started).
    /// Cancelling has its own form (a reason and who cancelled).
    pub fn actions(
        self,
        starts_at: Timestamp,
        now: Timestamp,
    ) -> Vec<(AppointmentStatus, &'static str)> {
        self.next()
            .iter()
            .copied()
            .filter(|to| check_move(self, *to, starts_at, now).is_ok())
            .filter_map(|to| match to {
                AppointmentStatus::CheckedIn => Some((to, "Check in")),
                // From booked a session completes by signing its chart;
                // the button is offered once the patient has checked in.
                AppointmentStatus::Completed if self == AppointmentStatus::CheckedIn => {
                    Some((to, "Complete"))
                }
                AppointmentStatus::NoShow => Some((to, "No-show")),
                _ => None,
            })
            .collect()
    }
}

impl std::fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an appointment in `from`, starting at `starts_at`, may move to
/// `to` at `now`. The reason comes back on the `status` field.
pub fn check_move(
    from: AppointmentStatus,
    to: AppointmentStatus,
    starts_at: Timestamp,
    now: Timestamp,
) -> Result<(), Invalid> {
    if from == to {
        return Err(Invalid::one(
            "status",
            format!(
                "The appointment is already {}.",
                from.label().to_lowercase()
            ),
        ));
    }
    if !from.next().contains(&to) {
        return Err(Invalid::one(
            "status",
            format!(
                "A {} appointment cannot be marked {}.",
                from.label().to_lowercase(),
                to.label().to_lowercase()
            ),
        ));
    }
    if to == AppointmentStatus::NoShow && now < starts_at {
        return Err(Invalid::one(
            "status",
            "A no-show can only be recorded once the appointment has started.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::AppointmentStatus::*;
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_state_machine() {
        let start = at("2026-12-01T10:00:00Z");
        let after = at("2026-12-01T10:05:00Z");
        let table = [
            (Booked, CheckedIn, true),
            (Booked, Completed, true),
            (Booked, Cancelled, true),
            (Booked, NoShow, true),
            (Booked, Booked, false),
            (CheckedIn, Completed, true),
            (CheckedIn, Cancelled, true),
            (CheckedIn, NoShow, false),
            (CheckedIn, Booked, false),
        ];
        for (from, to, ok) in table {
            assert_eq!(
                check_move(from, to, start, after).is_ok(),
                ok,
                "{from} -> {to}"
            );
        }
        for from in [Completed, Cancelled, NoShow] {
            for to in AppointmentStatus::ALL {
                assert!(
                    check_move(from, to, start, after).is_err(),
                    "{from} is final"
                );
            }
        }
    }

    #[test]
    fn a_no_show_only_once_the_appointment_has_started() {
        let start = at("2026-12-01T10:00:00Z");
        let e = check_move(Booked, NoShow, start, at("2026-12-01T09:59:59Z")).unwrap_err();
        assert!(
            e.to_string().contains("once the appointment has started"),
            "{e}"
        );
        assert!(check_move(Booked, NoShow, start, start).is_ok());
        assert_eq!(
            Booked.actions(start, at("2026-12-01T09:00:00Z")),
            [(CheckedIn, "Check in")]
        );
        assert_eq!(
            Booked.actions(start, start),
            [(CheckedIn, "Check in"), (NoShow, "No-show")]
        );
        assert_eq!(CheckedIn.actions(start, start), [(Completed, "Complete")]);
    }

    #[test]
    fn names_round_trip() {
        for s in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AppointmentStatus::parse("done"), None);
    }
}
