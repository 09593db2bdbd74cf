-- The prompt lottery weighs each waiting prompt's author by how often a reply of theirs was ranked first this month.
-- That count joined every ballot of the month to its first-ranked message (about 250 ms at 200,000 messages, in the
-- lottery job and in a /task that runs the lottery). Indexed by the first-ranked id, it starts from the authors'
-- own replies instead. PostgreSQL's twin: storage/pg/0011_rankings_first.sql.
CREATE INDEX rankings_first ON rankings (json_extract(ranked_ids, '$[0]'), created_at);
