-- One schema for SQLite and PostgreSQL: only types and syntax both accept
-- (TEXT, BIGINT, CHECK, ON DELETE CASCADE). Times are Unix milliseconds.

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    vendor TEXT NOT NULL,
    model TEXT NOT NULL,
    -- 12 lowercase hex digits, or NULL when unknown.
    mac TEXT UNIQUE CHECK (mac IS NULL OR length(mac) = 12),
    created_at_ms BIGINT NOT NULL
);

-- Kept apart from `devices` so listings and exports never read a hash.
CREATE TABLE device_passwords (
    device_id TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    -- Argon2id in PHC string form.
    phc TEXT NOT NULL,
    set_at_ms BIGINT NOT NULL
);

-- SHA-256 of a client certificate's DER, lowercase hex; unique across devices.
CREATE TABLE device_certificates (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    added_at_ms BIGINT NOT NULL
);
CREATE INDEX device_certificates_by_device ON device_certificates (device_id);

-- No foreign key: a removed device keeps its history, and a refused request may name no device.
CREATE TABLE fetch_log (
    device_id TEXT,
    path TEXT NOT NULL,
    version BIGINT,
    result TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX fetch_log_by_device ON fetch_log (device_id, at_ms);
CREATE INDEX fetch_log_by_time ON fetch_log (at_ms);
