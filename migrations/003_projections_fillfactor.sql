-- Room on every page for the in-place (HOT) updates the applier makes many times per build:
-- progress, current step and checkpoint columns are not indexed, so with free space on the page
-- their updates skip the five indexes of `builds`. Part of the projections (replayed by rebuild).
ALTER TABLE builds SET (fillfactor = 60);
ALTER TABLE build_steps SET (fillfactor = 70);
