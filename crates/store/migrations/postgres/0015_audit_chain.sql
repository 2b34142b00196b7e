-- Phase 8: every audit row is linked to the one before by a hash of its
-- content and the previous link (audit_chain), and audit_head holds the
-- newest link. `needlepoint audit verify` walks the chain: a row inserted,
-- edited or deleted by someone holding the database breaks it at that row.
-- Rows written before this migration are linked once, as it is applied.
CREATE TABLE audit_chain (
    audit_id  BIGINT PRIMARY KEY,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_head (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    audit_id BIGINT NOT NULL,
    hash     TEXT NOT NULL
);
INSERT INTO audit_head (id, audit_id, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE FUNCTION audit_chain_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_append_only();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE OR TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_append_only();
