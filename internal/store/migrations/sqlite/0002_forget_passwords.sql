-- Members' passwords are used for the one request that makes the account
-- and then forgotten: the store keeps none. secure_delete (set on every
-- connection) overwrites the dropped values in the file.
ALTER TABLE accounts DROP COLUMN password;
