-- Campaigns and consent (issue 8): topics, consent per contact and topic
-- with its history, the messaging policy's state per contact, an index of
-- contacts' labels and attributes for segments, templates, campaigns and
-- their recipients (the worker's persisted progress).

CREATE TABLE topics (
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    keyword     TEXT NOT NULL DEFAULT '',
    form_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX topics_name ON topics(business_id, name_key);
CREATE UNIQUE INDEX topics_keyword ON topics(business_id, keyword) WHERE keyword != '';
CREATE UNIQUE INDEX topics_token ON topics(form_token);

CREATE TABLE consents (
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL,
    topic_id    TEXT NOT NULL,
    opted_in    INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    proof       TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    PRIMARY KEY (business_id, contact_id, topic_id)
) WITHOUT ROWID;
-- Segments by topic read the opted-in contacts of a topic in id order.
CREATE INDEX consents_topic ON consents(business_id, topic_id, opted_in, contact_id);

CREATE TABLE consent_records (
    id          INTEGER PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL,
    topic_id    TEXT NOT NULL,
    opted_in    INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    proof       TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL
);
CREATE INDEX consent_records_contact ON consent_records(business_id, contact_id, id);

CREATE TABLE contact_reach (
    business_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id      TEXT NOT NULL,
    last_inbound_at INTEGER NOT NULL DEFAULT 0,
    stopped_at      INTEGER,
    promos          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (business_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX contact_reach_activity ON contact_reach(business_id, last_inbound_at, contact_id);

-- One row per label (kind 'l', value '') and attribute (kind 'a') of every
-- unmerged contact, kept by PutContact, so that segments read indexes.
CREATE TABLE contact_tags (
    business_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    PRIMARY KEY (business_id, kind, name, value, contact_id)
) WITHOUT ROWID;
CREATE INDEX contact_tags_contact ON contact_tags(business_id, contact_id);
INSERT OR IGNORE INTO contact_tags (business_id, kind, name, value, contact_id)
    SELECT c.business_id, 'l', j.value, '', c.id FROM contacts c, json_each(c.labels) j
    WHERE c.labels != '' AND c.merged_into = '';
INSERT OR IGNORE INTO contact_tags (business_id, kind, name, value, contact_id)
    SELECT c.business_id, 'a', j.key, j.value, c.id FROM contacts c, json_each(c.attributes) j
    WHERE c.attributes != '' AND c.merged_into = '';

-- A person's own subscriptions, across businesses.
CREATE INDEX contacts_of_user ON contacts(user_id) WHERE user_id != '' AND merged_into = '';

CREATE TABLE templates (
    business_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    body        TEXT NOT NULL,
    topic_id    TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    approved_by TEXT NOT NULL DEFAULT '',
    approved_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX templates_name ON templates(business_id, name_key);

CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    template_id  TEXT NOT NULL,
    topic_id     TEXT NOT NULL,
    segment      TEXT NOT NULL,
    status       TEXT NOT NULL,
    scheduled_at INTEGER,
    rate         REAL NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    started_at   INTEGER,
    ended_at     INTEGER,
    total        INTEGER NOT NULL DEFAULT 0,
    sent         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    skipped      TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX campaigns_business ON campaigns(business_id, created_at);
CREATE INDEX campaigns_to_run ON campaigns(status, scheduled_at) WHERE status IN ('running', 'scheduled');

CREATE TABLE campaign_recipients (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    not_before  INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX campaign_recipients_due ON campaign_recipients(campaign_id, state, not_before, contact_id);
CREATE INDEX campaign_recipients_state ON campaign_recipients(campaign_id, state, contact_id);
