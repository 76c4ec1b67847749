INSERT INTO mau_out
SELECT window_end, APPROX_COUNT_DISTINCT(user_id) AS mau
FROM TABLE(HOP(TABLE logins, DESCRIPTOR(ts), INTERVAL '1' DAY, INTERVAL '30' DAY))
GROUP BY window_start, window_end;
