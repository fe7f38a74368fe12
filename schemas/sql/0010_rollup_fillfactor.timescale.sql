-- TimescaleDB: readings_1m/readings_1h are continuous aggregates that ingest
-- never updates row by row, so there is nothing to tune (see the plain variant).
SELECT 1;
