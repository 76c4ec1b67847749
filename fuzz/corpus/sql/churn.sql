WITH act AS (
  SELECT window_start AS ws, user_id
  FROM TABLE(TUMBLE(TABLE logins, DESCRIPTOR(ts), INTERVAL '30' DAY))
  GROUP BY window_start, window_end, user_id)
SELECT p.ws + INTERVAL '30' DAY AS month, COUNT(*) AS churned
FROM act p LEFT JOIN act c ON p.user_id = c.user_id AND c.ws = p.ws + INTERVAL '30' DAY
WHERE c.user_id IS NULL GROUP BY p.ws ORDER BY month LIMIT 12;
