-- The twin of SQLite's 0011_rankings_first.sql: ballots by their first-ranked message (the prompt lottery's count).
CREATE INDEX rankings_first ON rankings (((ranked_ids::jsonb->>0)), created_at);
