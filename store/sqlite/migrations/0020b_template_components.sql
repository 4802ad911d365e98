-- Channel connectors (issue 15): a template's WhatsApp header and button
-- parameters with their variables, as app-owned JSON ('' none).

ALTER TABLE templates ADD COLUMN components TEXT NOT NULL DEFAULT '';
