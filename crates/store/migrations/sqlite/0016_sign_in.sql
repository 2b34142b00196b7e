-- Phase 8: sign-in security.
-- A clinic's idle timeout and whether all its staff sign in with a second
-- factor (owners always do).
ALTER TABLE clinics ADD COLUMN idle_minutes INTEGER NOT NULL DEFAULT 30;
ALTER TABLE clinics ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0;

-- When a session was last used, to the minute: a session idle past its
-- clinic's timeout ends.
ALTER TABLE web_sessions ADD COLUMN last_seen_at TEXT;
UPDATE web_sessions SET last_seen_at = created_at;

-- The authenticator app's shared secret (RFC 6238, base32) and the last
-- time step accepted, so a code is never accepted twice.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step INTEGER;
ALTER TABLE staff ADD COLUMN totp_enabled_at TEXT;

-- One-time recovery codes for a lost phone; only their hashes.
CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY,
    staff_id  INTEGER NOT NULL REFERENCES staff(id),
    code_hash TEXT NOT NULL,
    used_at   TEXT
);
CREATE INDEX recovery_codes_by_staff ON recovery_codes (staff_id);

-- A sign-in halfway: the password was right, the second factor comes next.
CREATE TABLE sign_in_challenges (
    token_hash TEXT PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX sign_in_challenges_by_staff ON sign_in_challenges (staff_id);
