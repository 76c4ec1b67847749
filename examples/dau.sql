-- Daily active users from a CSV file of logins.
--
--   tide run examples/dau.sql
--
-- A relative 'path' resolves against the directory of this .sql file, so
-- this reads examples/logins.csv (no header line; columns as below), which
--   tide run examples/make_logins_csv.sql
-- writes from the built-in generator.
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

SELECT window_start, window_end, COUNT(DISTINCT user_id) AS dau
FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY))
GROUP BY window_start, window_end;
