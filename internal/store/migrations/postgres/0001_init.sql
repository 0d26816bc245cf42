-- Keys are COLLATE "C" so lists sort by bytes, as in SQLite, whatever the
-- server's locale.

CREATE TABLE groups (
    name        TEXT COLLATE "C" PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    file        TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    signing_key BYTEA,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    launched_at TIMESTAMPTZ
);

CREATE TABLE members (
    group_name TEXT COLLATE "C" NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email      TEXT COLLATE "C" NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    handle     TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (group_name, email)
);
CREATE UNIQUE INDEX members_handle ON members (group_name, handle) WHERE handle <> '';
CREATE UNIQUE INDEX members_username ON members (group_name, username) WHERE username <> '';

CREATE TABLE pledges (
    group_name   TEXT COLLATE "C" NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email        TEXT COLLATE "C" NOT NULL,
    threshold    INTEGER NOT NULL DEFAULT 0,
    show_name    BOOLEAN NOT NULL DEFAULT FALSE,
    confirmed    BOOLEAN NOT NULL DEFAULT FALSE,
    withdrawn    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    PRIMARY KEY (group_name, email)
);

CREATE TABLE invites (
    token_hash  TEXT PRIMARY KEY,
    group_name  TEXT COLLATE "C" NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email       TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    sent_at     TIMESTAMPTZ,
    redeemed_at TIMESTAMPTZ
);
CREATE INDEX invites_member ON invites (group_name, email);

CREATE TABLE accounts (
    group_name TEXT COLLATE "C" NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email      TEXT COLLATE "C" NOT NULL,
    server     TEXT NOT NULL DEFAULT '',
    id         TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL DEFAULT '',
    password   TEXT NOT NULL DEFAULT '',
    token      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (group_name, email)
);

CREATE TABLE journal (
    run        TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    status     TEXT NOT NULL,
    result     BYTEA,
    error      TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run, key)
);
