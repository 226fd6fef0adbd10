#!/usr/bin/env bash
# Smoke test of the real shift app: build the demo database, open `carecall shift` in a
# tmux terminal of 80x24, take the next customer, read the whole quarterly script with
# the keyboard, wrap up, end the shift, then check what the database holds.
#
# Needs tmux (apt-get install -y tmux). Usage: scripts/smoke_tui.sh [carecall-binary]
set -euo pipefail

CARECALL=${1:-carecall}
command -v tmux >/dev/null || { echo "smoke: tmux is not installed" >&2; exit 2; }
command -v "$CARECALL" >/dev/null || { echo "smoke: $CARECALL not found" >&2; exit 2; }
PY=$(dirname "$(command -v "$CARECALL")")/python
[ -x "$PY" ] || PY=python3

WORK=$(mktemp -d)
SESSION="carecall-smoke-$$"
DB="$WORK/smoke.db"
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# The demo list is dated from today; the shift runs on the next Tuesday at 15:00 UTC,
# mid-morning in the Americas and afternoon in Europe, so calling windows are open.
AT=$("$PY" -c '
from datetime import datetime, timedelta, timezone
d = datetime.now(timezone.utc).date()
d += timedelta(days=(1 - d.weekday()) % 7 or 7)
print(f"{d}T15:00:00Z")')

"$CARECALL" demo --no-shift --db "$DB" >/dev/null
echo "smoke: demo database ready; shift at $AT"

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
    "CARECALL_CALLER=smoke $CARECALL shift --db '$DB' --at $AT --script quarterly; sleep 5"

screen() { tmux capture-pane -t "$SESSION" -p; }
wait_for() {  # wait_for TEXT [seconds]
    local text=$1 limit=${2:-20} i
    for ((i = 0; i < limit * 10; i++)); do
        if screen | grep -qF -- "$text"; then return 0; fi
        sleep 0.1
    done
    echo "smoke: timed out waiting for: $text" >&2
    screen >&2
    exit 1
}
keys() { tmux send-keys -t "$SESSION" "$@"; sleep 0.3; }

wait_for "to call now"
keys n
wait_for "Dial "
CUSTOMER=$(screen | sed -n '2p' | sed -E 's/^╭─ ([^·─]+).*/\1/' | sed -E 's/[[:space:]]+$//')
echo "smoke: calling $CUSTOMER"
keys c
wait_for "Read:"
keys Enter
wait_for "how likely"

# Answer whatever the script asks until the closing line: a promoter who agrees to be
# contacted, refers nobody, needs nothing.
for _ in $(seq 1 20); do
    page=$(screen)
    if grep -qF "All questions answered" <<<"$page"; then break; fi
    if grep -qF "how likely" <<<"$page"; then keys 9
    elif grep -qF "What are we doing well" <<<"$page"; then
        tmux send-keys -t "$SESSION" -l "friendly and fast"; keys Enter
    elif grep -qF "last order" <<<"$page"; then keys 5
    elif grep -qF "(optional: Enter skips)" <<<"$page"; then keys Enter
    elif grep -qF "y / n" <<<"$page" || grep -qE "^│.* y yes" <<<"$page"; then keys n
    else
        echo "smoke: unexpected question" >&2; screen >&2; exit 1
    fi
done
wait_for "All questions answered"
keys Enter
wait_for "Wrap-up:"
keys Enter
wait_for "completes 1"
keys C-q
wait_for "Shift summary"
keys q
sleep 1

"$PY" - "$DB" "$CUSTOMER" <<'PYEOF'
import sqlite3
import sys

db, name = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
rows = con.execute(
    "SELECT c.id, c.outcome, c.connected_at, c.ended_at, c.script_id FROM calls c "
    "JOIN customers u ON u.id = c.customer_id WHERE c.caller = 'smoke' AND u.name = ?",
    (name,),
).fetchall()
assert len(rows) == 1, f"expected one call to {name!r} by 'smoke', found {rows}"
call_id, outcome, connected, ended, script_id = rows[0]
assert outcome == "completed" and connected and ended and script_id, rows[0]
answers = dict(con.execute("SELECT key, value FROM answers WHERE call_id = ?", (call_id,)))
assert answers.get("nps") == "9", answers
assert answers.get("going_well") == '"friendly and fast"', answers
assert answers.get("contact_ok") == "false", answers
claims = con.execute("SELECT count(*) FROM claims WHERE caller = 'smoke'").fetchone()[0]
assert claims == 0, "the claim was not released"
print(f"smoke: OK - call #{call_id} to {name}: completed, {len(answers)} answers saved")
PYEOF
