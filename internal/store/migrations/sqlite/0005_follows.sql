-- The group's follow graph, from the data exports members upload or the
-- lead imports for them: one row per export (whose it is, and the other
-- labels of the same owner, space-separated), and the follows it lists.
-- The archives themselves are never stored. Everything goes with the
-- group; a member's own rows go when they delete their follows.
CREATE TABLE follow_imports (
    group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    self       TEXT NOT NULL,
    aliases    TEXT NOT NULL DEFAULT '',
    format     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (group_name, email, self)
);

CREATE TABLE follow_edges (
    group_name TEXT NOT NULL,
    email      TEXT NOT NULL,
    self       TEXT NOT NULL,
    follower   TEXT NOT NULL,
    followee   TEXT NOT NULL,
    PRIMARY KEY (group_name, email, self, follower, followee),
    FOREIGN KEY (group_name, email, self) REFERENCES follow_imports (group_name, email, self) ON DELETE CASCADE
);

-- "Only if at least K of the people I follow go", beside the threshold
-- of others; 0 is no such condition.
ALTER TABLE pledges ADD COLUMN follow_threshold INTEGER NOT NULL DEFAULT 0;
