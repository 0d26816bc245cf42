# lifeboat backup, on the server: a consistent copy of GoToSocial's
# database and its media, as one tar stream on standard output.
# Arguments: DB STORAGE WORK.
set -euo pipefail
umask 077
db=$1 storage=$2 work=$3
install -d -m 0700 "$work"
exec 9>"$work/.lock"
flock -n 9 || { echo "lifeboat-busy: a backup or restore is already running on the server" >&2; exit 75; }
# Left by a run that was cut off before its trap ran.
rm -rf "$work"/snapshot.*
snap=$(mktemp -d "$work/snapshot.XXXXXX")
trap 'rm -rf "$snap"' EXIT
# One read transaction: the copy is the database as it was at one moment,
# while GoToSocial goes on writing to it.
sqlite3 -bail "$db" "VACUUM INTO '$snap/sqlite.db'"
check=$(sqlite3 -bail "$snap/sqlite.db" 'PRAGMA quick_check')
[ "$check" = ok ] || { echo "the database copy fails SQLite's check: $check" >&2; exit 3; }
mkdir -p "$storage"
# Media are written once and never changed: files added after the copy
# above are extra, none it names is missing.
size=$(du -sb --exclude='.lifeboat-*' "$snap/sqlite.db" "$storage" | awk '{s += $1} END {print s}')
echo "lifeboat-size $size" >&2
tar -cf - -C "$snap" sqlite.db -C "$storage" --exclude='.lifeboat-*' --transform 's,^\.,storage,' .
