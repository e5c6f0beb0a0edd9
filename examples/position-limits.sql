-- Position limits in SQL: the same job as position-limits.yaml. Gross
-- notional per trader and asset class over a sliding day (hourly panes); an
-- alert as soon as it crosses the desk limit.

SET 'pipeline.name' = 'position_limits';
SET 'description' = 'per trader and asset class notional over a sliding day, alert above the limit';

CREATE TABLE orders (
  ts          TIMESTAMP(3),
  instrument  STRING,
  price       DOUBLE NOT NULL CHECK (price >= 0),
  qty         DOUBLE NOT NULL CHECK (qty >= 1),
  side        STRING,
  trader      STRING NOT NULL,
  account     STRING,
  asset_class STRING NOT NULL CHECK (asset_class IN ('equity', 'fx', 'rates', 'credit', 'commodity')),
  notional AS price * qty,       -- computed on ingest
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'synthetic',
  'rate' = '20000',
  'instruments' = '500',         -- traded by 125 traders (one in four)
  'seed' = '3',
  'anomalies' = '0.0005'         -- rogue bursts of large trades
);

SET 'table.exec.emit.allow-lateness' = '1m';
SET 'table.exec.source.idle-timeout' = '30s';

CREATE VIEW notional_1d AS
SELECT trader, asset_class, COUNT(*) AS trades, SUM(notional) AS notional, MAX(notional) AS largest
FROM orders
GROUP BY trader, asset_class, HOP(ts, INTERVAL '1' HOUR, INTERVAL '1' DAY);

-- 250 M per trader and asset class per day; one alert per crossing.
CREATE VIEW limit_breach AS
SELECT * FROM orders
WHERE CROSSES_ABOVE(notional_1d.notional, 250000000);

CREATE TABLE breaches WITH ('connector' = 'jsonl', 'path' = 'out/limit-breaches.jsonl', 'kinds' = 'anomaly');
INSERT INTO breaches SELECT * FROM limit_breach;
CREATE TABLE console WITH ('connector' = 'stdout', 'kinds' = 'anomaly');
INSERT INTO console SELECT * FROM limit_breach;

SET 'execution.checkpointing.mode' = 'AT_LEAST_ONCE';
SET 'execution.checkpointing.interval' = '30s';
SET 'parallelism.default' = '1';
SET 'memory' = '256MiB';
