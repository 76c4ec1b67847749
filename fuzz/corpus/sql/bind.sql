CREATE TABLE daily (op STRING, day TIMESTAMP(3), country STRING, dau BIGINT)
  WITH ('connector' = 'file', 'path' = 'daily.csv', 'format' = 'csv');
CREATE VIEW v AS SELECT ts, user_id, UPPER(country) AS c FROM logins WHERE device <> 'bot';
INSERT INTO daily
SELECT window_start, c, COUNT(DISTINCT user_id)
FROM TABLE(TUMBLE(TABLE v, DESCRIPTOR(ts), INTERVAL '1' DAY))
GROUP BY window_start, window_end, c
EMIT EARLY EVERY INTERVAL '1' MINUTE ALLOW LATENESS INTERVAL '1' HOUR RETRACTING;
WITH s AS (SELECT user_id, window_start, COUNT(*) AS n
  FROM TABLE(SESSION(TABLE logins PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '30' MINUTE))
  GROUP BY user_id, window_start, window_end)
SELECT DISTINCT user_id FROM s WHERE n > 3 UNION ALL SELECT user_id FROM logins a JOIN logins b ON a.user_id = b.user_id;
