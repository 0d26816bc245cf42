-- People who joined a group from its public join page (enrolment
-- approval or open). The group file's members stay in members; these are
-- kept apart so that syncing the file never touches them.
CREATE TABLE joins (
    group_name   TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    x            TEXT NOT NULL DEFAULT '',
    bluesky      TEXT NOT NULL DEFAULT '',
    instagram    TEXT NOT NULL DEFAULT '',
    fediverse    TEXT NOT NULL DEFAULT '',
    confirmed_at TEXT,
    decision     TEXT NOT NULL DEFAULT '',
    decided_at   TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (group_name, email)
);
