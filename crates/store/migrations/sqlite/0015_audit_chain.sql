-- Phase 8: every audit row is linked to the one before by a hash of its
-- content and the previous link (audit_chain), and audit_head holds the
-- newest link. `needlepoint audit verify` walks the chain: a row inserted,
-- edited or deleted by someone holding the file breaks it at that row.
-- Rows written before this migration are linked once, as it is applied.
CREATE TABLE audit_chain (
    audit_id  INTEGER PRIMARY KEY,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    audit_id INTEGER NOT NULL,
    hash     TEXT NOT NULL
);
INSERT INTO audit_head (id, audit_id, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'audit_head is kept'); END;
