# lifeboat restore, on the server, step 1: unpack the backup read from
# standard input beside the live data, and check it. Nothing live changes.
# Arguments: DB STORAGE WORK STAGE (STAGE is inside STORAGE, so moving the
# media in is a rename even when they are on their own volume).
set -euo pipefail
umask 077
db=$1 storage=$2 work=$3 stage=$4
install -d -m 0700 "$work"
exec 9>"$work/.lock"
flock -n 9 || { echo "lifeboat-busy: a backup or restore is already running on the server" >&2; exit 75; }
mkdir -p "$storage"
# Unpackings a killed run left behind; one that began swapping (db-aside)
# or finished (swapped) holds replaced data and stays.
for d in "$storage"/.lifeboat-restore-*; do
  if [ -d "$d" ] && [ ! -e "$d/db-aside" ] && [ ! -e "$d/swapped" ]; then rm -rf "$d"; fi
done
mkdir -p "$stage/new"
tar -x --no-same-owner -f - -C "$stage/new"
[ -f "$stage/new/sqlite.db" ] || { echo "the backup holds no database" >&2; exit 3; }
mkdir -p "$stage/new/storage"
check=$(sqlite3 -bail "$stage/new/sqlite.db" 'PRAGMA quick_check')
[ "$check" = ok ] || { echo "the backup's database fails SQLite's check: $check" >&2; exit 3; }
touch "$stage/new/.complete"
