-- The demo's daily active users (scripts/demo.sh): DAU per UTC day on the
-- built-in 'logins' generator.  4,000,000 logins of 100,000 users (some far
-- more active than others) over 91 days from 2024-01-01, 5% of them
-- delivered up to 5 s out of order.  Deterministic: the same seed gives the
-- same events, so the numbers are the same every run.  demo_churn.sql reads
-- the same events.
--
--   tide run examples/demo_dau.sql --format table
CREATE TABLE logins (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'logins',
  'seed' = '7',
  'count' = '4000000',
  'users' = '100000',
  'start' = '2024-01-01 00:00:00',
  'end' = '2024-04-01 00:00:00',
  'late.share' = '0.05',
  'max.delay' = '5000'
);

SELECT DATE_FORMAT(window_start, 'yyyy-MM-dd') AS `day`, COUNT(DISTINCT user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
GROUP BY window_start, window_end;
