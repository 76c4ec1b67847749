-- Logins and distinct users per country, over all the data so far (a GROUP
-- BY without a window), for the countries with at least 1000 users.
--
-- The result keeps changing while the logins come in, so the output is a
-- changelog: its first column, op, says what each row does to the result
-- table.  +I adds a country's row, -U removes its previous row and the +U
-- right after it adds the new one, -D removes a country.  Applied in order
-- (+I/+U set the row of the country, -U/-D delete it), the rows give the
-- current result.  The job reports once per watermark step, at most one
-- change per country each time (countries in order), and at the end.
--
-- HAVING on a changelog: a country appears (+I) when its users reach 1000;
-- a country whose row would move out of the HAVING filter gets -D (here
-- none: the counts only grow).
--
--   tide run examples/make_logins_csv.sql   (writes examples/logins.csv)
--   tide run examples/countries.sql
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

SELECT country, COUNT(*) AS logins, COUNT(DISTINCT user_id) AS users
FROM logins
GROUP BY country
HAVING COUNT(DISTINCT user_id) >= 1000;
