-- Members who keep an account on another server ("I already have an
-- account"): their row in accounts names that server in server, and acct
-- is the address others find them by (user@domain). A member who moved an
-- old account into the room has a new account on the destination and
-- moved_from names the old address.
ALTER TABLE accounts ADD COLUMN acct TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN moved_from TEXT NOT NULL DEFAULT '';
