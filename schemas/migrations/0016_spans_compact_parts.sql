-- Parts of spans stay in the compact format (one data file for all columns) up to 64 MiB of
-- uncompressed data instead of 10 MiB. An insert of a flush batch (tens of thousands of spans) then
-- writes 14 files instead of ~240 (two per column and stream), which cuts the insert CPU by a
-- fifth; merges turn parts past 64 MiB into the wide format that long-range reads prefer.
ALTER TABLE spanscope.spans MODIFY SETTING min_bytes_for_wide_part = 67108864;
