-- Slot leases (decisions #15, #16): a handed-out task holds its slot only until `lease_until`, which the
-- member's work extends; the task itself (and its draft) lives on until `expires_at`. Tasks pending at
-- upgrade keep their slot for the default writing lease (20 minutes from their creation).

ALTER TABLE tasks ADD COLUMN lease_until REAL;
UPDATE tasks SET lease_until = min(coalesce(expires_at, created_at + 1200), created_at + 1200)
    WHERE status = 'pending';

DROP INDEX tasks_pending_target;
CREATE INDEX tasks_pending_target ON tasks (target_id, type, lease_until, created_at, user_id)
    WHERE status = 'pending';

-- A member's open tasks (the pending cap, /tasks, resume): few per member, whatever their history.
CREATE INDEX tasks_pending_user ON tasks (user_id, created_at, lease_until, target_id)
    WHERE status = 'pending';
