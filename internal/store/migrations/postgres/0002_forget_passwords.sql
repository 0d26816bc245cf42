-- Members' passwords are used for the one request that makes the account
-- and then forgotten: the store keeps none.
ALTER TABLE accounts DROP COLUMN password;
