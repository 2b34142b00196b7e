-- Phase 6: a recall reaches the same maker's lot at every clinic of the
-- organisation, found by its lot number.
CREATE INDEX lots_number ON lots (lot_number);
