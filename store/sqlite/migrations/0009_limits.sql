-- New conversations per account per day are counted from here.
CREATE INDEX conversations_created_by ON conversations(created_by, created_at);
