-- Write examples/logins.csv (the input of dau.sql) from the 'logins'
-- generator: 200,000 logins of 20,000 users over 7 days, 5% of them up to
-- 5 s out of order.
--
--   tide run examples/make_logins_csv.sql
--
-- A relative 'path' resolves against the directory of this .sql file.
CREATE TABLE gen (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'logins',
  'seed' = '42',
  'count' = '200000',
  'users' = '20000',
  'start' = '2024-03-01 00:00:00',
  'end' = '2024-03-08 00:00:00',
  'late.share' = '0.05',
  'max.delay' = '5000'
);

CREATE TABLE logins_csv (
  ts TIMESTAMP(3),
  user_id BIGINT,
  country STRING,
  device STRING
) WITH (
  'connector' = 'file',
  'path' = 'logins.csv',
  'format' = 'csv'
);

INSERT INTO logins_csv SELECT ts, user_id, country, device FROM gen;
