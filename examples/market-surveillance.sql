-- Market surveillance in SQL: the same job as market-surveillance.yaml
-- (per-instrument 1 s VWAP and volume, z-score alerts on trade prices and on
-- 1-second volume), and the same outputs on the same input.
-- `ganglion run examples/market-surveillance.sql` runs it over the synthetic feed.

SET 'pipeline.name' = 'market_surveillance';
SET 'description' = '1 s VWAP and volume per instrument; price and volume z-score alerts';

-- The input stream. NOT NULL, CHECK and VARCHAR(n) are the validation rules:
-- an event that breaks one goes to the dead-letter output.
CREATE TABLE trades (
  ts          TIMESTAMP(3),
  instrument  VARCHAR(16) NOT NULL,
  price       DOUBLE NOT NULL CHECK (price BETWEEN 0 AND 1000000),
  qty         DOUBLE NOT NULL CHECK (qty BETWEEN 1 AND 10000000),
  side        STRING CHECK (side IN ('buy', 'sell')),
  trader      STRING,
  account     STRING,
  asset_class STRING,
  WATERMARK FOR ts AS ts - INTERVAL '200' MILLISECOND
) WITH (
  'connector' = 'synthetic',
  'rate' = '200000',              -- events per second (0 = flat out)
  'instruments' = '2000',         -- Zipf-distributed popularity
  'seed' = '42',
  'out_of_order' = '0.02',
  'max_delay' = '200ms',
  'late' = '0.0005',              -- beyond the allowed lateness: these go to the late output
  'anomalies' = '0.000005',       -- injected price spikes and volume bursts
  'burst.every' = '30s', 'burst.length' = '2s', 'burst.factor' = '4',
  'validation.max-future' = '5s',
  'timestamp.unit' = 'auto'       -- epoch s, ms, us or ns by magnitude; ISO 8601 strings always
);
-- Live feeds instead: 'connector' = 'websocket', 'port' = '8080', 'path' = '/ingest'
-- or 'connector' = 'mqtt', 'url' = 'mqtt://127.0.0.1:1883', 'topic' = 'trades/#', 'format' = 'flatbuffers'.

SET 'table.exec.emit.allow-lateness' = '1s';
SET 'table.exec.source.idle-timeout' = '5s';

CREATE VIEW vwap_1s AS
SELECT instrument,
       TUMBLE_START(ts, INTERVAL '1' SECOND) AS window_start,
       TUMBLE_END(ts, INTERVAL '1' SECOND) AS window_end,
       COUNT(*) AS trades,
       SUM(price * qty) / SUM(qty) AS vwap,
       MIN(price) AS low,
       MAX(price) AS high,
       LAST_VALUE(price) AS close
FROM trades
GROUP BY instrument, TUMBLE(ts, INTERVAL '1' SECOND);

CREATE VIEW volume_1s AS
SELECT instrument, window_start, window_end, COUNT(*) AS trades, SUM(qty) AS volume
FROM TABLE(TUMBLE(TABLE trades, DESCRIPTOR(ts), INTERVAL '1' SECOND))
GROUP BY instrument, window_start, window_end;

-- A print far from the instrument's recent level.
CREATE VIEW price_z AS
SELECT * FROM trades
WHERE ABS(ZSCORE(price, 'ewma', 0.02) OVER (PARTITION BY instrument)) >= 6;
SET 'operator.price_z.min_samples' = '50';

-- Each trade's instrument volume so far in its second (volume_1s.volume: the
-- running value of the window the trade falls in), against its usual level.
CREATE VIEW volume_z AS
SELECT * FROM trades
WHERE ZSCORE(volume_1s.volume, 'ewma', 0.001) >= 15;
SET 'operator.volume_z.min_samples' = '3000';

CREATE TABLE alerts WITH (
  'connector' = 'jsonl',
  'path' = 'out/market-alerts.jsonl',
  'rotate.size' = '256MiB',
  'rotate.age' = '1h'
);
INSERT INTO alerts SELECT * FROM price_z;
INSERT INTO alerts SELECT * FROM volume_z;

-- The dashboard's topics: every view's outputs, and the dead letters.
CREATE TABLE dashboard WITH (
  'connector' = 'websocket',
  'topic' = '{kind}/{op}',
  'kinds' = 'window,revision,late,anomaly,dead_letter'
);
INSERT INTO dashboard SELECT * FROM vwap_1s;
INSERT INTO dashboard SELECT * FROM volume_1s;
INSERT INTO dashboard SELECT * FROM price_z;
INSERT INTO dashboard SELECT * FROM volume_z;

SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';
SET 'execution.checkpointing.interval' = '5s';
SET 'state.checkpoints.num-retained' = '3';
-- The feed logs ~7 MB/s: keep a few minutes of it, not a day (the default).
SET 'delivery.log.segment_size' = '16MiB';
SET 'delivery.log.retention' = '10m';
SET 'delivery.log.retention_bytes' = '64MiB';
SET 'memory' = '256MiB';
SET 'server.port' = '9464';
