-- Search, filters and breakdowns run on the search index; no statement looks insights up by
-- observed date, segment or account any more. These indexes only slowed every write down (each
-- insert updated them beside the table's other indexes).
DROP INDEX insights_by_observed_on;
DROP INDEX insights_by_segment_key;
DROP INDEX insights_by_account_key;
