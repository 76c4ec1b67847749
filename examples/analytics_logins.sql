-- Daily and monthly active users on the built-in 'logins' generator: 1,000,000
-- logins of 20,000 users over 91 days (2024-01-01 .. 2024-04-01), 5% of them
-- delivered up to 5 s out of order.  The generator is deterministic: the same
-- seed gives the same events, so the answers below are the same every run.
--
--   tide run examples/analytics_logins.sql --format table
CREATE TABLE logins (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'logins',
  'seed' = '7',
  'count' = '1000000',
  'users' = '20000',
  'start' = '2024-01-01 00:00:00',
  'end' = '2024-04-01 00:00:00',
  'late.share' = '0.05',
  'max.delay' = '5000'
);

-- DAU: distinct users per UTC day.
SELECT window_start AS `day`, COUNT(DISTINCT user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
GROUP BY window_start, window_end;

-- MAU: distinct users over the 30 days ending at each day's end (a window
-- of 30 days that slides by 1 day).
SELECT window_end AS day_end, COUNT(DISTINCT user_id) AS mau
FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '30' DAY))
GROUP BY window_start, window_end;
