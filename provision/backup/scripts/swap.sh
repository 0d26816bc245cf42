# lifeboat restore, on the server, step 2, with GoToSocial stopped: the
# live database and media go aside into STAGE/replaced, the unpacked
# backup takes their place. Every step checks first, so a run cut off
# anywhere finishes when it runs again.
# Arguments: DB STORAGE WORK STAGE OWNER (user:group, or empty).
set -euo pipefail
umask 077
db=$1 storage=$2 work=$3 stage=$4 owner=$5
exec 9>"$work/.lock"
flock -n 9 || { echo "lifeboat-busy: a backup or restore is already running on the server" >&2; exit 75; }
if [ -e "$stage/swapped" ]; then exit 0; fi
[ -e "$stage/new/.complete" ] || { echo "lifeboat-unstaged: the unpacked backup at $stage is incomplete" >&2; exit 4; }
old=$stage/replaced
mkdir -p "$old/storage"
if [ ! -e "$stage/db-aside" ]; then
  for f in "$db" "$db-wal" "$db-shm"; do
    if [ -e "$f" ]; then mv "$f" "$old/"; fi
  done
  touch "$stage/db-aside"
fi
if [ -e "$stage/new/sqlite.db" ]; then mv "$stage/new/sqlite.db" "$db"; fi
if [ ! -e "$stage/storage-aside" ]; then
  find "$storage" -mindepth 1 -maxdepth 1 ! -name '.lifeboat-*' -exec mv -t "$old/storage" {} +
  touch "$stage/storage-aside"
fi
find "$stage/new/storage" -mindepth 1 -maxdepth 1 -exec mv -t "$storage" {} +
if [ -n "$owner" ]; then
  chown "$owner" "$db"
  find "$storage" -path "$stage" -prune -o -exec chown "$owner" {} +
fi
rm -rf "$stage/new"
touch "$stage/swapped"
