CREATE VIEW sessions AS
SELECT user_id, window_start, window_end, COUNT(*) AS n,
       CASE WHEN COUNT(*) > 10 THEN 'busy' ELSE 'calm' END AS kind
FROM TABLE(SESSION(TABLE logins PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '30' MINUTES))
GROUP BY user_id, window_start, window_end EMIT EARLY EVERY 100 ROWS ACCUMULATING;
SELECT * FROM sessions WHERE kind LIKE 'b%' AND n NOT BETWEEN 1 AND 2 OR user_id IN (1, 2, 3);
