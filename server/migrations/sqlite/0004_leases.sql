-- A claim is a lease the worker renews while it works (`claimed_by` until `lease_until`); a
-- lapsed lease sends the run back to the queue, and after too many lost leases the run fails
-- with the reason on it.
ALTER TABLE runs ADD COLUMN lease_until TEXT;
ALTER TABLE runs ADD COLUMN lost_leases INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN reason TEXT;
CREATE INDEX runs_by_lease ON runs (lease_until) WHERE lease_until IS NOT NULL;
