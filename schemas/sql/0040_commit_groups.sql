-- Whole commits on the change log. One ingest transaction can change several
-- things at once (an alarm and the incident it opens); a screen must see all
-- of them or none. So every row names the transaction that wrote it, and the
-- NOTIFY goes out once per commit and community, at COMMIT, after all rows.
--
-- `tx` is the top-level transaction id (pg_current_xact_id, xid8: it never
-- wraps). A reader keeps the pg_snapshot it last read at and asks for the rows
-- whose `tx` that snapshot did not see: in one new snapshot that is a set of
-- whole commits, whatever order their sequences were taken in. Rows written
-- before this migration keep tx NULL: every snapshot taken since has seen them.
ALTER TABLE change_log ADD COLUMN tx xid8;
ALTER TABLE change_log ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX change_log_by_commit ON change_log (community_id, tx);

CREATE OR REPLACE FUNCTION change_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    done text := COALESCE(current_setting('commtwin.notified', true), '');
    mark text := ',' || NEW.community_id || ',';
    summary jsonb;
BEGIN
    -- Deferred to COMMIT: every row of the transaction is in place, the first
    -- one of each community announces them all, the others are skipped (the
    -- transaction-local setting remembers which communities were announced).
    IF position(mark IN done) > 0 THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('commtwin.notified', done || mark, true);
    SELECT jsonb_build_object(
               'community', NEW.community_id,
               'tx', NEW.tx::text,
               'rows', count(*),
               'first', min(seq),
               'seq', max(seq),
               'kinds', jsonb_agg(DISTINCT kind))
      INTO summary
      FROM change_log WHERE community_id = NEW.community_id AND tx = NEW.tx;
    -- Small payload (NOTIFY allows 8000 bytes): listeners read the rows themselves.
    PERFORM pg_notify('commtwin_changes', summary::text);
    RETURN NULL;
END $$;

DROP TRIGGER change_log_notify ON change_log;
CREATE CONSTRAINT TRIGGER change_log_notify AFTER INSERT ON change_log
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION change_log_notify();
