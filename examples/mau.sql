-- Monthly active users: distinct users over the last 30 days, evaluated at
-- the end of each day (a sliding window: HOP with a 1 day slide and a
-- 30 day size).  Each row is one day: day_end is the end of that day (the
-- window's end, exclusive) and mau counts the users seen in the 30 days
-- before it.  Windows start on day boundaries, so the first rows cover the
-- 29 days before the data begins (fewer days of data), and the last ones
-- run past its end; a window with no login at all gives no row.
--
--   tide run examples/make_logins_csv.sql   (writes examples/logins.csv)
--   tide run examples/mau.sql
--
-- A relative 'path' resolves against the directory of this .sql file.
CREATE TABLE logins (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'file',
  'path' = 'logins.csv',
  'format' = 'csv'
);

SELECT window_end AS day_end, COUNT(DISTINCT user_id) AS mau
FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '30' DAY))
GROUP BY window_start, window_end;
