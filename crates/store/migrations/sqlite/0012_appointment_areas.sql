-- Phase 6: a plan may hold several tracks (areas on their own sessions and
-- interval), and one visit treats the tracks that fall due together. An
-- appointment records the areas it treats; NULL means every area of its
-- plan, as before tracks.
ALTER TABLE appointments ADD COLUMN areas TEXT;
