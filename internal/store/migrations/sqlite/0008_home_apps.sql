-- The OAuth apps Lifeboat registered on members' own servers ("I already
-- have an account"): one per server and callback, registered the first
-- time a member of that server connects and kept for every later one.
-- client_secret is sealed like every other secret.
CREATE TABLE home_apps (
    server        TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (server, redirect_uri)
);
