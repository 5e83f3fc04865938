-- A result row holds a few kilobytes of JSON, so PostgreSQL compresses its largest values as it
-- stores it (TOAST). Its default, pglz, took a quarter of the database's CPU time in a sync; lz4
-- compresses several times faster to about the same size. Values stored from now on use it
-- (older ones stay readable as they are). A server built without lz4, or older than
-- PostgreSQL 14 (no per-column compression), keeps pglz: the statement runs through EXECUTE so
-- that even its syntax is checked only when it runs, inside the handler.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE results
        ALTER COLUMN trace SET COMPRESSION lz4,
        ALTER COLUMN evaluation SET COMPRESSION lz4,
        ALTER COLUMN verdict SET COMPRESSION lz4,
        ALTER COLUMN cost SET COMPRESSION lz4,
        ALTER COLUMN error SET COMPRESSION lz4,
        ALTER COLUMN user_message SET COMPRESSION lz4,
        ALTER COLUMN agent_response SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'results keep pglz compression: %', SQLERRM;
END $$;
