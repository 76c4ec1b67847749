-- UNION ALL, an unwindowed GROUP BY with HAVING, an interval join, a window join
SELECT user_id, ts FROM logins WHERE country = 'DE'
UNION ALL
SELECT user_id, ts FROM logins WHERE device = 'ios';
SELECT country, COUNT(*) AS n, COUNT(DISTINCT user_id) AS u FROM logins GROUP BY country HAVING COUNT(*) > 10;
SELECT a.user_id, a.ts, b.ts FROM logins a JOIN logins b
  ON a.user_id = b.user_id AND a.ts BETWEEN b.ts - INTERVAL '1' MINUTE AND b.ts;
SELECT l.window_start, l.window_end, l.user_id FROM
  (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))) l JOIN
  (SELECT * FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' MINUTE))) r
  ON l.window_start = r.window_start AND l.window_end = r.window_end AND l.user_id = r.user_id;
SELECT window_start, window_end, user_id FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' HOUR))
  GROUP BY window_start, window_end, user_id;
