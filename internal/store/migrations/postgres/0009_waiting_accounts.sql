-- A member may connect their own account elsewhere on the join, pledge or
-- invite page before they arrive. Such an account waits (waiting) until
-- its member arrives: it is not in the mesh, the lists or the room's
-- counts until then. Rows written before this were all in the mesh
-- already, and stay in the room.
ALTER TABLE accounts ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT FALSE;
