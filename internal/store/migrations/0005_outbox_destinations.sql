-- The dispatcher claims events per destination: each webhook has its own
-- queue, so a receiver that never answers holds up only its own events.
CREATE INDEX outbox_destination ON outbox(webhook_id, next_attempt_at) WHERE delivered_at = 0 AND dead = 0;
