-- Out-of-order and late data: page views per minute from late.csv (27 rows
-- in arrival order), with early results, late updates and dropped records.
--
--   tide run examples/late.sql
--
-- The watermark W is the largest time seen so far minus 5 s.  A minute
-- [s, s+1m) fires when W reaches its last millisecond, W >= s+1m-1ms (as in
-- Flink); with ALLOW LATENESS 30 s it is kept and updated by late rows until
-- W >= s+1m-1ms+30s; rows arriving after that are dropped and counted in the
-- summary line ("late 3").  EARLY EVERY 3 ROWS
-- also fires a window after every 3 rows it gets before it is complete.
-- RETRACTING prints each update as -U (old row) and +U (new row); the op
-- column shows +I for a window's first row.
--
-- The story (row numbers are lines of late.csv):
--   rows 1-6    12:00 gets 6 rows (row 4 is 2 s out of order: on time,
--               as W = 12:00:15); early firings after rows 3 and 6
--   row 8       12:00:58 after 12:01:02: W = 12:00:57, still on time
--   row 9       12:01:10 moves W to 12:01:05: 12:00 fires (7 rows)
--   row 10      12:00:50, behind W but within lateness: 12:00 -> 8
--   row 13      12:01:40 moves W to 12:01:35 >= 12:01:29.999: 12:00 is closed
--   row 14      12:00:59 is too late for 12:00: dropped (late 1)
--   row 16      12:02:05: W = 12:02:00 >= 12:01:59.999, 12:01 is complete (its early
--               result 6 stands); rows 17-18 are late updates: 7, 8
--   row 21      12:01:59 after W = 12:02:35: dropped (late 2)
--   row 24      12:00:30, minutes behind: dropped (late 3)
--   row 26      12:02:55 after W = 12:03:15: a late update of 12:02
--   row 27      12:03's 3rd row: an early firing; the end of the file
--               completes 12:03 with nothing new to print
-- Final counts: 12:00 -> 8, 12:01 -> 8, 12:02 -> 5, 12:03 -> 3.
CREATE TABLE views (
  ts TIMESTAMP(3),
  user_id BIGINT,
  page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'file',
  'path' = 'late.csv',
  'format' = 'csv'
);

SELECT window_start, window_end, COUNT(*) AS views
FROM TABLE(TUMBLE(TABLE views, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end
EMIT EARLY EVERY 3 ROWS ALLOW LATENESS INTERVAL '30' SECOND RETRACTING;
