-- The demo's monthly active users and churn (scripts/demo.sh), per day D
-- (`day`, the window's last day):
--   mau    distinct users of the 30 days up to and including D (a HOP
--          window of 30 days sliding by 1 day, as examples/mau.sql);
--   churn  the share of all users seen up to D who did not log in during
--          those 30 days: 1 - mau / users seen up to D, as a ratio (0..1),
--          computed as examples/churn.sql does (a join of two windowed
--          aggregations on their window end; see there).
-- The same events as demo_dau.sql: 4,000,000 logins of 100,000 users over
-- 91 days from 2024-01-01, 5% up to 5 s out of order.  For the first 30
-- days nobody can have been away 30 days yet (churn 0); rows after the
-- data ends are dropped by the demo (it keeps the days with logins).
--
--   tide run examples/demo_churn.sql --format table
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

WITH mau AS (
  SELECT window_end, COUNT(DISTINCT user_id) AS active
  FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '30' DAY))
  GROUP BY window_start, window_end
), seen AS (
  SELECT window_end, COUNT(DISTINCT user_id) AS users
  FROM TABLE(CUMULATE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '3650' DAY(4)))
  GROUP BY window_start, window_end
)
SELECT
  DATE_FORMAT(mau.window_end - INTERVAL '1' DAY, 'yyyy-MM-dd') AS `day`,
  mau.active AS mau,
  CAST(seen.users - mau.active AS DOUBLE) / seen.users AS churn
FROM mau JOIN seen ON mau.window_end = seen.window_end;
