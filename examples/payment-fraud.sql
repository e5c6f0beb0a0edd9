-- Payment fraud in SQL: the same job as payment-fraud.yaml. Every payment is
-- scored by an XGBoost model from its own risk signals and the account's
-- recent activity; scores at or above 0.8 are alerts.

SET 'pipeline.name' = 'payment_fraud';
SET 'description' = 'per-account window features feeding an XGBoost fraud model';

CREATE TABLE payments (
  ts       TIMESTAMP(3),
  account  VARCHAR(32) NOT NULL,
  merchant VARCHAR(64),
  amount   DOUBLE NOT NULL CHECK (amount BETWEEN 0.01 AND 1000000),
  currency VARCHAR(3),
  channel  STRING CHECK (channel IN ('card', 'online', 'wallet', 'transfer')),
  f0 DOUBLE, f1 DOUBLE, f2 DOUBLE, f3 DOUBLE, f4 DOUBLE, f5 DOUBLE, f6 DOUBLE, f7 DOUBLE,
  WATERMARK FOR ts AS ts - INTERVAL '500' MILLISECOND
) WITH (
  'connector' = 'synthetic',
  'rate' = '5000',            -- payments per second
  'instruments' = '10000',    -- accounts
  'zipf' = '0.8',
  'seed' = '7',
  'anomalies' = '0.0005',     -- fraud bursts: card testing from a compromised account
  'validation.max-age' = '1d',
  'validation.max-future' = '2s'
);

SET 'table.exec.emit.allow-lateness' = '5s';
SET 'table.exec.source.idle-timeout' = '10s';

-- Payments by this account in the last minute (8 panes of 10 s per account).
CREATE VIEW acct_1m AS
SELECT account, COUNT(*) AS payments, SUM(amount) AS total
FROM payments
GROUP BY account, HOP(ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE);
SET 'operator.acct_1m.capacity' = '80000';

-- The account's hour, moving in 15-minute steps.
CREATE VIEW acct_1h AS
SELECT account, window_start, window_end, COUNT(*) AS payments, AVG(amount) AS mean_amount, MAX(amount) AS max_amount
FROM TABLE(HOP(TABLE payments, DESCRIPTOR(ts), INTERVAL '15' MINUTE, INTERVAL '1' HOUR))
GROUP BY account, window_start, window_end;
SET 'operator.acct_1h.capacity' = '60000';

CREATE MODEL fraud WITH ('path' = 'models/xgb_fraud_binary.json');

-- The model's 8 features, in its order.
CREATE VIEW fraud_score AS
SELECT * FROM payments
WHERE PREDICT('fraud', amount, f1, f2, f3, acct_1m.payments, f5, acct_1h.mean_amount, f7) >= 0.8;

CREATE TABLE alerts_file WITH (
  'connector' = 'jsonl',
  'path' = 'out/fraud-alerts.jsonl',
  'kinds' = 'score,dead_letter',
  'rotate.age' = '1d'
);
INSERT INTO alerts_file SELECT * FROM fraud_score;

SET 'execution.checkpointing.interval' = '5s';
SET 'state.checkpoints.num-retained' = '5';
SET 'memory' = '256MiB';
SET 'server.port' = '9465';
