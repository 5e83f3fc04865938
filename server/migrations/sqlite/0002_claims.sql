-- Which worker took a queued run; a run is claimed once, by one worker.
ALTER TABLE runs ADD COLUMN claimed_by TEXT;
