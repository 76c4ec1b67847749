-- Churn since launch, at the end of each day D: the share of all users
-- seen up to D whose last login is more than 30 days before D, i.e. who
-- were seen before D but not in the 30 days [D - 30 days, D):
--
--   churn(D) = 1 - MAU(D) / users seen up to D
--
-- Two windowed aggregations over the same logins, joined on their window
-- end (each reads the file once):
--   mau   HOP, 1 day slide, 30 days size: distinct users in [D - 30 days, D)
--         (as examples/mau.sql).
--   seen  CUMULATE, 1 day step: distinct users in [P, D) for each day end D
--         of a period P .. P + max.  CUMULATE periods are aligned to the
--         epoch (P = a multiple of max since 1970-01-01), so max must be large
--         enough for one period to hold all the data: with 3650 days the
--         period is [2019-12-20, 2029-12-17), which holds any run of these
--         examples (a run crossing 2029-12-17 would restart the count
--         there).  tide keeps one running set per period (not one per day),
--         so the long max costs nothing per login.
--
-- Each row is one day end D (exclusive, 00:00 UTC):
--   seen     users with a first login before D
--   active   users with a login in [D - 30 days, D)  (the MAU)
--   churned  seen - active: users whose last login before D is before
--            D - 30 days (a login at exactly D - 30 days 00:00 is active)
--   churn_pct  churned / seen in percent, rounded half up to 2 decimals
--            (integer arithmetic, so the value is exact)
--
-- Which days: the inner join keeps the days that have a MAU row, from the
-- end of the first day with data to 30 days after the last one.  CUMULATE
-- alone would give a row for every day to the end of its period (2029);
-- the join drops those.  Edges: for the first 30 days nobody can have been
-- away 30 days yet, so churn is 0; the last 30 rows come after the data
-- ends, where nobody logs in any more and churn climbs to 100% (in a
-- bounded run that is the end of the input, not users leaving).
--
--   tide run examples/make_logins_csv.sql   (writes examples/logins.csv)
--   tide run examples/churn.sql
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
  mau.window_end AS day_end,
  seen.users AS seen,
  mau.active AS active,
  seen.users - mau.active AS churned,
  CAST(((seen.users - mau.active) * 20000 + seen.users) / (2 * seen.users) AS DOUBLE) / 100 AS churn_pct
FROM mau JOIN seen ON mau.window_end = seen.window_end;
