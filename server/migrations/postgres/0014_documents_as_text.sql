-- A result's verdict, trace and evaluation are JSON documents the server itself serialized and
-- only ever reads back whole. As `json` columns PostgreSQL parsed every one again on insert, to
-- check what cannot be wrong: a third of the database's time in a sync. As text they are
-- stored as sent. (The change rewrites the table once; SQL that wants to look inside one casts
-- it, `evaluation::json ->> 'score'`.)
ALTER TABLE results
    ALTER COLUMN verdict TYPE TEXT,
    ALTER COLUMN trace TYPE TEXT,
    ALTER COLUMN evaluation TYPE TEXT;
-- The new columns take the default compression again; lz4 as in 0010, where there is one.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE results
        ALTER COLUMN trace SET COMPRESSION lz4,
        ALTER COLUMN evaluation SET COMPRESSION lz4,
        ALTER COLUMN verdict SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'results keep pglz compression: %', SQLERRM;
END $$;
