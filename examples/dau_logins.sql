-- Daily active users on the built-in 'logins' generator (deterministic:
-- the same seed gives the same events).  1,000,000 logins of 100,000 users
-- over 3 days, 5% of them delivered up to 5 s late.
--
--   tide run examples/dau_logins.sql
CREATE TABLE logins (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'logins',
  'seed' = '1',
  'events' = '1000000',
  'users' = '100000',
  'span' = '259200000',
  'late.share' = '0.05',
  'max.delay' = '5000'
);

SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
GROUP BY window_start, window_end;
