-- Times are TEXT in a fixed-width UTC form (2006-01-02T15:04:05.000000Z),
-- so they sort as they compare; NULL is the zero time.

CREATE TABLE groups (
    name        TEXT PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    file        TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    signing_key BLOB,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    launched_at TEXT
);

CREATE TABLE members (
    group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    handle     TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (group_name, email)
);
CREATE UNIQUE INDEX members_handle ON members (group_name, handle) WHERE handle <> '';
CREATE UNIQUE INDEX members_username ON members (group_name, username) WHERE username <> '';

CREATE TABLE pledges (
    group_name   TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    threshold    INTEGER NOT NULL DEFAULT 0,
    show_name    INTEGER NOT NULL DEFAULT 0,
    confirmed    INTEGER NOT NULL DEFAULT 0,
    withdrawn    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    confirmed_at TEXT,
    PRIMARY KEY (group_name, email)
);

CREATE TABLE invites (
    token_hash  TEXT PRIMARY KEY,
    group_name  TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    sent_at     TEXT,
    redeemed_at TEXT
);
CREATE INDEX invites_member ON invites (group_name, email);

CREATE TABLE accounts (
    group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    server     TEXT NOT NULL DEFAULT '',
    id         TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL DEFAULT '',
    password   TEXT NOT NULL DEFAULT '',
    token      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (group_name, email)
);

CREATE TABLE journal (
    run        TEXT NOT NULL,
    key        TEXT NOT NULL,
    status     TEXT NOT NULL,
    result     BLOB,
    error      TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run, key)
);
