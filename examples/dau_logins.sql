-- Daily active users on the built-in 'logins' generator (deterministic:
-- the same seed gives the same events).  1,000,000 logins of 100,000 users
-- over 3 days, 5% of them delivered up to 5 s late.  Options: seed, count
-- (or events), users, start / end (timestamps or epoch ms; or span in ms),
-- late.share, max.delay (ms), rate (events per second; 0: as fast as
-- possible), zipf (popularity skew).
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
  'count' = '1000000',
  'users' = '100000',
  'start' = '2024-01-01 00:00:00',
  'end' = '2024-01-04 00:00:00',
  'late.share' = '0.05',
  'max.delay' = '5000'
);

SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
GROUP BY window_start, window_end;
